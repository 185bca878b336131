// SPDX-License-Identifier: MIT
// GraphRunner where LibTorch has no CUDA: never used (compiled() is false).
#include "infer/cuda_graph.h"

#include <i2sbseg/error.h>

namespace i2sbseg {

struct GraphRunner::State {};
bool GraphRunner::compiled() { return false; }
GraphRunner::GraphRunner() = default;
GraphRunner::~GraphRunner() = default;
void GraphRunner::reset() {}
torch::Tensor GraphRunner::run(Model&, const torch::Tensor&, const SampleOptions&) {
  throw Error("this build of i2sbseg has no CUDA graph support (LibTorch without CUDA)");
}

}  // namespace i2sbseg
