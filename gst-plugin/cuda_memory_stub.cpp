// SPDX-License-Identifier: MIT
// Builds without gstreamer-cuda-1.0 or CUDA's headers: system memory only.
#include "cuda_memory.h"

namespace i2sbseg_gst {

bool cuda_memory_compiled() { return false; }
GstCaps* add_cuda_memory(GstCaps* caps) { return caps; }
GstCaps* remove_cuda_memory(GstCaps* caps) { return caps; }
bool is_cuda_memory(const GstCaps*) { return false; }
PrimaryContextScope::PrimaryContextScope(int) {}
PrimaryContextScope::~PrimaryContextScope() = default;
GstMapFlags cuda_map_flag() { return static_cast<GstMapFlags>(0); }

struct CudaMemoryState::Impl {};
CudaMemoryState::CudaMemoryState() = default;
CudaMemoryState::~CudaMemoryState() = default;
void CudaMemoryState::set_context(GstElement*, GstContext*, int) {}
bool CudaMemoryState::answer_query(GstElement*, GstQuery*, int) { return false; }
bool CudaMemoryState::ensure(GstElement*, int) { return false; }
void CudaMemoryState::reset() {}
bool CudaMemoryState::has_context() const { return false; }
bool CudaMemoryState::propose_pool(GstQuery*, GstCaps*) { return false; }
bool CudaMemoryState::decide_pool(GstQuery*, GstCaps*) { return false; }
bool CudaMemoryState::in_our_context(GstBuffer*) const { return false; }

}  // namespace i2sbseg_gst
