// SPDX-License-Identifier: MIT
// `i2sbseg bench --batch N`: N streams' frames run one segment() call each
// against one Segmenter::segment_batch() of all N (what the element's
// batch-size does), with the frames/s of both and how many class-map pixels
// differ between them.
#pragma once

#include <string>

namespace i2sbseg::tools {

struct BatchBenchOptions {
  std::string model, device = "cpu", images;  // images: a folder of frames (needs OpenCV), else synthetic
  int streams = 8, lr_width = 320, lr_height = 180, rounds = 3, warmup = 1, threads = 0, nfe = 0;
};

// Prints the comparison; returns the process's exit status.
int run_batch_bench(const BatchBenchOptions& o);

}  // namespace i2sbseg::tools
