// SPDX-License-Identifier: MIT
// A tiny packed segmentation dataset for the training tests.
#pragma once

#include <string>

#include <torch/torch.h>

#include <i2sbseg/dataset.h>

namespace i2sbseg::testing {

// Squares of two classes (bright red = 1, bright green = 2) on grey noise.
inline void make_dataset(const std::string& path, int n, int size = 32) {
  Dataset d;
  d.set_classes({{"background", {0, 0, 0}}, {"red", {255, 0, 0}}, {"green", {0, 255, 0}}});
  torch::manual_seed(3);
  for (int i = 0; i < n; ++i) {
    torch::Tensor img = (torch::rand({size, size, 1}) * 80 + 60).expand({size, size, 3}).contiguous();
    torch::Tensor mask = torch::zeros({size, size}, torch::kUInt8);
    for (int k = 1; k <= 2; ++k) {
      const int s = 6 + (i * 3 + k * 5) % 10, y = (i * 7 + k * 11) % (size - s), x = (i * 5 + k * 13) % (size - s);
      img.slice(0, y, y + s).slice(1, x, x + s).fill_(20);
      img.slice(0, y, y + s).slice(1, x, x + s).select(2, k - 1).fill_(230);
      mask.slice(0, y, y + s).slice(1, x, x + s).fill_(k);
    }
    d.add("img" + std::to_string(i), img.to(torch::kUInt8), mask, i < n * 3 / 4 ? "train" : "val");
  }
  d.save_packed(path);
}

}  // namespace i2sbseg::testing
