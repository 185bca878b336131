// SPDX-License-Identifier: MIT
// Checks of TrainOptions before training reads or writes anything, and the
// files a run writes. Errors are kInvalidOption naming the field at fault.
#pragma once

#include <string>

#include <i2sbseg/config.h>
#include <i2sbseg/trainer.h>

namespace i2sbseg {

// Values out of range or missing (no bundle path, batch < 1, ...), a
// direct_out the run cannot write and, for a fresh model, a crop the
// encoder cannot take.
void check_train_options(const TrainOptions& o);

// The crop must be a whole number of the model's latent cells.
void check_crop(const TrainOptions& o, const ModelConfig& model);

// A stage that trains a v2 encoder needs BatchNorm statistics of more than
// one value per channel at the trunk's deepest level (crop / (scale x
// trunk stride) cells a side, batch images): a batch of 1 at the smallest
// crop has one, and LibTorch would stop with an internal error.
void check_batch_statistics(const TrainOptions& o, const ModelConfig& model);

std::string checkpoint_path(const TrainOptions& o);
std::string log_path(const TrainOptions& o);

// Creates the folders the bundle, the checkpoint, the log and direct_out go
// into; Error(kWriteFailed, field "out"/"checkpoint"/"log"/"direct_out") naming the folder
// that cannot be created.
void create_output_folders(const TrainOptions& o);

}  // namespace i2sbseg
