// SPDX-License-Identifier: MIT
// Stands in for lib/cuda when the build has no nvcc: every call reports it.
#include <i2sbseg/cuda_kernels.h>

namespace i2sbseg::cuda {

bool compiled() { return false; }
bool device_available() { return false; }

std::string packed_to_planes(const std::uint8_t*, int, int, int, PixelLayout, const float[3], const float[3], float*,
                             void*) {
  return "i2sbseg was built without CUDA kernels";
}

std::string argmax_overlay(const float*, int, int, int, std::uint8_t*, const OverlayArgs*, void*) {
  return "i2sbseg was built without CUDA kernels";
}

}  // namespace i2sbseg::cuda
