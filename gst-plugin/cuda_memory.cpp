// SPDX-License-Identifier: MIT
// GStreamer's CUDA library is unstable API (1.22): its header warns without this.
#define GST_USE_UNSTABLE_API 1

#include "cuda_memory.h"

#include <gst/cuda/gstcudabufferpool.h>
#include <gst/cuda/gstcudacontext.h>
#include <gst/cuda/gstcudaloader.h>
#include <gst/cuda/gstcudamemory.h>
#include <gst/cuda/gstcudautils.h>

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <tuple>

GST_DEBUG_CATEGORY_EXTERN(gst_i2sbseg_debug);
#define GST_CAT_DEFAULT gst_i2sbseg_debug

namespace i2sbseg_gst {
namespace {

// The few CUDA driver calls gstreamer-cuda-1.0 does not export, from the
// driver itself (dlopen: the element loads on machines without one).
struct Driver {
  CUresult (*init)(unsigned) = nullptr;
  CUresult (*device_count)(int*) = nullptr;
  CUresult (*device_get)(CUdevice*, int) = nullptr;
  CUresult (*primary_retain)(CUcontext*, CUdevice) = nullptr;
  // For PrimaryContextScope; without them it does nothing.
  CUresult (*ctx_get_current)(CUcontext*) = nullptr;
  CUresult (*ctx_push)(CUcontext) = nullptr;
  CUresult (*ctx_pop)(CUcontext*) = nullptr;
  bool ok = false;
};

const Driver& driver() {
  static const Driver d = [] {
    Driver r;
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);  // kept for the process
    if (!lib) return r;
    r.init = reinterpret_cast<decltype(r.init)>(dlsym(lib, "cuInit"));
    r.device_count = reinterpret_cast<decltype(r.device_count)>(dlsym(lib, "cuDeviceGetCount"));
    r.device_get = reinterpret_cast<decltype(r.device_get)>(dlsym(lib, "cuDeviceGet"));
    r.primary_retain = reinterpret_cast<decltype(r.primary_retain)>(dlsym(lib, "cuDevicePrimaryCtxRetain"));
    r.ctx_get_current = reinterpret_cast<decltype(r.ctx_get_current)>(dlsym(lib, "cuCtxGetCurrent"));
    r.ctx_push = reinterpret_cast<decltype(r.ctx_push)>(dlsym(lib, "cuCtxPushCurrent_v2"));
    r.ctx_pop = reinterpret_cast<decltype(r.ctx_pop)>(dlsym(lib, "cuCtxPopCurrent_v2"));
    r.ok = r.init && r.device_count && r.device_get && r.primary_retain && r.init(0) == CUDA_SUCCESS;
    return r;
  }();
  return d;
}

// The primary context of device `ordinal`: the one the CUDA runtime, and so
// LibTorch, runs in. Retained once per process and kept, as the runtime
// keeps it; a GstCudaContext wrapping it does not own it.
bool primary_context(int ordinal, CUcontext& ctx, CUdevice& dev) {
  static std::mutex lock;
  static std::map<int, std::pair<CUcontext, CUdevice>> retained;
  std::lock_guard<std::mutex> guard(lock);
  if (auto it = retained.find(ordinal); it != retained.end()) {
    std::tie(ctx, dev) = it->second;
    return true;
  }
  const Driver& d = driver();
  if (!d.ok || d.device_get(&dev, ordinal) != CUDA_SUCCESS || d.primary_retain(&ctx, dev) != CUDA_SUCCESS)
    return false;
  retained[ordinal] = {ctx, dev};
  return true;
}

bool has_cuda_feature(const GstCapsFeatures* f) {
  return f && gst_caps_features_contains(f, GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY);
}

}  // namespace

bool cuda_memory_compiled() { return true; }

GstCaps* add_cuda_memory(GstCaps* caps) {
  GstCaps* cuda = gst_caps_copy(caps);
  gst_caps_set_features_simple(cuda, gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY, nullptr));
  gst_caps_append(caps, cuda);
  return caps;
}

GstCaps* remove_cuda_memory(GstCaps* caps) {
  caps = gst_caps_make_writable(caps);
  for (guint i = gst_caps_get_size(caps); i-- > 0;)
    if (has_cuda_feature(gst_caps_get_features(caps, i))) gst_caps_remove_structure(caps, i);
  return caps;
}

bool is_cuda_memory(const GstCaps* caps) {
  return caps && gst_caps_get_size(caps) > 0 && has_cuda_feature(gst_caps_get_features(caps, 0));
}

PrimaryContextScope::PrimaryContextScope(int device_id) {
  const Driver& d = driver();
  if (device_id < 0 || !d.ok || !d.ctx_get_current || !d.ctx_push || !d.ctx_pop) return;
  CUcontext current = nullptr, primary = nullptr;
  CUdevice dev = -1;
  if (d.ctx_get_current(&current) != CUDA_SUCCESS || !primary_context(device_id, primary, dev)) return;
  // No context current: the runtime makes the primary one current itself.
  if (current == nullptr || current == primary) return;
  pushed_ = d.ctx_push(primary) == CUDA_SUCCESS;
}

PrimaryContextScope::~PrimaryContextScope() {
  if (!pushed_) return;
  CUcontext popped = nullptr;
  driver().ctx_pop(&popped);
}

GstMapFlags cuda_map_flag() { return static_cast<GstMapFlags>(GST_MAP_CUDA); }

struct CudaMemoryState::Impl {
  mutable std::mutex lock;
  GstCudaContext* ctx = nullptr;  // Protected by lock; ours (a reference).

  // A new reference to the context, or null.
  GstCudaContext* get() const {
    std::lock_guard<std::mutex> guard(lock);
    return ctx ? static_cast<GstCudaContext*>(gst_object_ref(ctx)) : nullptr;
  }
  // A context on the primary context of `device_id`, made once.
  GstCudaContext* get_or_make(int device_id) {
    if (GstCudaContext* have = get()) return have;
    CUcontext handle = nullptr;
    CUdevice dev = -1;
    if (!gst_cuda_load_library() || !primary_context(device_id, handle, dev)) return nullptr;
    gst_cuda_memory_init_once();
    GstCudaContext* made = gst_cuda_context_new_wrapped(handle, dev);
    if (!made) return nullptr;
    std::lock_guard<std::mutex> guard(lock);
    if (ctx) {  // another thread made one first
      gst_object_unref(made);
    } else {
      ctx = made;
    }
    return static_cast<GstCudaContext*>(gst_object_ref(ctx));
  }
};

CudaMemoryState::CudaMemoryState() : impl_(std::make_unique<Impl>()) {}
CudaMemoryState::~CudaMemoryState() { reset(); }

void CudaMemoryState::set_context(GstElement* element, GstContext* context, int device_id) {
  if (device_id < 0 || !gst_cuda_load_library()) return;
  std::lock_guard<std::mutex> guard(impl_->lock);
  gst_cuda_handle_set_context(element, context, device_id, &impl_->ctx);
}

bool CudaMemoryState::answer_query(GstElement* element, GstQuery* query, int device_id) {
  if (GST_QUERY_TYPE(query) != GST_QUERY_CONTEXT || device_id < 0) return false;
  const gchar* type = nullptr;
  if (!gst_query_parse_context_type(query, &type) || g_strcmp0(type, GST_CUDA_CONTEXT_TYPE) != 0) return false;
  GstCudaContext* ctx = impl_->get_or_make(device_id);
  if (!ctx) return false;
  const bool answered = gst_cuda_handle_context_query(element, query, ctx);
  gst_object_unref(ctx);
  return answered;
}

bool CudaMemoryState::ensure(GstElement* element, int device_id) {
  if (device_id < 0) return false;
  if (has_context()) return true;
  // A peer's context (set_context adopts what the query returns).
  for (GstPad* pad : {gst_element_get_static_pad(element, "sink"), gst_element_get_static_pad(element, "src")}) {
    GstQuery* query = gst_query_new_context(GST_CUDA_CONTEXT_TYPE);
    GstContext* context = nullptr;
    if (!has_context() && gst_pad_peer_query(pad, query)) {
      gst_query_parse_context(query, &context);
      if (context) set_context(element, context, device_id);
    }
    gst_query_unref(query);
    gst_object_unref(pad);
  }
  if (has_context()) return true;
  // The application's, through the bus (it answers with set_context).
  gst_element_post_message(element, gst_message_new_need_context(GST_OBJECT(element), GST_CUDA_CONTEXT_TYPE));
  if (has_context()) return true;
  GstCudaContext* ctx = impl_->get_or_make(device_id);
  if (!ctx) {
    GST_WARNING_OBJECT(element, "no CUDA context for device %d (no driver or no such device)", device_id);
    return false;
  }
  GST_INFO_OBJECT(element, "sharing the CUDA primary context of device %d with the pipeline", device_id);
  GstContext* context = gst_context_new_cuda_context(ctx);
  gst_object_unref(ctx);
  gst_element_post_message(element, gst_message_new_have_context(GST_OBJECT(element), context));
  return true;
}

void CudaMemoryState::reset() {
  std::lock_guard<std::mutex> guard(impl_->lock);
  gst_clear_object(&impl_->ctx);
}

bool CudaMemoryState::has_context() const {
  std::lock_guard<std::mutex> guard(impl_->lock);
  return impl_->ctx != nullptr;
}

namespace {

// A CUDA buffer pool on `ctx` for frames of `caps`, and its buffer size
// (pitched rows may make it larger than the caps' frame size).
GstBufferPool* make_pool(GstCudaContext* ctx, GstCaps* caps, guint min, guint max, guint& size) {
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps)) return nullptr;
  GstBufferPool* pool = gst_cuda_buffer_pool_new(ctx);
  GstStructure* config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, caps, GST_VIDEO_INFO_SIZE(&info), min, max);
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config(pool, config)) {
    gst_object_unref(pool);
    return nullptr;
  }
  config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_get_params(config, nullptr, &size, nullptr, nullptr);
  gst_structure_free(config);
  return pool;
}

}  // namespace

bool CudaMemoryState::propose_pool(GstQuery* query, GstCaps* caps) {
  GstCudaContext* ctx = impl_->get();
  if (!ctx) return false;
  guint size = 0;
  GstBufferPool* pool = make_pool(ctx, caps, 0, 0, size);
  gst_object_unref(ctx);
  if (!pool) return false;
  gst_query_add_allocation_pool(query, pool, size, 0, 0);
  gst_object_unref(pool);
  return true;
}

bool CudaMemoryState::decide_pool(GstQuery* query, GstCaps* caps) {
  GstCudaContext* ctx = impl_->get();
  if (!ctx) return false;
  guint min = 0, max = 0, size = 0;
  const bool had = gst_query_get_n_allocation_pools(query) > 0;
  if (had) gst_query_parse_nth_allocation_pool(query, 0, nullptr, nullptr, &min, &max);
  // Ours even when downstream offers one: its context may not be ours.
  GstBufferPool* pool = make_pool(ctx, caps, min, max, size);
  gst_object_unref(ctx);
  if (!pool) return false;
  if (had)
    gst_query_set_nth_allocation_pool(query, 0, pool, size, min, max);
  else
    gst_query_add_allocation_pool(query, pool, size, min, max);
  gst_object_unref(pool);
  return true;
}

bool CudaMemoryState::in_our_context(GstBuffer* buffer) const {
  if (gst_buffer_n_memory(buffer) != 1) return false;
  GstMemory* mem = gst_buffer_peek_memory(buffer, 0);
  if (!gst_is_cuda_memory(mem)) return false;
  std::lock_guard<std::mutex> guard(impl_->lock);
  return impl_->ctx && gst_cuda_context_get_handle(GST_CUDA_MEMORY_CAST(mem)->context) ==
                           gst_cuda_context_get_handle(impl_->ctx);
}

}  // namespace i2sbseg_gst
