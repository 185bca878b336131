// SPDX-License-Identifier: MIT
#include "model/network_plan_v2.h"

namespace i2sbseg::plan {

double count(const ConvBn& c) {
  const double conv = (1.0 * c.in / c.groups * c.kernel * c.kernel + 1.0) * c.out;
  return conv + (c.bn ? 4.0 * c.out : 0.0);
}

EncoderV2Plan encoder_v2_plan(const V2Arch& a, int stem_stride) {
  const std::vector<int>& w = a.context_widths;
  const int f = a.fpn_channels;
  EncoderV2Plan p;
  p.stem = stem_stride == 1 ? ConvBn{3, a.stem_channels, 3} : ConvBn{3, a.stem_channels, stem_stride, stem_stride};
  int prev = a.stem_channels;
  p.lateral.push_back({a.stem_channels, f, 1, 1, 1, false, false});
  for (size_t i = 0; i < w.size(); ++i) {
    p.levels.push_back({{prev, w[i], 3, 2}, {w[i], w[i], 3}});
    if (i + 1 < w.size()) {
      p.lateral.push_back({w[i], f, 1, 1, 1, false, false});
      p.smooth.push_back({f, f, 3});
    }
    prev = w[i];
  }
  p.bins = a.pool_bins;
  for (size_t i = 0; i < a.pool_bins.size(); ++i) p.pool.push_back({prev, f, 1, 1, 1, false, true});
  p.context = {prev + f * static_cast<int>(a.pool_bins.size()), f, 1};
  p.lr_smooth = {f, f, 3, 1, f};
  p.to_latent = {f, a.latent_channels, 1, 1, 1, false, false};
  return p;
}

DecoderV2Plan decoder_v2_plan(const V2Arch& a, int scale_factor, int num_classes) {
  const std::vector<int>& w = a.decoder_widths;
  DecoderV2Plan p{{a.latent_channels, w[0], 3}, {}, {0, 0, 1}};
  int steps = 0;
  while ((1 << steps) < scale_factor) ++steps;
  if (steps == 0) p.head = {w[0], num_classes, 1, 1, 1, false, false};
  // Each step's conv emits 4x the next width at the lower resolution; the
  // shuffle makes it the next width at twice the size. Only the shuffle
  // into logits runs at HR.
  for (int i = 0; i < steps; ++i) {
    const bool last = i + 1 == steps;
    if (last)
      p.steps.push_back({w[i], 4 * num_classes, 3, 1, 1, false, false});
    else
      p.steps.push_back({w[i], 4 * w[i + 1], 3});
  }
  return p;
}

namespace {

double count(const EncoderV2Plan& p) {
  double n = count(p.stem) + count(p.context) + count(p.lr_smooth) + count(p.to_latent);
  for (const TrunkLevel& l : p.levels) n += count(l.down) + count(l.refine);
  for (const auto* list : {&p.pool, &p.lateral, &p.smooth})
    for (const ConvBn& c : *list) n += count(c);
  return n;
}

}  // namespace

double parameter_count_v2(const ModelConfig& c) {
  const DecoderV2Plan d = decoder_v2_plan(c.v2, c.scale_factor, c.num_classes());
  double n = count(encoder_v2_plan(c.v2, 1)) + count(encoder_v2_plan(c.v2, c.scale_factor));
  n += count(d.in) + (d.head.out ? count(d.head) : 0.0);
  for (const ConvBn& s : d.steps) n += count(s);
  return n;
}

}  // namespace i2sbseg::plan
