// SPDX-License-Identifier: MIT
// FNV-1a, 64 bits: a cheap fingerprint of a frame, to compare thousands of
// frames between runs without keeping them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace i2sbseg::testing {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;

// Continues hash `h` over `size` bytes.
inline std::uint64_t fnv1a(const std::uint8_t* data, std::size_t size, std::uint64_t h = kFnvOffset) {
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

}  // namespace i2sbseg::testing
