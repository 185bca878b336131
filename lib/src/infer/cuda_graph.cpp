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
void GraphRunner::reset() { state_.reset(); }

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
    // Kept only once captured: a run that throws (out of memory) leaves no
    // half-made graph for the next call to replay.
    state_.reset();
    auto state = std::make_unique<State>();
    state->input_ptr = input.data_ptr();
    state->input_shape = shape;
    state->nfe = nfe;
    state->ot_ode = options.ot_ode;
    state->noise_ptrs = noise_ptrs;
    SampleOptions graph_options = options;
    graph_options.generator = nullptr;
    // Warm up on a side stream (cuDNN/cuBLAS set-up must not be captured),
    // then capture on it. The graph reads the input and noise buffers in
    // place, so they must stay allocated (the Segmenter keeps them).
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, input.device().index());
    c10::cuda::device_synchronize();  // the input was written on the current stream
    {
      c10::cuda::CUDAStreamGuard guard(side);
      for (int i = 0; i < 2; ++i) state->out = model.segment_lr(input, graph_options);
      side.synchronize();
      state->graph.capture_begin();
      try {
        state->out = model.segment_lr(input, graph_options);
      } catch (...) {
        // End the capture so that the stream and the allocator leave capture
        // mode; the (invalid) graph itself is dropped.
        try {
          state->graph.capture_end();
        } catch (...) {
        }
        throw;
      }
      state->graph.capture_end();
    }
    side.synchronize();
    state_ = std::move(state);
  }
  state_->graph.replay();
  return state_->out;
}

}  // namespace i2sbseg
