// SPDX-License-Identifier: MIT
// The three training stages of docs/design.md §4, with progress, a JSON-lines log,
// atomic checkpoints (every N iterations and on SIGINT/SIGTERM) and resume.
//   1. classifier: encoder + decoder on HR crops, class-weighted cross-entropy
//   2. bridge: encoder frozen; I2SB loss on (E(HR), E(LR-up)); EMA of weights
//   3. decoder fine-tune on bridged latents (optional)
// `direct` instead fine-tunes the classifier on LR-up input and writes a
// bundle without a bridge: the baseline the bridge must beat.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <i2sbseg/distributed.h>

namespace i2sbseg {

struct TrainOptions {
  std::string data;            // dataset folder or packed file (train split)
  std::string out;             // bundle to write
  std::string checkpoint;      // default: out + ".ckpt"
  std::string log;             // JSON lines; default: out + ".log.jsonl"
  std::string init;            // start from this bundle (e.g. for --direct)
  bool resume = false;
  bool direct = false;

  int scale = 4;
  int crop = 96;
  int batch = 8;
  std::vector<int> widths{24, 48, 96};
  int blocks_per_level = 1;
  int latent_channels = 64;
  int bridge_channels = 96;
  int bridge_blocks = 4;
  int classifier_iters = 1000;
  int bridge_iters = 1000;
  int finetune_iters = 0;
  int direct_iters = 500;   // --direct: fine-tune iterations on LR-up input
  double lr = 2e-3;
  double bridge_lr = 1e-3;
  double ema = 0.999;
  int default_nfe = 2;
  std::string device = "cpu";
  int threads = 0;             // 0: LibTorch's default
  std::uint64_t seed = 1;
  int checkpoint_every = 200;
  int log_every = 20;
  bool quiet = false;
  // Data-parallel training over several processes (resolved from the
  // environment by train()): --batch is per process, rank 0 alone writes
  // the log, the checkpoints and the bundle.
  DistOptions dist;
};

// Runs (or resumes) training and writes the bundle. Throws Error on bad
// options or data, on interruption after saving a checkpoint, and when a
// distributed job loses a rank (after the collective timeout).
void train(const TrainOptions& options);

}  // namespace i2sbseg
