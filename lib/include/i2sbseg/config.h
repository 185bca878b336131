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

// NN(z_t; z_LR; t): residual blocks at latent resolution.
struct BridgeArch {
  int channels = 64;
  int blocks = 4;
  int time_dim = 64;  // sinusoidal embedding size
};

// One class of a model or dataset; lists of them follow <i2sbseg/class_list.h>.
struct ClassInfo {
  std::string name;
  std::array<std::uint8_t, 3> color{0, 0, 0};
};

struct ModelConfig {
  ClassifierArch classifier;
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

  // Throws Error with a message naming the field at fault.
  void validate() const;

  std::string to_json(int indent = 2) const;
  // Parses and validates; throws Error naming the field at fault.
  static ModelConfig from_json(const std::string& text);

  // A small config that is valid: used by tests and as a template.
  static ModelConfig make_default(int num_classes = 5);
};

}  // namespace i2sbseg
