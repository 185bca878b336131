// SPDX-License-Identifier: MIT
// LibTorch's current CUDA stream for the frame path's own kernels and waits
// (internal): the pixel kernels run on the stream the model's work is on,
// and the host waits on that stream alone, never on the whole device (other
// CUDA users in the process keep their streams running). Where LibTorch has
// no CUDA (cuda_stream_stub.cpp) no model is on a GPU; the stub gives the
// default stream and a device-wide wait.
#pragma once

namespace i2sbseg {

// The current stream of CUDA device `device` as a cudaStream_t.
void* current_cuda_stream(int device);
// Blocks until the work queued so far on that stream has finished.
void wait_for_current_stream(int device);

}  // namespace i2sbseg
