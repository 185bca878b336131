// SPDX-License-Identifier: MIT
// The builder's random streams. seed_seq and mt19937_64 are fully specified
// by the standard and the draws (uniform01/uniform_int in
// <i2sbseg/dataset_builder.h>, shuffle here) are our own, so a seed gives
// the same dataset on every standard library.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include <i2sbseg/dataset_builder.h>

namespace i2sbseg::builder {

// One RNG per (seed, stream, index): any image can be rendered on any thread.
std::mt19937_64 make_rng(std::uint64_t seed, std::uint32_t stream, std::uint32_t index);

// Fisher-Yates with our own draws (std::shuffle differs between libraries).
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (int i = static_cast<int>(v.size()) - 1; i > 0; --i) std::swap(v[i], v[uniform_int(rng, 0, i)]);
}

}  // namespace i2sbseg::builder
