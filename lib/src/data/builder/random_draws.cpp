// SPDX-License-Identifier: MIT
#include "data/builder/random_draws.h"

#include <algorithm>

namespace i2sbseg {

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }

int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  if (hi <= lo) return lo;
  const double span = static_cast<double>(hi) - lo + 1;
  return std::min(hi, lo + static_cast<int>(uniform01(rng) * span));
}

namespace builder {

std::mt19937_64 make_rng(std::uint64_t seed, std::uint32_t stream, std::uint32_t index) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), stream, index};
  return std::mt19937_64(seq);
}

}  // namespace builder
}  // namespace i2sbseg
