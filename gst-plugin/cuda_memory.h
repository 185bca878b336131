// SPDX-License-Identifier: MIT
// memory:CUDAMemory caps (GstCudaMemory, gstreamer-cuda-1.0): the caps the
// element adds, the CUDA context it shares with the pipeline, the buffer
// pools it proposes and uses, and whether a buffer can go to the model in
// place. Built from cuda_memory.cpp when meson finds gstreamer-cuda-1.0 and
// CUDA's headers, else from cuda_memory_stub.cpp (system memory only, every
// call a no-op). Free of CUDA headers, like the rest of the element.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <memory>

namespace i2sbseg_gst {

// Whether this build negotiates memory:CUDAMemory at all.
bool cuda_memory_compiled();

// `caps` (system memory) followed by the same structures with the
// memory:CUDAMemory feature, when compiled; `caps` itself otherwise.
// Takes ownership of `caps`.
GstCaps* add_cuda_memory(GstCaps* caps);
// `caps` without its memory:CUDAMemory structures. Takes ownership.
GstCaps* remove_cuda_memory(GstCaps* caps);
// Whether the first structure of fixed caps is in CUDA memory.
bool is_cuda_memory(const GstCaps* caps);

// The element's CUDA context (a GstCudaContext): the one it shares with the
// pipeline. Its own lock, taken alone and never while posting a message
// (a bin may answer a HAVE_CONTEXT message by calling set_context at once).
class CudaMemoryState {
 public:
  CudaMemoryState();
  ~CudaMemoryState();
  CudaMemoryState(const CudaMemoryState&) = delete;
  CudaMemoryState& operator=(const CudaMemoryState&) = delete;

  // GstElement::set_context: adopts a context the application or the
  // pipeline gives for `device_id`.
  void set_context(GstElement* element, GstContext* context, int device_id);
  // Answers a gst.cuda.context query; with no context yet, makes one for
  // `device_id` (>= 0) first, so that elements that ask before ours go
  // READY (downstream ones) share it. False when not answered.
  bool answer_query(GstElement* element, GstQuery* query, int device_id);
  // NULL -> READY: a context set on us, else a peer's, else a new one on
  // the CUDA primary context of `device_id` (the context LibTorch's calls
  // use), announced to the pipeline. False when none could be had.
  bool ensure(GstElement* element, int device_id);
  // READY -> NULL.
  void reset();
  bool has_context() const;

  // The allocation queries for CUDA caps: a GstCudaBufferPool on our
  // context offered upstream, and used for our output buffers.
  bool propose_pool(GstQuery* query, GstCaps* caps);
  bool decide_pool(GstQuery* query, GstCaps* caps);

  // Whether `buffer` is CUDA memory of our context, which the model reads
  // (and writes) in place; memory of another context is mapped through
  // host memory instead.
  bool in_our_context(GstBuffer* buffer) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// While alive, the CUDA primary context of `device_id` (the one LibTorch
// runs in) is the calling thread's current context. GStreamer's CUDA
// elements push their own contexts on the threads they share with us; with
// one of those left current, LibTorch's calls run in it (cudaGetDevice
// still says device 0), and cuDNN crashed in start() on an H200 that way.
// Does nothing for device_id < 0, when the primary context is current
// already, or in builds without CUDA memory support.
class PrimaryContextScope {
 public:
  explicit PrimaryContextScope(int device_id);
  ~PrimaryContextScope();
  PrimaryContextScope(const PrimaryContextScope&) = delete;
  PrimaryContextScope& operator=(const PrimaryContextScope&) = delete;

 private:
  bool pushed_ = false;
};

// GST_MAP_CUDA (a device pointer from gst_buffer_map / gst_video_frame_map)
// when compiled, else 0.
GstMapFlags cuda_map_flag();

}  // namespace i2sbseg_gst
