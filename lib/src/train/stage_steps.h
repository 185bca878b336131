// SPDX-License-Identifier: MIT
// What each training stage trains and the loss of one of its steps, for
// one process or one rank of a data-parallel job.
#pragma once

#include <vector>

#include <torch/types.h>

#include <i2sbseg/batches.h>
#include <i2sbseg/model.h>

#include "train/stage.h"

namespace i2sbseg {

class Communicator;

// What a step reads besides the batch.
struct StepContext {
  Model& model;
  torch::Device device;
  at::Generator& gen;             // the job's shared draws (noise, time steps)
  const torch::Tensor& class_weights;
  Communicator* comm = nullptr;   // null: a single process
  int rank = 0;
  int world = 1;
  double e2e_bridge_weight = 1.0;  // the I2SB loss's weight in the end-to-end stage
};

// The parameters the stage trains (the others stay frozen).
std::vector<torch::Tensor> stage_parameters(Stage stage, Model& model);
// Those networks' floating-point buffers: v2's BatchNorm running_mean and
// running_var (not the integer num_batches_tracked); none for v1.
std::vector<torch::Tensor> stage_buffers(Stage stage, Model& model);
// stage_parameters() then stage_buffers(): what a weight EMA of the stage follows.
std::vector<torch::Tensor> stage_state(Stage stage, Model& model);

// Puts the model's parts in train/eval mode for the stage and returns this
// rank's share of the job's loss on `batch` (its gradients, averaged over
// the ranks, are the job's).
torch::Tensor stage_loss(Stage stage, StepContext& ctx, const Batch& batch);

}  // namespace i2sbseg
