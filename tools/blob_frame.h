// SPDX-License-Identifier: MIT
// A synthetic frame for the benchmarks: a few flat-coloured blobs (the
// Voronoi cells of 5 random points), so the model's class maps have a few
// large regions, as real video gives, rather than the fragments that noise
// gives (which make the element's ROI labelling, not the model, the cost).
#pragma once

#include <cstdint>
#include <vector>

namespace i2sbseg::tools {

// w x h packed RGB (rows of w * 3 bytes) of `blobs` cells, the same for the
// same arguments. With `grain`, each pixel's colour is scaled by a draw from
// [0.8, 1] (the bench's agreement frames: some texture inside the regions).
std::vector<std::uint8_t> blob_frame(int w, int h, std::uint32_t seed, int blobs = 5, bool grain = false);

}  // namespace i2sbseg::tools
