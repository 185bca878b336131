// SPDX-License-Identifier: MIT
#include "infer/cuda_graph.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <i2sbseg/error.h>

namespace i2sbseg {

struct GraphRunner::State {
  at::cuda::CUDAGraph graph;
  const void* input_ptr = nullptr;
  std::vector<int64_t> input_shape;
  int nfe = -1;
  bool ot_ode = false;
  std::vector<const void*> noise_ptrs;  // the noise buffers the graph reads
  torch::Tensor out;                 // static output the graph writes
};

bool GraphRunner::compiled() { return true; }
GraphRunner::GraphRunner() = default;
GraphRunner::~GraphRunner() = default;

torch::Tensor GraphRunner::run(Model& model, const torch::Tensor& input, const SampleOptions& options) {
  const int nfe = options.nfe;  // as given: the model resolves 0 to its default
  if (model.has_bridge() && !options.ot_ode && !options.noise)
    throw Error("GraphRunner: the stochastic bridge needs its noise drawn ahead (SampleOptions::noise)");
  std::vector<const void*> noise_ptrs;
  if (options.noise)
    for (const auto& n : *options.noise) noise_ptrs.push_back(n.data_ptr());
  const std::vector<int64_t> shape = input.sizes().vec();
  const bool same = state_ && state_->input_ptr == input.data_ptr() && state_->input_shape == shape &&
                    state_->nfe == nfe && state_->ot_ode == options.ot_ode && state_->noise_ptrs == noise_ptrs;
  if (!same) {
    state_ = std::make_unique<State>();
    state_->input_ptr = input.data_ptr();
    state_->input_shape = shape;
    state_->nfe = nfe;
    state_->ot_ode = options.ot_ode;
    state_->noise_ptrs = noise_ptrs;
    SampleOptions graph_options = options;
    graph_options.generator = nullptr;
    // Warm up on a side stream (cuDNN/cuBLAS set-up must not be captured),
    // then capture on it. The graph reads the input and noise buffers in
    // place, so they must stay allocated (the Segmenter keeps them).
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, input.device().index());
    c10::cuda::device_synchronize();  // the input was written on the current stream
    {
      c10::cuda::CUDAStreamGuard guard(side);
      for (int i = 0; i < 2; ++i) state_->out = model.segment_lr(input, graph_options);
      side.synchronize();
      state_->graph.capture_begin();
      state_->out = model.segment_lr(input, graph_options);
      state_->graph.capture_end();
    }
    side.synchronize();
  }
  state_->graph.replay();
  return state_->out;
}

}  // namespace i2sbseg
