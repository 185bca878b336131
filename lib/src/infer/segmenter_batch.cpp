// SPDX-License-Identifier: MIT
// Segmenter::segment_batch(): N frames of one size through one model call
// (the element's batch-size; docs/design.md §5). Each frame keeps its own
// seed's noise, so its map is the one segment() gives it.
#include <algorithm>
#include <optional>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include <i2sbseg/error.h>
#include <i2sbseg/segmenter.h>

#include <i2sbseg/cpu_block_cache.h>
#include "infer/cuda_stream.h"
#include "infer/segmenter_impl.h"

namespace i2sbseg {

using namespace detail;

std::vector<const std::uint8_t*> Segmenter::Impl::upload_batch(const std::vector<Frame>& frames) {
  const Frame& first = frames.front();
  const auto n = static_cast<int64_t>(frames.size());
  // Room for the largest batch of this frame size so far: a smaller batch
  // (a timeout) leaves the buffers, and the graph reading them, in place.
  const bool same_size = batch_input.defined() && batch_input.size(2) == first.height &&
                         batch_input.size(3) == first.width;
  ensure(batch_input, {same_size ? std::max(batch_capacity(), n) : n, 3, first.height, first.width},
         torch::TensorOptions().dtype(torch::kFloat32).device(device));
  const int64_t plane3 = int64_t{3} * first.width * first.height;
  if (!device.is_cuda()) {
    for (int64_t i = 0; i < n; ++i) {
      const Frame& f = frames[static_cast<std::size_t>(i)];
      frame_ops::packed_to_rgb01(f.pixels, f.width, f.height, f.stride, f.layout,
                                 batch_input.data_ptr<float>() + i * plane3);
    }
    return {};
  }
  // Kept for the fused overlays: they read each frame's bytes on the device.
  std::vector<const std::uint8_t*> srcs = frames_on_device(frames);
  for (int64_t i = 0; i < n; ++i)
    planes_gpu(srcs[static_cast<std::size_t>(i)], frames[static_cast<std::size_t>(i)],
               batch_input.data_ptr<float>() + i * plane3);
  return srcs;
}

SampleOptions Segmenter::Impl::batch_options(const SegmentParams& params, const std::vector<std::uint64_t>& seeds,
                                             int height, int width) {
  SampleOptions options;
  std::vector<int64_t> shape;
  if (!noise_options(params, height, width, options, shape)) return options;
  // Each frame's noise as sample_options() draws it for that seed alone, so
  // that a frame gets the same noise batched or not. The buffers change
  // only with the NFE, the size or the capacity; a row is refilled only
  // when its seed changes (streams arrive in any order).
  if (batch_nfe != options.nfe || batch_shape != shape || static_cast<int64_t>(batch_seeds.size()) != batch_capacity()) {
    batch_noise.clear();
    for (const torch::Tensor& draw : cached_noise(seeds.front(), options.nfe, shape)) {
      std::vector<int64_t> rows = draw.sizes().vec();
      rows[0] = batch_capacity();
      batch_noise.push_back(torch::empty(rows, draw.options()));
    }
    batch_seeds.assign(static_cast<std::size_t>(batch_capacity()), std::nullopt);
    batch_nfe = options.nfe;
    batch_shape = shape;
  }
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (batch_seeds[i] == seeds[i]) continue;
    const std::vector<torch::Tensor>& drawn = cached_noise(seeds[i], options.nfe, shape);
    for (std::size_t step = 0; step < drawn.size(); ++step)
      batch_noise[step].narrow(0, static_cast<int64_t>(i), 1).copy_(drawn[step]);
    batch_seeds[i] = seeds[i];
  }
  if (static_cast<int64_t>(seeds.size()) == batch_capacity()) {
    options.noise = &batch_noise;
    return options;
  }
  batch_noise_rows.clear();
  for (const torch::Tensor& b : batch_noise) batch_noise_rows.push_back(b.narrow(0, 0, static_cast<int64_t>(seeds.size())));
  options.noise = &batch_noise_rows;
  return options;
}

void Segmenter::Impl::batch_gpu(const std::vector<Frame>& fs, const std::vector<const std::uint8_t*>& srcs,
                                const SampleOptions& options, OutputSize size, const std::vector<BatchFrame>& frames) {
  const auto n = static_cast<int64_t>(fs.size());
  const torch::Tensor in = batch_input.narrow(0, 0, n);
  // A full batch replays one captured graph (its buffers stay put); a
  // smaller one runs eagerly rather than capturing a graph per size.
  const bool use_graph = GraphRunner::compiled() && cuda_graphs && n == batch_capacity();
  const torch::Tensor batched = use_graph ? batch_graph.run(model, in, options) : model.segment_lr(in, options);
  std::vector<StagedClasses> staged;
  for (int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    staged.push_back(classes_gpu_start(at_output_size(batched.narrow(0, i, 1), size), fs[k], srcs[k],
                                       frames[k].class_map_out->data(), frames[k].overlay, i, n));
  }
  // Once for the batch, then the copies out (and any device overlay handed on).
  wait_for_current_stream(device.index());
  for (const StagedClasses& s : staged) classes_gpu_finish(s);
}

namespace {

// Frame n's share of a batch's sampler options: its own noise draws.
SampleOptions frame_options(const SampleOptions& batch, int64_t n, std::vector<torch::Tensor>& noise) {
  SampleOptions one = batch;
  if (!batch.noise) return one;
  noise.clear();
  for (const torch::Tensor& step : *batch.noise) noise.push_back(step.narrow(0, n, 1));
  one.noise = &noise;
  return one;
}

}  // namespace

void Segmenter::Impl::batch_cpu(const std::vector<Frame>& fs, const SampleOptions& options, OutputSize size,
                                const std::vector<BatchFrame>& frames) {
  // Frame after frame: one frame already keeps every core busy, and N
  // frames' activations at once overflow the caches (one pass of 8 ran at
  // 0.45x, docs/performance.md); each map is also exactly segment()'s.
  std::vector<torch::Tensor> noise;  // one frame's draws
  for (std::size_t i = 0; i < fs.size(); ++i) {
    const auto n = static_cast<int64_t>(i);
    const torch::Tensor logits =
        at_output_size(model.segment_lr(batch_input.narrow(0, n, 1), frame_options(options, n, noise)), size);
    classes_cpu(logits, fs[i], frames[i].class_map_out->data(), frames[i].overlay);
  }
}

void Segmenter::segment_batch(int width, int height, PixelLayout layout, const SegmentParams& params,
                              const std::vector<BatchFrame>& frames, int& out_w, int& out_h) {
  const CpuBlockCache::FrameScope cache_scope;
  check_memory(params.memory, impl_->device);  // first: device pointers are not host-readable
  check_layout(layout);
  output_size(width, height, params.output_size, out_w, out_h);
  if (frames.empty()) return;
  std::vector<Frame> fs;
  std::vector<std::uint64_t> seeds;
  for (const BatchFrame& b : frames) {
    check_frame(width, height, b.stride_bytes, layout);
    if (!b.pixels || !b.class_map_out) throw Error("segment_batch: a frame without pixels or class map");
    fs.push_back({b.pixels, width, height, b.stride_bytes, layout, params.memory});
    seeds.push_back(b.seed);
  }
  check_frame_size(width, height);
  const double need = frame_memory_bytes(width, height) * static_cast<double>(frames.size());
  const double have = physical_memory();
  if (!impl_->device.is_cuda() && have > 0 && need > have)
    throw Error("a batch of " + std::to_string(frames.size()) + " " + std::to_string(width) + "x" +
                std::to_string(height) + " frames needs more memory than this machine has (use a smaller batch)");

  std::lock_guard<std::mutex> lock(impl_->mutex);
  apply_threads(params.threads, impl_->default_threads);
  c10::InferenceMode inference;
  Impl& im = *impl_;
  try {
    for (const BatchFrame& b : frames) b.class_map_out->resize(static_cast<std::size_t>(out_w) * out_h);
    const std::vector<const std::uint8_t*> srcs = im.upload_batch(fs);
    const SampleOptions options = im.batch_options(params, seeds, height, width);
    if (im.device.is_cuda())
      im.batch_gpu(fs, srcs, options, params.output_size, frames);
    else
      im.batch_cpu(fs, options, params.output_size, frames);
  } catch (const c10::Error& e) {
    im.rethrow(e, width, height, params.output_size, frames.size());
  }
}

}  // namespace i2sbseg
