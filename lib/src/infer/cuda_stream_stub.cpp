// SPDX-License-Identifier: MIT
// Where LibTorch has no CUDA: the default stream, and a wait on the device.
#include "infer/cuda_stream.h"

#include <torch/cuda.h>

namespace i2sbseg {

void* current_cuda_stream(int) { return nullptr; }

void wait_for_current_stream(int device) { torch::cuda::synchronize(device); }

}  // namespace i2sbseg
