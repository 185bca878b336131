// SPDX-License-Identifier: MIT
// A small v1 model with a bridge, for tests of inference and evaluation.
#pragma once

#include <string>

#include <torch/torch.h>

#include <i2sbseg/config.h>
#include <i2sbseg/model.h>

namespace i2sbseg::testing {

inline ModelConfig small_config() {
  ModelConfig c = ModelConfig::make_default(4);
  c.classifier.widths = {8, 16};
  c.classifier.latent_channels = 4;
  c.latent_mean.assign(4, 0.1f);
  c.latent_std.assign(4, 2.0f);
  c.bridge = BridgeArch{8, 2, 8};
  c.default_nfe = 3;
  return c;
}

// Random weights everywhere but BatchNorm statistics: the bridge's output
// convolution starts at zero, which would make every bridge path (and every
// sample) the same.
inline void randomise(Model& m, int seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard g;
  for (auto& [name, t] : m.named_tensors())
    if (t.is_floating_point() && name.find("running") == std::string::npos) t.copy_(torch::randn_like(t) * 0.3);
}

}  // namespace i2sbseg::testing
