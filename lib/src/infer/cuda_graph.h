// SPDX-License-Identifier: MIT
// The LR frame -> HR logits path replayed as one captured CUDA graph
// (internal). Kernel launches dominate small frames on a GPU; a graph turns
// the ~100 launches of encoder + NFE bridge steps + decoder into one. Built
// only when LibTorch has CUDA (meson's gpu_graphs); elsewhere compiled() is
// false (cuda_graph_stub.cpp) and callers run the model eagerly.
#pragma once

#include <memory>

#include <torch/types.h>

#include <i2sbseg/model.h>

namespace i2sbseg {

class GraphRunner {
 public:
  static bool compiled();

  GraphRunner();
  ~GraphRunner();

  // model.segment_lr(input, options) through a graph captured on first use
  // and again whenever the input's or the noise's storage, the NFE or ot_ode
  // change. `input` and options.noise (required unless ot_ode) must stay
  // allocated between calls: the graph reads them in place. The returned
  // tensor is overwritten by the next call.
  torch::Tensor run(Model& model, const torch::Tensor& input, const SampleOptions& options);
  // Drops the graph: the next run() captures afresh (after a failed call,
  // whose buffers may come back at the same addresses).
  void reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace i2sbseg
