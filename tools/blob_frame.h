// SPDX-License-Identifier: MIT
// A synthetic frame for the benchmarks: a few flat-coloured blobs (the
// Voronoi cells of 5 random points), so the model's class maps have a few
// large regions, as real video gives, rather than the fragments that noise
// gives (which make the element's ROI labelling, not the model, the cost).
#pragma once

#include <cstdint>
#include <vector>

namespace i2sbseg::tools {

// w x h packed RGB (rows of w * 3 bytes), the same for the same seed.
std::vector<std::uint8_t> blob_frame(int w, int h, std::uint32_t seed);

}  // namespace i2sbseg::tools
