// SPDX-License-Identifier: MIT
// The train tests' flags: a tiny v2 model, v1's, and short stages
// (test_train*.cpp).
#pragma once

#include <string>

namespace train_test {


// The default family, v2, at tiny widths (crop: scale 4 x the trunk's 8).
inline const std::string kTiny =
    " --latent-channels 4 --bridge-channels 8 --bridge-blocks 1 --crop 32 --batch 4"
    " --threads 1 --log-every 5 --seed 7 --quiet --e2e-iters 0";
// For tests of v1's own paths (--init, v1's --direct).
inline const std::string kV1 = " --arch v1 --widths 8 16";
// The shipped defaults run a long LR-encoder stage and fine-tune the
// decoder; most tests need neither.
inline const std::string kShort = " --direct-iters 2 --finetune-iters 0";


}  // namespace train_test
