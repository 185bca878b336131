// SPDX-License-Identifier: MIT
// The training stages of docs/design.md §4, with progress, a JSON-lines log,
// atomic checkpoints (every N iterations and on a stop request) and resume.
// Family v2 (the default):
//   1. classifier: HR encoder + decoder on HR crops, class-weighted cross-entropy
//   2. lr_encoder: the LR encoder against the frozen decoder: the direct model
//   3. bridge: I2SB loss on (E_HR(HR), E_LR(LR)), encoders frozen; EMA of weights
//   4. decoder fine-tune on bridged latents (optional)
//   5. end to end (optional): bridge and decoder on the segmentation loss
//      through the sampler (default NFE steps), the I2SB loss kept beside it
// `direct` stops after stage 2 and writes a bundle without a bridge: the
// baseline the bridge must beat (`direct_out` writes it on the way).
// Family v1 (`--arch v1`) has one encoder, at HR, for both inputs: the
// classifier, then the bridge on (E(HR), E(LR-up)) and the fine-tune;
// `direct` instead fine-tunes the classifier on LR-up input.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <i2sbseg/config.h>
#include <i2sbseg/distributed.h>

namespace i2sbseg {

// The defaults are the settings models/train-default.sh made the shipped
// models/default.i2sb and models/direct.i2sb with.
struct TrainOptions {
  std::string data;            // dataset folder or packed file (train split)
  std::string out;             // bundle to write; missing folders are created
  std::string checkpoint;      // default: out + ".ckpt"
  std::string log;             // JSON lines; default: out + ".log.jsonl"
  std::string init;            // start from this bundle (its encoders and decoder; a fresh bridge unless direct)
  bool resume = false;
  bool direct = false;
  // v2 without `direct`: also write the direct baseline (the model after
  // the LR-encoder stage, without a bridge) here, saving a `direct` run.
  std::string direct_out;
  // The checkpoint is removed once the bundle is written, unless kept.
  bool keep_checkpoint = false;

  // The networks: v2 (V2Arch's layout with latent_channels and decoder
  // widths for the scale) or v1 (widths, blocks_per_level).
  ModelFamily family = ModelFamily::kV2;
  int scale = 4;
  int crop = 128;
  int batch = 8;
  std::vector<int> widths{24, 48, 96};  // v1 only
  // v2 only: V2Arch's stem, context levels and FPN widths.
  int stem_channels = 16;
  std::vector<int> context_widths{48, 96, 128};
  int fpn_channels = 64;
  int blocks_per_level = 1;             // v1 only
  int latent_channels = 64;
  int bridge_channels = 32;
  int bridge_blocks = 2;
  // conv_bn folds at load (docs/design.md §4); groupnorm is the earlier net.
  BridgeType bridge_type = BridgeType::kConvBn;
  int classifier_iters = 6000;
  int bridge_iters = 5000;
  int finetune_iters = 1000;  // 0: skip the decoder fine-tune
  // The end-to-end stage (about 8 minutes on 2 cores); 0 skips it. The
  // shipped recipe's count: without it the bridge only ties the direct
  // model (models/README.md).
  int e2e_iters = 2000;
  double e2e_bridge_weight = 1.0;  // the I2SB loss's weight in the end-to-end stage
  int direct_iters = 4000;    // v2: the LR encoder's; v1 direct: fine-tune iterations on LR-up input
  // Cross-entropy weights: 1/sqrt(class pixel share), normalised (rare
  // classes count more), or none (every pixel alike: 0.03 mIoU better on
  // the validation split, where weights made unseen backgrounds objects).
  bool weight_classes = false;
  bool blur_augment = false;  // BatchOptions::blur for every training batch
  bool strong_augment = false;  // BatchOptions::strong for every training batch
  double lr = 2e-3;
  double weight_decay = 1e-4;  // AdamW's, every stage
  double bridge_lr = 1e-3;
  double ema = 0.999;
  // > 0: the classifier, LR-encoder and direct stages keep an EMA of their
  // networks' weights and BatchNorm statistics with this decay, and end on
  // it (0: they end on the last iterate).
  double classifier_ema = 0;
  int default_nfe = 1;  // measured best on the validation split
  std::string device = "cpu";
  std::uint64_t seed = 1;
  int checkpoint_every = 250;
  int log_every = 20;
  bool quiet = false;

  // Process-wide settings train() applies once, at its start, because
  // LibTorch offers no per-call ones:
  // LibTorch's module init draws from the process-wide generator, so
  // seeding it is the only way `seed` fixes the initial weights.
  bool seed_global_generator = true;
  int threads = 0;  // > 0: torch::set_num_threads(threads); 0: leave LibTorch's setting

  // Polled once per iteration: a nonzero value asks training to stop. The
  // writer saves a checkpoint and train() throws Error(kInterrupted); the
  // same options with `resume` set continue from it. The
  // tool points it at what its SIGINT/SIGTERM handler sets; the library
  // installs no handlers. nullptr: never asked.
  const std::atomic<int>* stop_request = nullptr;

  // Data-parallel training over several processes (resolved from the
  // environment by train()): `batch` is per process, rank 0 alone writes
  // the log, the checkpoints and the bundle.
  DistOptions dist;
};

// Runs (or resumes) training and writes the bundle. Throws Error on bad
// options or data (kInvalidOption with the field at fault, e.g. "crop"),
// on a stop request after saving a checkpoint (kInterrupted), and when a
// distributed job loses a rank (kDistributed, after the collective timeout).
void train(const TrainOptions& options);

// A run from a bundle (`init` set) trains on the family, crop, batch, scale
// and threads recorded in that bundle unless the caller set them: returns `o`
// with each of those fields not named in `given` ("family", "crop", "batch",
// "scale", "threads") taken from the bundle. A bundle that does not record
// one (made before they were recorded) leaves `o`'s value. Without `init`,
// returns `o` unchanged. Throws Error when the bundle cannot be read.
TrainOptions inherit_init_settings(TrainOptions o, const std::vector<std::string>& given);

}  // namespace i2sbseg
