// SPDX-License-Identifier: MIT
// Segmenter's state and stages (internal): segmenter.cpp runs them,
// segmenter_cuda.cpp holds the CUDA frame path.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/types.h>

#include <i2sbseg/error.h>
#include <i2sbseg/model.h>
#include <i2sbseg/segmenter.h>

#include "infer/cuda_graph.h"
#include "infer/frame_ops.h"

namespace i2sbseg {

// One frame as segment() received it.
struct Frame {
  const std::uint8_t* pixels;
  int width, height, stride;
  PixelLayout layout;
  FrameMemory memory = FrameMemory::kHost;
};

// The stages of segment(), each on the model's device.
struct Segmenter::Impl {
  Impl(std::string p, torch::Device d, Model m) : path(std::move(p)), device(d), model(std::move(m)) {}

  // Packed bytes -> `input`, RGB planes in [0, 1]. On a GPU returns the
  // frame's bytes on the device (the fused overlay reads them there).
  const std::uint8_t* upload(const Frame& f);
  // The bridge's options for a call: the NFE resolved (0: the model's
  // default) and the noise for the seed.
  SampleOptions sample_options(const SegmentParams& params, int height, int width);
  // One frame's bridge noise for `seed` (latent `shape`): segment() and
  // segment_batch() draw it alike, so a frame gets the same batched or not.
  std::vector<torch::Tensor> seed_noise(std::uint64_t seed, int nfe, const std::vector<int64_t>& shape);
  // seed_noise(), kept per seed while the NFE and size stay (streams of
  // several seeds share a model: each draw costs a CPU pass per step).
  const std::vector<torch::Tensor>& cached_noise(std::uint64_t seed, int nfe, const std::vector<int64_t>& shape);
  // The sampler options of `params` without noise; true when the sampler
  // draws noise (a bridge and no ODE), with `shape` one frame's latent.
  bool noise_options(const SegmentParams& params, int height, int width, SampleOptions& options,
                     std::vector<int64_t>& shape);
  // HR logits (1, K, out_h, out_w) float32, contiguous.
  torch::Tensor forward(const SampleOptions& options, OutputSize size);
  // Model logits at the requested size (kInput: averaged over the scale
  // factor's squares), contiguous.
  torch::Tensor at_output_size(torch::Tensor logits, OutputSize size) const;
  // Logits -> class map (+ overlay): fused on the GPU (`src`: the frame's
  // bytes on the device), row-parallel on the CPU.
  void classes_gpu(const torch::Tensor& logits, const Frame& f, const std::uint8_t* src, std::uint8_t* map,
                   const OverlayTarget* overlay);
  // classes_gpu() in two halves, so that a batch's N frames wait for the
  // device once: start() launches frame `slot` of `slots` (argmax, fused
  // overlay, copies into that slot of the pinned staging); after a
  // synchronize, finish() copies it out (or paints a bilinear overlay).
  struct StagedClasses {
    const Frame* frame;
    std::uint8_t* map;
    const OverlayTarget* overlay;
    int out_w, out_h;
    bool drawn;  // the overlay was drawn on the device
    int64_t slot;
  };
  StagedClasses classes_gpu_start(const torch::Tensor& logits, const Frame& f, const std::uint8_t* src,
                                  std::uint8_t* map, const OverlayTarget* overlay, int64_t slot, int64_t slots);
  void classes_gpu_finish(const StagedClasses& staged);
  void classes_cpu(const torch::Tensor& logits, const Frame& f, std::uint8_t* map, const OverlayTarget* overlay);

  // CUDA frame path (segmenter_cuda.cpp). The frames' bytes on the device:
  // kDevice frames as given, host frames copied through pinned staging into
  // dev_in, one after another (one host_copies each).
  std::vector<const std::uint8_t*> frames_on_device(const std::vector<Frame>& frames);
  // Device bytes of `f` -> three float planes at `dst` (device).
  void planes_gpu(const std::uint8_t* src, const Frame& f, float* dst);
  // A bilinear overlay of a kDevice frame, drawn on the CPU (w x h map).
  void paint_device_overlay(const std::uint8_t* map, int w, int h, const Frame& f, const OverlayTarget& target);

  // Called in a catch block: out of GPU memory becomes an Error naming the
  // sizes (the per-size buffers dropped); anything else is rethrown as is.
  [[noreturn]] void rethrow(const c10::Error& e, int width, int height, OutputSize size, std::size_t batch);

  std::string path;
  torch::Device device;
  Model model;
  std::mutex mutex;  // one inference at a time on the shared model
  // Resolved once at open(): segment() reads no environment.
  int default_threads = 1;  // $OMP_NUM_THREADS, else one per core
  bool cuda_graphs = true;
  std::atomic<std::uint64_t> host_copies{0};  // read without the mutex
  // Reused while the frame size stays (no per-frame full-size allocations):
  torch::Tensor input;  // (1, 3, h, w) float, v/255, on the model's device
  // CUDA path: pinned host staging and device buffers.
  torch::Tensor host_in, dev_in, host_out, dev_out, host_classes, dev_classes, dev_palette;
  GraphRunner graph;  // CUDA: the frame path as one captured graph
  // The bridge noise: every call draws it from a fresh generator seeded with
  // the seed, so for one seed, NFE and size it is the same every frame. Drawn
  // once (on the CPU, as Bridge::sample would) and kept on the device.
  // The buffers keep their addresses across seeds (a new seed's draws are
  // copied in): the captured CUDA graph reads them in place, and new
  // addresses would mean capturing it again, frame after frame, when
  // streams of different seeds share the model.
  std::vector<torch::Tensor> noise;
  std::map<std::uint64_t, std::vector<torch::Tensor>> noise_by_seed;  // cached_noise()
  int noise_by_seed_nfe = -1;
  std::vector<int64_t> noise_by_seed_shape;
  std::uint64_t noise_seed = 0;
  int noise_nfe = -1;
  std::vector<int64_t> noise_shape;
  // segment_batch() (segmenter_batch.cpp). Its buffers hold batch_capacity()
  // frames, the largest batch of this frame size so far, and keep their
  // addresses while it stays: a batch of that many frames replays one
  // captured graph (batch_graph) whatever its seeds and their order; a
  // smaller batch (a timeout) runs eagerly on the first N rows.
  // The frames' RGB planes into batch_input's first N rows; returns the
  // frames' bytes on the device, as upload().
  std::vector<const std::uint8_t*> upload_batch(const std::vector<Frame>& frames);
  // Per stochastic step a (capacity, latent) buffer; row n holds the draws
  // of batch_seeds[n], copied in only when that row's seed changes.
  SampleOptions batch_options(const SegmentParams& params, const std::vector<std::uint64_t>& seeds, int height,
                              int width);
  // The batch's class maps (+ overlays) from batch_input and `options`: one
  // pass on a GPU, waiting for the device once; frame after frame on the CPU.
  void batch_gpu(const std::vector<Frame>& fs, const std::vector<const std::uint8_t*>& srcs,
                 const SampleOptions& options, OutputSize size, const std::vector<BatchFrame>& frames);
  void batch_cpu(const std::vector<Frame>& fs, const SampleOptions& options, OutputSize size,
                 const std::vector<BatchFrame>& frames);
  torch::Tensor batch_input;
  int64_t batch_capacity() const { return batch_input.defined() ? batch_input.size(0) : 0; }
  std::vector<torch::Tensor> batch_noise, batch_noise_rows;  // rows: the first N of each, for a smaller batch
  std::vector<std::optional<std::uint64_t>> batch_seeds;  // whose draws row n holds, if any
  int batch_nfe = -1;
  std::vector<int64_t> batch_shape;
  GraphRunner batch_graph;
};

// Checks and settings segment() and segment_batch() share (segmenter.cpp).
namespace detail {
void check_layout(const PixelLayout& l);
void check_frame(int width, int height, int stride_bytes, const PixelLayout& layout);
// Refuses frames in device memory unless the model is on a CUDA device.
void check_memory(FrameMemory memory, const torch::Device& device);
// This machine's physical memory in bytes (0 when unknown), asked once.
double physical_memory();
// OpenMP's team size is per calling thread: every inference call applies it.
void apply_threads(int requested, int fallback);
}  // namespace detail

// (Re)allocates `t` only when its shape changes.
inline void ensure(torch::Tensor& t, at::IntArrayRef shape, const torch::TensorOptions& opts) {
  if (!t.defined() || t.sizes() != shape) t = torch::empty(shape, opts);
}

inline void check_cuda(const std::string& err, const char* what) {
  if (!err.empty()) throw Error(std::string(what) + ": " + err);
}

// The overlay of a w x h class map over host frame `f`, row by row on this thread.
inline void paint_overlay(const std::uint8_t* class_map, int w, int h, const Frame& f, const OverlayTarget& target,
                          const std::vector<ClassInfo>& classes) {
  const frame_ops::OverlayPainter painter(w, h, f.width, f.height, f.layout, target.upscale, target.alpha, classes);
  for (int y = 0; y < h; ++y)
    painter.row(y, class_map + static_cast<std::size_t>(y) * w, f.pixels, f.stride,
                target.pixels + static_cast<std::size_t>(y) * target.stride);
}

}  // namespace i2sbseg
