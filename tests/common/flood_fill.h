// SPDX-License-Identifier: MIT
// The connected regions of a class map the slow, obvious way: a flood fill
// from each unvisited pixel, over its 8 neighbours, with a queue. What the
// element's run-based labelling (gst-plugin/regions.h) is checked against.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <tuple>
#include <vector>

namespace i2sbseg::testing {

// class, x, y, w, h, pixels
using RegionTuple = std::tuple<int, int, int, int, int, std::uint64_t>;

// Regions of the classes other than 0 with at least `min_area` pixels, in
// the raster order of their first pixel.
inline std::vector<RegionTuple> flood_fill_regions(const std::uint8_t* map, int w, int h, std::uint64_t min_area) {
  std::vector<bool> seen(static_cast<std::size_t>(w) * h, false);
  std::vector<RegionTuple> out;
  for (int sy = 0; sy < h; ++sy)
    for (int sx = 0; sx < w; ++sx) {
      const std::size_t start = static_cast<std::size_t>(sy) * w + sx;
      const int c = map[start];
      if (c == 0 || seen[start]) continue;
      int x0 = sx, x1 = sx, y0 = sy, y1 = sy;
      std::uint64_t n = 0;
      std::deque<std::pair<int, int>> queue{{sx, sy}};
      seen[start] = true;
      while (!queue.empty()) {
        const auto [x, y] = queue.front();
        queue.pop_front();
        ++n;
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const int nx = x + dx, ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
            const std::size_t i = static_cast<std::size_t>(ny) * w + nx;
            if (seen[i] || map[i] != c) continue;
            seen[i] = true;
            queue.emplace_back(nx, ny);
          }
      }
      if (n >= min_area) out.emplace_back(c, x0, y0, x1 - x0 + 1, y1 - y0 + 1, n);
    }
  return out;
}

}  // namespace i2sbseg::testing
