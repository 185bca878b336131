// SPDX-License-Identifier: MIT
#include "train/progress.h"

#include <cstdio>

namespace i2sbseg {
namespace {

// The rate stage `i` is costed at: its own, else the closest measured
// stage's (the earlier one at equal distance); 0 when none was measured.
double rate_for(const std::vector<StageProgress>& s, size_t i) {
  if (s[i].seconds_per_iter > 0) return s[i].seconds_per_iter;
  for (size_t d = 1; d < s.size(); ++d) {
    if (i >= d && s[i - d].seconds_per_iter > 0) return s[i - d].seconds_per_iter;
    if (i + d < s.size() && s[i + d].seconds_per_iter > 0) return s[i + d].seconds_per_iter;
  }
  return 0;
}

int left(const StageProgress& p) { return p.iters > p.done ? p.iters - p.done : 0; }

}  // namespace

double remaining_seconds(const std::vector<StageProgress>& stages) {
  double total = 0;
  for (size_t i = 0; i < stages.size(); ++i)
    if (left(stages[i]) > 0) total += left(stages[i]) * rate_for(stages, i);
  return total;
}

bool is_estimate_guessed(const std::vector<StageProgress>& stages) {
  for (const StageProgress& p : stages)
    if (left(p) > 0 && p.seconds_per_iter <= 0) return true;
  return false;
}

std::string format_seconds(double s) {
  char buf[32];
  const long t = static_cast<long>(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

}  // namespace i2sbseg
