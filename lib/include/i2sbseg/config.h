// SPDX-License-Identifier: MIT
// The model's configuration: everything a bundle records besides weights
// (docs/design.md §4 "Bundle"). Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <i2sbseg/schedule.h>

namespace i2sbseg {

// The bundle format this build writes and the only one it reads.
constexpr int kFormatVersion = 1;

// Encoder/decoder of the segmentation classifier. Level i runs at
// 1/2^i of the input size with widths[i] channels; the latent sits at the
// last level, so the downsampling factor is 2^(widths.size()-1).
struct ClassifierArch {
  int in_channels = 3;
  std::vector<int> widths{24, 48, 96};
  int blocks_per_level = 1;
  int latent_channels = 64;
  // The decoder reads the latent only (docs/design.md §4: skips would carry LR
  // detail around the bridge). Older bundles say so with "decoder_skips":
  // false, which still loads; true is refused.

  int downsample_factor() const { return 1 << (widths.size() - 1); }
};

// Which networks a config describes (docs/design.md §4): "v1" upsamples the
// LR frame and runs a GroupNorm encoder at HR; "v2" encodes the LR frame at
// its own size and decodes with sub-pixel convolutions.
enum class ModelFamily { kV1, kV2 };
std::string to_string(ModelFamily family);

// The v2 networks (conv + BatchNorm + SiLU). The latent grid is the LR grid
// (HR / scale_factor); the trunk goes context_widths.size() levels below it.
struct V2Arch {
  int stem_channels = 16;                   // features at the LR grid
  std::vector<int> context_widths{48, 96, 128};  // levels at 1/2, 1/4, 1/8 of the LR grid
  int fpn_channels = 64;                    // top-down path back to the LR grid
  int latent_channels = 32;
  // Decoder: decoder_widths[0] channels at the latent grid, then one entry
  // per further x2 step below HR: log2(scale_factor) entries (1 at scale 1).
  std::vector<int> decoder_widths{64, 32};
  std::vector<int> pool_bins{1, 2, 4};      // pyramid pooling at the bottom level

  // The trunk's stride below the latent grid: inputs are padded to it.
  int trunk_stride() const { return 1 << context_widths.size(); }
};

// Which bridge network (docs/design.md §4). kGroupNorm: v1's ResBlocks
// (GroupNorm, 3x3 in and out, a time MLP every step), what every bundle
// without "type" holds. kConvBn: conv + BatchNorm blocks whose time input is
// a per-channel bias, so at load BatchNorm and each step's time bias fold
// into the convolutions.
enum class BridgeType { kGroupNorm, kConvBn };
std::string to_string(BridgeType type);

// NN(z_t; z_LR; t): residual blocks at latent resolution.
struct BridgeArch {
  int channels = 64;
  int blocks = 4;
  int time_dim = 64;  // sinusoidal embedding size
  BridgeType type = BridgeType::kConvBn;  // "type" in JSON; absent: groupnorm
};

// One class of a model or dataset; lists of them follow <i2sbseg/class_list.h>.
struct ClassInfo {
  std::string name;
  std::array<std::uint8_t, 3> color{0, 0, 0};
};

struct ModelConfig {
  ModelFamily family = ModelFamily::kV1;  // "family" in JSON; absent means v1
  ClassifierArch classifier;              // v1 only
  V2Arch v2;                              // v2 only
  std::optional<BridgeArch> bridge;  // empty: a plain segmenter (no bridge)
  std::vector<ClassInfo> classes;
  int scale_factor = 4;  // HR size = scale_factor x LR size
  // Pixel normalisation: x = (rgb/255 - mean) / std, per channel.
  std::array<float, 3> input_mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> input_std{0.5f, 0.5f, 0.5f};
  // Latent normalisation, per latent channel (measured on training data):
  // the schedule assumes data of magnitude ~1.
  std::vector<float> latent_mean;
  std::vector<float> latent_std;
  ScheduleParams schedule;
  int default_nfe = 4;
  // Free-form JSON object (training command, dataset, eval results); kept
  // verbatim. Empty string means none.
  std::string metadata_json;

  int num_classes() const { return static_cast<int>(classes.size()); }
  int latent_channels() const { return family == ModelFamily::kV2 ? v2.latent_channels : classifier.latent_channels; }
  // Input pixels per latent cell along each side: of the (LR-up) HR image
  // for v1, of the HR image for v2 (its latent grid is the LR grid).
  int latent_factor() const { return family == ModelFamily::kV2 ? scale_factor : classifier.downsample_factor(); }

  // Throws Error with a message naming the field at fault.
  void validate() const;

  std::string to_json(int indent = 2) const;
  // Parses and validates; throws Error naming the field at fault.
  static ModelConfig from_json(const std::string& text);

  // A small config that is valid: used by tests and as a template.
  static ModelConfig make_default(int num_classes = 5);
  // The same with family v2 and V2Arch's defaults.
  static ModelConfig make_default_v2(int num_classes = 5);
};

}  // namespace i2sbseg
