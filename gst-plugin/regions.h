// SPDX-License-Identifier: MIT
// Connected regions of a class map, for the element's ROI metas. Plain C++:
// no GStreamer, no LibTorch, so that it is tested on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace i2sbseg_gst {

// One connected region of one class; the box in class-map pixels.
struct Region {
  std::uint8_t class_index = 0;
  int x = 0, y = 0, w = 0, h = 0;
  std::uint64_t pixels = 0;
};

// The connected regions of every class but 0 (the background) in `map`, w x h
// class indices in rows of `w` bytes. Pixels join a region when they have
// the same class and touch by an edge or a corner (8-connectivity), so a
// thin diagonal stroke stays one region. Regions of fewer than `min_area`
// pixels are dropped (0 or 1 keeps them all). Ordered by their first pixel
// in raster order (top row first, left to right). Memory grows with the
// number of same-class runs in the rows, not with recursion depth: any map
// size is safe.
std::vector<Region> label_regions(const std::uint8_t* map, int w, int h, std::uint64_t min_area);

// Keeps the `max` regions of most pixels (ties: the earlier one), still in
// raster order; 0 keeps all. Returns how many it dropped.
std::size_t keep_largest(std::vector<Region>& regions, std::size_t max);

}  // namespace i2sbseg_gst
