// SPDX-License-Identifier: MIT
// The v2 networks' layers as numbers (internal, torch-free), as
// network_plan.h is for v1: networks_v2.cpp builds exactly these, and
// load_model counts a v2 config's weights from them before allocating.
#pragma once

#include <vector>

#include <i2sbseg/config.h>

namespace i2sbseg::plan {

// conv (with bias, "same" padding) -> BatchNorm when bn -> SiLU when act.
struct ConvBn {
  int in, out, kernel, stride = 1, groups = 1;
  bool bn = true, act = true;
};

// One trunk level below the LR grid: a stride-2 conv, then a residual 3x3.
struct TrunkLevel {
  ConvBn down, refine;
};

struct EncoderV2Plan {
  ConvBn stem;                     // to the LR grid: 3x3 (LR input) or kernel = stride = scale (HR)
  std::vector<TrunkLevel> levels;  // 1/2, 1/4, ... of the LR grid
  std::vector<int> bins;           // pyramid pooling sizes at the bottom
  std::vector<ConvBn> pool;        // per bin: 1x1 after the pooling (no BN: a 1x1 bin has no batch spread)
  ConvBn context;                  // 1x1 on concat(bottom, pooled branches)
  std::vector<ConvBn> lateral;     // 1x1 into the FPN: [0] stem features, [i] level i-1's output
  std::vector<ConvBn> smooth;      // 3x3 after each merge at levels L-2 .. 0 ([i]: level i)
  ConvBn lr_smooth;                // depthwise 3x3 after the merge at the LR grid
  ConvBn to_latent;                // 1x1 to latent_channels
};
// stem_stride 1: the LR encoder; the scale factor: the HR encoder.
EncoderV2Plan encoder_v2_plan(const V2Arch& arch, int stem_stride);

struct DecoderV2Plan {
  ConvBn in;                   // 3x3 at the latent grid
  std::vector<ConvBn> steps;   // each followed by PixelShuffle(2); the last gives 4 x classes
  ConvBn head;                 // scale 1 only (no steps): 1x1 to the classes
};
DecoderV2Plan decoder_v2_plan(const V2Arch& arch, int scale_factor, int num_classes);

// Floats a layer holds: conv weight and bias, BatchNorm weight, bias,
// running mean and variance.
double count(const ConvBn& c);
// LR encoder + HR encoder + decoder of a v2 config (the bridge not included).
double parameter_count_v2(const ModelConfig& config);

}  // namespace i2sbseg::plan
