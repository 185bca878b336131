// SPDX-License-Identifier: MIT
// The layers of each network as numbers (internal, torch-free). The module
// constructors in networks.cpp build exactly these layers, and load_model
// counts a config's parameters from them before allocating anything, so the
// shapes are written down once.
#pragma once

#include <variant>
#include <vector>

#include <i2sbseg/config.h>

namespace i2sbseg::plan {

struct Conv {  // 2-D convolution with bias, "same" padding
  int in, out, kernel, stride = 1;
};
struct Linear {  // with bias
  int in, out;
};
struct Block {  // ResBlock(in, out, embed)
  int in, out, embed = 0;
};

// A ResBlock's own layers. skip.out == 0: no skip convolution (in == out);
// embed.in == 0: no embedding projection.
struct BlockLayers {
  int norm1, norm2;  // GroupNorm channels
  Conv conv1, conv2, skip;
  Linear embed;
};
BlockLayers block_layers(const Block& block);

// An encoder or decoder level: stride/upsample convolutions and blocks, run
// in order.
using Level = std::vector<std::variant<Conv, Block>>;

struct EncoderPlan {
  Conv stem;
  std::vector<Level> levels;
  Conv to_latent;
};
struct DecoderPlan {
  Conv from_latent;
  std::vector<Level> levels;  // deepest first
  int head_norm;              // GroupNorm channels
  Conv head;
};
struct BridgePlan {
  int time_dim;
  Linear time_in, time_out;  // the time MLP, SiLU between
  Conv in;                   // on concat(z_t, z_LR)
  std::vector<Block> blocks;
  int out_norm;  // GroupNorm channels
  Conv out;
};

// BridgeType::kConvBn (bridge_net_conv_bn.h): 1x1 in, `blocks` 3x3 conv +
// BatchNorm blocks of `channels`, each with a shift Linear from the time
// embedding, 1x1 out.
struct ConvBnBridgePlan {
  Linear time_in, time_out;
  Conv in;  // 1x1 on concat(z_t, z_LR)
  int channels, blocks;
  Linear shift;  // per block
  Conv out;      // 1x1
};

EncoderPlan encoder_plan(const ClassifierArch& arch);
DecoderPlan decoder_plan(const ClassifierArch& arch, int num_classes);
BridgePlan bridge_plan(int latent_channels, const BridgeArch& arch);
ConvBnBridgePlan conv_bn_bridge_plan(int latent_channels, const BridgeArch& arch);

// The parameters (floats) of the networks `config` describes: what
// Model(config).parameter_count() would report, without building it. In
// double: a hostile config may ask for more than int64 holds.
double parameter_count(const ModelConfig& config);

}  // namespace i2sbseg::plan
