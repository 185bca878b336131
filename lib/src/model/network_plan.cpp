// SPDX-License-Identifier: MIT
#include "model/network_plan.h"

#include "model/network_plan_v2.h"

namespace i2sbseg::plan {
namespace {

// Parameter counts of LibTorch's Conv2d, Linear and GroupNorm (affine).
double count(const Conv& c) { return c.out == 0 ? 0.0 : (1.0 * c.in * c.kernel * c.kernel + 1.0) * c.out; }
double count(const Linear& l) { return l.in == 0 ? 0.0 : (1.0 * l.in + 1.0) * l.out; }
double norm_count(int channels) { return 2.0 * channels; }

double count(const Block& b) {
  const BlockLayers l = block_layers(b);
  return norm_count(l.norm1) + norm_count(l.norm2) + count(l.conv1) + count(l.conv2) + count(l.skip) +
         count(l.embed);
}

double count(const std::vector<Level>& levels) {
  double n = 0;
  for (const Level& level : levels)
    for (const auto& layer : level) n += std::visit([](const auto& l) { return count(l); }, layer);
  return n;
}

}  // namespace

BlockLayers block_layers(const Block& b) {
  BlockLayers l{b.in, b.out, {b.in, b.out, 3}, {b.out, b.out, 3}, {0, 0, 1}, {0, 0}};
  if (b.in != b.out) l.skip = {b.in, b.out, 1};
  if (b.embed > 0) l.embed = {b.embed, b.out};
  return l;
}

EncoderPlan encoder_plan(const ClassifierArch& arch) {
  const std::vector<int>& w = arch.widths;
  EncoderPlan p{{arch.in_channels, w[0], 3}, {}, {w.back(), arch.latent_channels, 1}};
  for (size_t i = 0; i < w.size(); ++i) {
    Level level;
    if (i > 0) level.push_back(Conv{w[i - 1], w[i], 3, 2});  // stride 2 halves the size
    for (int b = 0; b < arch.blocks_per_level; ++b) level.push_back(Block{w[i], w[i]});
    p.levels.push_back(std::move(level));
  }
  return p;
}

DecoderPlan decoder_plan(const ClassifierArch& arch, int num_classes) {
  const std::vector<int>& w = arch.widths;
  DecoderPlan p{{arch.latent_channels, w.back(), 3}, {}, w[0], {w[0], num_classes, 1}};
  for (size_t i = w.size(); i-- > 0;) {
    Level level;
    for (int b = 0; b < arch.blocks_per_level; ++b) level.push_back(Block{w[i], w[i]});
    if (i > 0) level.push_back(Conv{w[i], w[i - 1], 3});  // runs after a x2 nearest upsample
    p.levels.push_back(std::move(level));
  }
  return p;
}

BridgePlan bridge_plan(int latent_channels, const BridgeArch& arch) {
  const int ch = arch.channels, embed = 4 * arch.time_dim;
  BridgePlan p{arch.time_dim, {arch.time_dim, embed}, {embed, embed}, {2 * latent_channels, ch, 3}, {}, ch,
               {ch, latent_channels, 3}};
  p.blocks.assign(static_cast<size_t>(arch.blocks), Block{ch, ch, embed});
  return p;
}

ConvBnBridgePlan conv_bn_bridge_plan(int latent_channels, const BridgeArch& arch) {
  const int ch = arch.channels, embed = 4 * arch.time_dim;
  return {{arch.time_dim, embed}, {embed, embed}, {2 * latent_channels, ch, 1}, ch, arch.blocks, {embed, ch},
          {ch, latent_channels, 1}};
}

namespace {

double bridge_count(int latent_channels, const BridgeArch& arch) {
  if (arch.type == BridgeType::kConvBn) {
    const ConvBnBridgePlan b = conv_bn_bridge_plan(latent_channels, arch);
    // Per block: the 3x3 conv, its BatchNorm (weight, bias, running mean
    // and variance) and the shift Linear.
    const double block = count(Conv{b.channels, b.channels, 3}) + 4.0 * b.channels + count(b.shift);
    return count(b.time_in) + count(b.time_out) + count(b.in) + b.blocks * block + count(b.out);
  }
  const BridgePlan b = bridge_plan(latent_channels, arch);
  double n = count(b.time_in) + count(b.time_out) + count(b.in) + norm_count(b.out_norm) + count(b.out);
  for (const Block& block : b.blocks) n += count(block);
  return n;
}

}  // namespace

double parameter_count(const ModelConfig& config) {
  double n = 0;
  if (config.family == ModelFamily::kV2) {
    n = parameter_count_v2(config);
  } else {
    const EncoderPlan e = encoder_plan(config.classifier);
    const DecoderPlan d = decoder_plan(config.classifier, config.num_classes());
    n = count(e.stem) + count(e.levels) + count(e.to_latent);
    n += count(d.from_latent) + count(d.levels) + norm_count(d.head_norm) + count(d.head);
  }
  if (config.bridge) n += bridge_count(config.latent_channels(), *config.bridge);
  return n;
}

}  // namespace i2sbseg::plan
