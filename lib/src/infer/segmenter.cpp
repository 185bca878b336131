// SPDX-License-Identifier: MIT
// The only LibTorch user behind segmenter.h: callers (the element, its
// plugin) compile without LibTorch headers.
#include <i2sbseg/segmenter.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/types.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/cuda_kernels.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include <i2sbseg/cpu_block_cache.h>
#include "infer/segmenter_impl.h"

namespace i2sbseg {

namespace {

// Loaded models by "<canonical path>|<device>|<precision>[|graphs]". Weak: the model goes when
// its last user does; the next open loads it again.
std::mutex cache_mutex;
std::map<std::string, std::weak_ptr<Segmenter>>& cache() {
  static std::map<std::string, std::weak_ptr<Segmenter>> c;
  return c;
}

}  // namespace

// Shared with segmenter_batch.cpp (declared in segmenter_impl.h).
namespace detail {

void check_layout(const PixelLayout& l) {
  const bool ok = (l.bytes_per_pixel == 3 || l.bytes_per_pixel == 4) && l.r >= 0 && l.g >= 0 && l.b >= 0 &&
                  l.r < l.bytes_per_pixel && l.g < l.bytes_per_pixel && l.b < l.bytes_per_pixel;
  if (!ok) throw Error("unsupported pixel layout");
}

void check_frame(int width, int height, int stride_bytes, const PixelLayout& layout) {
  if (width < 1 || height < 1 || stride_bytes < width * layout.bytes_per_pixel)
    throw Error("frame of " + std::to_string(width) + "x" + std::to_string(height) + " with stride " +
                std::to_string(stride_bytes) + " is not a valid image");
}

// Refuses frames in device memory unless the model is on a CUDA device.
void check_memory(FrameMemory memory, const torch::Device& device) {
  if (memory == FrameMemory::kDevice && !device.is_cuda())
    throw Error(ErrorKind::kUnsupported,
                "frames in CUDA device memory need a model on a CUDA device; this model runs on " + device.str(),
                "memory");
}

// This machine's physical memory in bytes (0 when unknown), asked once.
double physical_memory() {
  static const double have =
      static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  return have;
}

// OpenMP's team size is per calling thread: a streaming thread that never
// set it would run single-threaded, so every inference call applies it.
void apply_threads(int requested, int fallback) {
  const int threads = requested > 0 ? requested : fallback;
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
}

}  // namespace detail

using namespace detail;

Segmenter::Segmenter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { CpuBlockCache::add_user(); }
Segmenter::~Segmenter() {
  impl_.reset();  // its tensors go back to the cache before the last user empties it
  CpuBlockCache::remove_user();
}

std::shared_ptr<Segmenter> Segmenter::open(const std::string& model_path, const SegmenterOptions& options,
                                           bool* auto_fell_back) {
  const torch::Device dev = parse_device(options.device);  // throws naming the device
  const torch::ScalarType dtype = scalar_type(options.precision, dev);
  if (auto_fell_back) *auto_fell_back = is_auto_cpu_fallback(options.device, dev);

  // A missing file keeps its given name: load_model reports it.
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::canonical(model_path, ec);
  const std::string key = (ec ? model_path : canonical.string()) + "|" + dev.str() + "|" +
                          precision_name(precision_of(dtype)) + (options.cuda_graphs ? "|graphs" : "");

  std::lock_guard<std::mutex> lock(cache_mutex);
  auto& c = cache();
  if (auto it = c.find(key); it != c.end()) {
    if (auto alive = it->second.lock()) return alive;
  }
  Model model = load_model(model_path, dev);  // errors name model_path
  model.eval();
  model.fold_for_inference();  // v2: BatchNorm into the convolutions, once
  model.set_precision(dtype);  // throws when the device cannot run it
  // NHWC for v2 on every device (docs/design.md §4 "Channels-last").
  model.set_channels_last(model.prefers_channels_last());
  if (dev.is_cuda() && options.cudnn_benchmark) at::globalContext().setBenchmarkCuDNN(true);
  auto impl = std::make_unique<Impl>(ec ? model_path : canonical.string(), dev, std::move(model));
  impl->default_threads = inference_threads(0);
  impl->cuda_graphs = options.cuda_graphs;
  std::shared_ptr<Segmenter> s(new Segmenter(std::move(impl)));
  c[key] = s;
  // Drop entries of models nobody holds any more.
  for (auto it = c.begin(); it != c.end();) it = it->second.expired() ? c.erase(it) : std::next(it);
  return s;
}

const std::string& Segmenter::model_path() const { return impl_->path; }
DeviceId Segmenter::device() const { return device_id_of(impl_->device); }
Precision Segmenter::precision() const { return precision_of(impl_->model.precision()); }
const ModelConfig& Segmenter::config() const { return impl_->model.config(); }

void Segmenter::output_size(int width, int height, OutputSize size, int& out_w, int& out_h) const {
  const int s = size == OutputSize::kInput ? 1 : scale_factor();
  out_w = width * s;
  out_h = height * s;
}

double Segmenter::frame_memory_bytes(int width, int height) const {
  const ModelConfig& c = config();
  const double hr_pixels = static_cast<double>(width) * height * c.scale_factor * c.scale_factor;
  // v1: level 0 runs at the output size: its activation, norm, SiLU, two
  // convs and the residual sum live at once; plus the input and the logits.
  // v2 runs nothing but the last shuffle at HR; bounded as if each decoder
  // width were there too.
  double floats_per_pixel = 3.0 + 6.0 * c.classifier.widths[0] + 2.0 * c.num_classes();
  if (c.family == ModelFamily::kV2)
    floats_per_pixel = 3.0 + 6.0 * *std::max_element(c.v2.decoder_widths.begin(), c.v2.decoder_widths.end()) +
                       4.0 * c.num_classes();
  return hr_pixels * floats_per_pixel * sizeof(float);
}

void Segmenter::check_frame_size(int width, int height) const {
  if (impl_->device.is_cuda()) return;
  const double need = frame_memory_bytes(width, height);
  const double have = physical_memory();
  if (have > 0 && need > have) {
    auto gib = [](double b) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f GiB", b / (1024.0 * 1024.0 * 1024.0));
      return std::string(text);
    };
    int out_w = 0, out_h = 0;
    output_size(width, height, OutputSize::kScaled, out_w, out_h);
    throw Error("a " + std::to_string(width) + "x" + std::to_string(height) + " frame is too large for this model: its " +
                std::to_string(out_w) + "x" + std::to_string(out_h) + " output needs about " + gib(need) +
                " of memory, this machine has " + gib(have) + " (scale the video down before the model)");
  }
}

const std::uint8_t* Segmenter::Impl::upload(const Frame& f) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  ensure(input, {1, 3, f.height, f.width}, f32);
  if (!device.is_cuda()) {
    frame_ops::packed_to_rgb01(f.pixels, f.width, f.height, f.stride, f.layout, input.data_ptr<float>());
    return nullptr;
  }
  const std::uint8_t* src = frames_on_device({f}).front();
  planes_gpu(src, f, input.data_ptr<float>());
  return src;
}

bool Segmenter::Impl::noise_options(const SegmentParams& params, int height, int width, SampleOptions& options,
                                    std::vector<int64_t>& shape) {
  options.ot_ode = params.ot_ode;
  if (!model.has_bridge()) return false;
  options.nfe = model.resolve_nfe(params.nfe);
  if (params.ot_ode) return false;
  const int s = model.config().scale_factor;
  shape = model.latent_shape(1, int64_t{height} * s, int64_t{width} * s);
  return true;
}

SampleOptions Segmenter::Impl::sample_options(const SegmentParams& params, int height, int width) {
  SampleOptions options;
  std::vector<int64_t> shape;
  if (!noise_options(params, height, width, options, shape)) return options;
  // The same seed gives the same noise (drawn once per seed, NFE and size).
  if (noise_seed != params.seed || noise_nfe != options.nfe || noise_shape != shape) {
    const std::vector<torch::Tensor>& drawn = cached_noise(params.seed, options.nfe, shape);
    // The NFE sets how many draws there are and the size their shape: only a
    // new seed fits the buffers the graph reads.
    if (noise_nfe == options.nfe && noise_shape == shape) {
      for (std::size_t i = 0; i < noise.size(); ++i) noise[i].copy_(drawn[i]);
    } else {
      noise.clear();
      for (const torch::Tensor& d : drawn) noise.push_back(d.clone());  // never the cache's own
    }
    noise_seed = params.seed;
    noise_nfe = options.nfe;
    noise_shape = shape;
  }
  options.noise = &noise;
  return options;
}

std::vector<torch::Tensor> Segmenter::Impl::seed_noise(std::uint64_t seed, int nfe, const std::vector<int64_t>& shape) {
  at::Generator gen = make_generator(seed);
  return model.bridge().draw_noise(torch::empty(shape, torch::TensorOptions().device(device)), nfe, &gen);
}

const std::vector<torch::Tensor>& Segmenter::Impl::cached_noise(std::uint64_t seed, int nfe,
                                                                 const std::vector<int64_t>& shape) {
  constexpr std::size_t kMaxSeeds = 16;  // more streams than this on one model redraw
  if (noise_by_seed_nfe != nfe || noise_by_seed_shape != shape) {
    noise_by_seed.clear();
    noise_by_seed_nfe = nfe;
    noise_by_seed_shape = shape;
  }
  auto it = noise_by_seed.find(seed);
  if (it == noise_by_seed.end()) {
    if (noise_by_seed.size() >= kMaxSeeds) noise_by_seed.clear();
    it = noise_by_seed.emplace(seed, seed_noise(seed, nfe, shape)).first;
  }
  return it->second;
}

torch::Tensor Segmenter::Impl::forward(const SampleOptions& options, OutputSize size) {
  // On a GPU replayed as a CUDA graph when the options allow (same numbers,
  // fewer launches).
  const bool use_graph = device.is_cuda() && GraphRunner::compiled() && cuda_graphs;
  return at_output_size(use_graph ? graph.run(model, input, options) : model.segment_lr(input, options), size);
}

torch::Tensor Segmenter::Impl::at_output_size(torch::Tensor logits, OutputSize size) const {
  const int s = model.config().scale_factor;
  if (size == OutputSize::kInput && s > 1) logits = torch::avg_pool2d(logits, {s, s});
  return logits.contiguous();
}

void Segmenter::Impl::classes_cpu(const torch::Tensor& logits, const Frame& f, std::uint8_t* map,
                                  const OverlayTarget* overlay) {
  // Argmax, palette and blend fused row by row, rows spread over the
  // threads; the logits are read once and no output-size float buffer is made.
  const int k = static_cast<int>(logits.size(1)), out_h = static_cast<int>(logits.size(2)),
            out_w = static_cast<int>(logits.size(3));
  const std::size_t plane = static_cast<std::size_t>(out_w) * out_h;
  const float* lp = logits.data_ptr<float>();
  std::unique_ptr<frame_ops::OverlayPainter> painter;
  if (overlay)
    painter = std::make_unique<frame_ops::OverlayPainter>(out_w, out_h, f.width, f.height, f.layout, overlay->upscale,
                                                          overlay->alpha, model.config().classes);
  at::parallel_for(0, out_h, 8, [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      std::uint8_t* mrow = map + y * out_w;
      frame_ops::argmax_row(lp, k, plane, static_cast<std::size_t>(y) * out_w, out_w, mrow);
      if (painter)
        painter->row(static_cast<int>(y), mrow, f.pixels, f.stride,
                     overlay->pixels + static_cast<std::size_t>(y) * overlay->stride);
    }
  });
}

void Segmenter::segment(const std::uint8_t* pixels, int width, int height, int stride_bytes, PixelLayout layout,
                        const SegmentParams& params, std::vector<std::uint8_t>& class_map_out, int& out_w,
                        int& out_h, const OverlayTarget* overlay) {
  const CpuBlockCache::FrameScope cache_scope;  // the frame's large CPU tensors reuse blocks
  check_memory(params.memory, impl_->device);  // first: a device pointer is not host-readable
  check_layout(layout);
  check_frame(width, height, stride_bytes, layout);
  check_frame_size(width, height);
  const Frame frame{pixels, width, height, stride_bytes, layout, params.memory};

  std::lock_guard<std::mutex> lock(impl_->mutex);
  apply_threads(params.threads, impl_->default_threads);
  c10::InferenceMode inference;
  Impl& im = *impl_;
  try {
    const std::uint8_t* src = im.upload(frame);
    const torch::Tensor logits = im.forward(im.sample_options(params, height, width), params.output_size);
    out_h = static_cast<int>(logits.size(2));
    out_w = static_cast<int>(logits.size(3));
    class_map_out.resize(static_cast<std::size_t>(out_w) * out_h);
    if (im.device.is_cuda())
      im.classes_gpu(logits, frame, src, class_map_out.data(), overlay);
    else
      im.classes_cpu(logits, frame, class_map_out.data(), overlay);
  } catch (const c10::Error& e) {
    im.rethrow(e, width, height, params.output_size, 1);
  }
}

std::uint64_t Segmenter::host_input_copies() const { return impl_->host_copies.load(); }

void Segmenter::Impl::rethrow(const c10::Error& e, int width, int height, OutputSize size, std::size_t batch) {
  // cuDNN and cuBLAS report a failed allocation as a plain CUDA error.
  const std::string text = e.what_without_backtrace();
  const bool oom = dynamic_cast<const c10::OutOfMemoryError*>(&e) || text.find("out of memory") != std::string::npos;
  if (!device.is_cuda() || !oom) throw;
  // A failed call may leave buffers of its size half made: start afresh
  // (this also gives their memory back to the allocator).
  input = batch_input = torch::Tensor();
  host_in = dev_in = host_out = dev_out = host_classes = dev_classes = torch::Tensor();
  noise.clear();
  noise_nfe = -1;
  noise_by_seed.clear();
  noise_by_seed_nfe = -1;
  batch_noise.clear();
  batch_noise_rows.clear();
  batch_seeds.clear();
  batch_nfe = -1;
  batch_graph.reset();
  graph.reset();
  const int s = size == OutputSize::kInput ? 1 : model.config().scale_factor;
  const std::string in = std::to_string(width) + "x" + std::to_string(height),
                    out = std::to_string(int64_t{width} * s) + "x" + std::to_string(int64_t{height} * s);
  const std::string what = batch > 1 ? "a batch of " + std::to_string(batch) + " " + in + " frames into " + out +
                                           " class maps"
                                     : "a " + in + " frame into a " + out + " class map";
  std::string hints = "smaller frames";
  if (s > 1)
    hints += std::string(batch > 1 ? ", " : " or ") +
             "class maps at the input's size (OutputSize::kInput)";
  if (batch > 1) hints += " or a smaller batch";
  throw Error("out of GPU memory on " + device.str() + " segmenting " + what + "; use " + hints + ". " +
              text.substr(0, text.find('\n')));
}

void Segmenter::draw_overlay(const std::uint8_t* class_map, int w, int h, const std::uint8_t* src, int src_w,
                             int src_h, int src_stride, PixelLayout layout, float alpha, std::uint8_t* dst,
                             int dst_stride, Upscale upscale) const {
  check_layout(layout);
  if (w < 1 || h < 1 || src_w < 1 || src_h < 1) return;
  paint_overlay(class_map, w, h, {src, src_w, src_h, src_stride, layout}, {dst, dst_stride, alpha, upscale},
                classes());
}

}  // namespace i2sbseg
