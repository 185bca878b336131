// SPDX-License-Identifier: MIT
// The training progress line's time estimate. Torch-free and pure, so the
// arithmetic is tested on constructed rates.
#pragma once

#include <string>
#include <vector>

namespace i2sbseg {

// One stage of a run as the estimate sees it.
struct StageProgress {
  int iters = 0;                // the stage's iterations
  int done = 0;                 // of which done
  double seconds_per_iter = 0;  // measured in this run; 0: not measured (not started, or skipped by a resume)
};

// Seconds until the last stage ends. Each stage's remaining iterations are
// costed at its own measured rate: the stages differ several-fold in cost
// (the bridge stage encodes twice without gradients, the fine-tune runs the
// sampler), so one stage's rate says little about another's. A stage not
// measured yet borrows the rate of the closest measured stage (the earlier
// one at equal distance; in a run that is the stage under way): a guess,
// which is_estimate_guessed() reports.
double remaining_seconds(const std::vector<StageProgress>& stages);

// Whether some stage with iterations left has no measured rate of its own.
bool is_estimate_guessed(const std::vector<StageProgress>& stages);

// "12m05s", or "1h02m" from an hour on.
std::string format_seconds(double seconds);

}  // namespace i2sbseg
