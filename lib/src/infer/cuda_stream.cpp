// SPDX-License-Identifier: MIT
#include "infer/cuda_stream.h"

#include <c10/cuda/CUDAStream.h>

namespace i2sbseg {

void* current_cuda_stream(int device) {
  return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream();
}

void wait_for_current_stream(int device) {
  c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).synchronize();
}

}  // namespace i2sbseg
