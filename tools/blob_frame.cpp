// SPDX-License-Identifier: MIT
#include "blob_frame.h"

#include <algorithm>
#include <random>

namespace i2sbseg::tools {

std::vector<std::uint8_t> blob_frame(int w, int h, std::uint32_t seed, int blobs, bool grain) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> cx(blobs), cy(blobs), col(static_cast<std::size_t>(blobs) * 3);
  for (int i = 0; i < blobs; ++i) {
    cx[i] = u(rng) * w, cy[i] = u(rng) * h;
    for (int c = 0; c < 3; ++c) col[i * 3 + c] = u(rng) * 255;
  }
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int best = 0;
      for (int i = 1; i < blobs; ++i)
        if ((x - cx[i]) * (x - cx[i]) + (y - cy[i]) * (y - cy[i]) <
            (x - cx[best]) * (x - cx[best]) + (y - cy[best]) * (y - cy[best]))
          best = i;
      for (int c = 0; c < 3; ++c) {
        const float v = col[best * 3 + c];
        px[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>(grain ? std::min(255.0f, v * (0.8f + 0.2f * u(rng))) : v);
      }
    }
  return px;
}

}  // namespace i2sbseg::tools
