// SPDX-License-Identifier: MIT
// The training checkpoint: the model's config and weights, where the run
// stands, the shared generator's state, the bridge's EMA and the optimizer,
// in one LibTorch archive.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/types.h>

#include <i2sbseg/model.h>

namespace i2sbseg {

// Where a run stands: the index in plan_stages()'s list and the number of
// iterations of that stage already done.
struct TrainPosition {
  std::size_t stage = 0;
  int iter = 0;
};

// The checkpoint's bytes (the optimizer's state when there is one).
std::string checkpoint_bytes(const Model& model, TrainPosition position, at::Generator& gen,
                             const std::vector<torch::Tensor>& ema, torch::optim::Optimizer* optimizer);

// A checkpoint read back piece by piece: the trainer restores the model
// first and builds the stage's optimizer before it restores that.
class CheckpointReader {
 public:
  // Throws Error(kBadFile) naming `path` when `bytes` are no checkpoint.
  CheckpointReader(const std::string& bytes, const std::string& path);

  TrainPosition position();
  // The model with its weights, on `device`.
  std::unique_ptr<Model> model(torch::Device device);
  void restore_generator(at::Generator& gen);
  // The first `count` EMA tensors, on `device`.
  std::vector<torch::Tensor> ema(std::size_t count, torch::Device device);
  // A checkpoint saved before the stage's first step has no optimizer state.
  void restore_optimizer(torch::optim::Optimizer& optimizer);

 private:
  torch::serialize::InputArchive archive_;
};

}  // namespace i2sbseg
