// SPDX-License-Identifier: MIT
// The only LibTorch user behind segmenter.h: callers (the element, its
// plugin) compile without LibTorch headers.
#include <i2sbseg/segmenter.h>

#include <algorithm>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/types.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/cuda_kernels.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include "infer/cuda_graph.h"
#include "infer/frame_ops.h"

namespace i2sbseg {

namespace {

// One frame as segment() received it.
struct Frame {
  const std::uint8_t* pixels;
  int width, height, stride;
  PixelLayout layout;
};

}  // namespace

// The stages of segment(), each on the model's device.
struct Segmenter::Impl {
  Impl(std::string p, torch::Device d, Model m) : path(std::move(p)), device(d), model(std::move(m)) {}

  // Packed bytes -> `input`, RGB planes in [0, 1].
  void upload(const Frame& f);
  // The bridge's options for a call: the NFE resolved (0: the model's
  // default) and the noise for the seed.
  SampleOptions sample_options(const SegmentParams& params, int height, int width);
  // One frame's bridge noise for `seed` (latent `shape`): segment() and
  // segment_batch() draw it alike, so a frame gets the same batched or not.
  std::vector<torch::Tensor> seed_noise(std::uint64_t seed, int nfe, const std::vector<int64_t>& shape);
  // The sampler options of `params` without noise; true when the sampler
  // draws noise (a bridge and no ODE), with `shape` one frame's latent.
  bool noise_options(const SegmentParams& params, int height, int width, SampleOptions& options,
                     std::vector<int64_t>& shape);
  // HR logits (1, K, out_h, out_w) float32, contiguous.
  torch::Tensor forward(const SampleOptions& options, OutputSize size);
  // Logits -> class map (+ overlay): fused on the GPU, row-parallel on the CPU.
  void classes_gpu(const torch::Tensor& logits, const Frame& f, std::uint8_t* map, const OverlayTarget* overlay);
  void classes_cpu(const torch::Tensor& logits, const Frame& f, std::uint8_t* map, const OverlayTarget* overlay);

  std::string path;
  torch::Device device;
  Model model;
  std::mutex mutex;  // one inference at a time on the shared model
  // Resolved once at open(): segment() reads no environment.
  int default_threads = 1;  // $OMP_NUM_THREADS, else one per core
  bool cuda_graphs = true;
  // Reused while the frame size stays (no per-frame full-size allocations):
  torch::Tensor input;  // (1, 3, h, w) float, v/255, on the model's device
  // CUDA path: pinned host staging and device buffers.
  torch::Tensor host_in, dev_in, host_out, dev_out, host_classes, dev_classes, dev_palette;
  GraphRunner graph;  // CUDA: the frame path as one captured graph
  // The bridge noise: every call draws it from a fresh generator seeded with
  // the seed, so for one seed, NFE and size it is the same every frame. Drawn
  // once (on the CPU, as Bridge::sample would) and kept on the device.
  std::vector<torch::Tensor> noise;
  std::uint64_t noise_seed = 0;
  int noise_nfe = -1;
  std::vector<int64_t> noise_shape;
  // segment_batch(): the frames' RGB planes (N, 3, h, w) and, per stochastic
  // step, the frames' own draws stacked; kept while the seeds stay.
  void upload_batch(const std::vector<Frame>& frames);
  SampleOptions batch_options(const SegmentParams& params, const std::vector<std::uint64_t>& seeds, int height,
                              int width);
  torch::Tensor batch_input;
  std::vector<torch::Tensor> batch_noise;
  std::vector<std::uint64_t> batch_seeds;
  int batch_nfe = -1;
  std::vector<int64_t> batch_shape;
};

namespace {

// Loaded models by "<canonical path>|<device>|<precision>[|graphs]". Weak: the model goes when
// its last user does; the next open loads it again.
std::mutex cache_mutex;
std::map<std::string, std::weak_ptr<Segmenter>>& cache() {
  static std::map<std::string, std::weak_ptr<Segmenter>> c;
  return c;
}

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

}  // namespace

Segmenter::Segmenter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Segmenter::~Segmenter() = default;

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
  // cuDNN runs v2's conv + SiLU layers faster in NHWC (docs/design.md §4).
  if (dev.is_cuda() && model.family() == ModelFamily::kV2) model.set_channels_last(true);
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
std::string Segmenter::device() const { return impl_->device.str(); }
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
  // Checked every frame: ask the system once.
  static const double have =
      static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
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

namespace {

// (Re)allocates `t` only when its shape changes.
void ensure(torch::Tensor& t, at::IntArrayRef shape, const torch::TensorOptions& opts) {
  if (!t.defined() || t.sizes() != shape) t = torch::empty(shape, opts);
}

void check_cuda(const std::string& err, const char* what) {
  if (!err.empty()) throw Error(std::string(what) + ": " + err);
}

// The overlay of a w x h class map over frame `f`, row by row on this thread.
void paint_overlay(const std::uint8_t* class_map, int w, int h, const Frame& f, const OverlayTarget& target,
                   const std::vector<ClassInfo>& classes) {
  const frame_ops::OverlayPainter painter(w, h, f.width, f.height, f.layout, target.upscale, target.alpha, classes);
  for (int y = 0; y < h; ++y)
    painter.row(y, class_map + static_cast<std::size_t>(y) * w, f.pixels, f.stride,
                target.pixels + static_cast<std::size_t>(y) * target.stride);
}

}  // namespace

void Segmenter::Impl::upload(const Frame& f) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  ensure(input, {1, 3, f.height, f.width}, f32);
  if (!device.is_cuda()) {
    frame_ops::packed_to_rgb01(f.pixels, f.width, f.height, f.stride, f.layout, input.data_ptr<float>());
    return;
  }
  if (!cuda::compiled()) throw Error("this build of i2sbseg has no CUDA kernels (built without nvcc)");
  const std::size_t bytes = static_cast<std::size_t>(f.stride) * (f.height - 1) + f.width * f.layout.bytes_per_pixel;
  const auto u8 = torch::TensorOptions().dtype(torch::kUInt8);
  ensure(host_in, {static_cast<int64_t>(bytes)}, u8.pinned_memory(true));
  ensure(dev_in, {static_cast<int64_t>(bytes)}, u8.device(device));
  std::memcpy(host_in.data_ptr<std::uint8_t>(), f.pixels, bytes);
  dev_in.copy_(host_in, /*non_blocking=*/true);
  const float mean[3] = {0, 0, 0}, unit[3] = {1, 1, 1};
  check_cuda(cuda::packed_to_planes(dev_in.data_ptr<std::uint8_t>(), f.width, f.height, f.stride, f.layout, mean,
                                    unit, input.data_ptr<float>()),
             "CUDA input conversion");
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
    noise = seed_noise(params.seed, options.nfe, shape);
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

torch::Tensor Segmenter::Impl::forward(const SampleOptions& options, OutputSize size) {
  // On a GPU replayed as a CUDA graph when the options allow (same numbers,
  // fewer launches).
  const bool use_graph = device.is_cuda() && GraphRunner::compiled() && cuda_graphs;
  torch::Tensor logits = use_graph ? graph.run(model, input, options) : model.segment_lr(input, options);
  const int s = model.config().scale_factor;
  if (size == OutputSize::kInput && s > 1) logits = torch::avg_pool2d(logits, {s, s});
  return logits.contiguous();
}

void Segmenter::Impl::classes_gpu(const torch::Tensor& logits, const Frame& f, std::uint8_t* map,
                                  const OverlayTarget* overlay) {
  const int k = static_cast<int>(logits.size(1)), out_h = static_cast<int>(logits.size(2)),
            out_w = static_cast<int>(logits.size(3)), bpp = f.layout.bytes_per_pixel;
  const auto plane = static_cast<int64_t>(out_w) * out_h;
  // Fused argmax (+ nearest upscale and blend) at output size; bilinear
  // overlays are drawn on the CPU from the class map.
  const bool draw = overlay && (overlay->upscale == Upscale::kNearest || (out_w == f.width && out_h == f.height));
  const auto u8 = torch::TensorOptions().dtype(torch::kUInt8);
  ensure(dev_classes, {plane}, u8.device(device));
  ensure(host_classes, {plane}, u8.pinned_memory(true));
  cuda::OverlayArgs args;
  if (draw) {
    if (!dev_palette.defined()) dev_palette = torch::tensor(frame_ops::palette(model.config().classes), u8).to(device);
    ensure(dev_out, {plane * bpp}, u8.device(device));
    ensure(host_out, {plane * bpp}, u8.pinned_memory(true));
    args = {dev_palette.data_ptr<std::uint8_t>(), frame_ops::alpha256(overlay->alpha), dev_in.data_ptr<std::uint8_t>(),
            f.width, f.height, f.stride, dev_out.data_ptr<std::uint8_t>(), out_w * bpp, f.layout};
  }
  check_cuda(cuda::argmax_overlay(logits.data_ptr<float>(), k, out_w, out_h, dev_classes.data_ptr<std::uint8_t>(),
                                  draw ? &args : nullptr),
             "CUDA argmax/overlay");
  host_classes.copy_(dev_classes, /*non_blocking=*/true);
  if (draw) host_out.copy_(dev_out, /*non_blocking=*/true);
  torch::cuda::synchronize(device.index());
  std::memcpy(map, host_classes.data_ptr<std::uint8_t>(), static_cast<std::size_t>(plane));
  if (draw) {
    const std::uint8_t* src = host_out.data_ptr<std::uint8_t>();
    const std::size_t row = static_cast<std::size_t>(out_w) * bpp;
    for (int y = 0; y < out_h; ++y)
      std::memcpy(overlay->pixels + static_cast<std::size_t>(y) * overlay->stride, src + y * row, row);
  } else if (overlay) {
    paint_overlay(map, out_w, out_h, f, *overlay, model.config().classes);
  }
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
  check_layout(layout);
  check_frame(width, height, stride_bytes, layout);
  check_frame_size(width, height);
  const Frame frame{pixels, width, height, stride_bytes, layout};

  std::lock_guard<std::mutex> lock(impl_->mutex);
  // OpenMP's team size is per calling thread: a streaming thread that never
  // set it would run single-threaded, so this is checked on every call.
  const int threads = params.threads > 0 ? params.threads : impl_->default_threads;
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  c10::InferenceMode inference;
  Impl& im = *impl_;
  im.upload(frame);
  const torch::Tensor logits = im.forward(im.sample_options(params, height, width), params.output_size);
  out_h = static_cast<int>(logits.size(2));
  out_w = static_cast<int>(logits.size(3));
  class_map_out.resize(static_cast<std::size_t>(out_w) * out_h);
  if (im.device.is_cuda())
    im.classes_gpu(logits, frame, class_map_out.data(), overlay);
  else
    im.classes_cpu(logits, frame, class_map_out.data(), overlay);
}

void Segmenter::Impl::upload_batch(const std::vector<Frame>& frames) {
  const Frame& first = frames.front();
  const auto n = static_cast<int64_t>(frames.size());
  ensure(batch_input, {n, 3, first.height, first.width}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  for (int64_t i = 0; i < n; ++i) {
    if (device.is_cuda()) {  // through upload()'s staging and kernel, one frame at a time
      upload(frames[static_cast<std::size_t>(i)]);
      batch_input[i].copy_(input[0]);
    } else {
      const Frame& f = frames[static_cast<std::size_t>(i)];
      frame_ops::packed_to_rgb01(f.pixels, f.width, f.height, f.stride, f.layout,
                                 batch_input.data_ptr<float>() + i * 3 * f.width * f.height);
    }
  }
}

SampleOptions Segmenter::Impl::batch_options(const SegmentParams& params, const std::vector<std::uint64_t>& seeds,
                                             int height, int width) {
  SampleOptions options;
  std::vector<int64_t> shape;
  if (!noise_options(params, height, width, options, shape)) return options;
  // Each frame's noise as sample_options() draws it for that seed alone, so
  // that a frame gets the same noise batched or not.
  if (batch_seeds != seeds || batch_nfe != options.nfe || batch_shape != shape) {
    std::vector<std::vector<torch::Tensor>> drawn;
    for (const std::uint64_t seed : seeds) drawn.push_back(seed_noise(seed, options.nfe, shape));
    batch_noise.clear();
    for (std::size_t step = 0; step < drawn.front().size(); ++step) {
      std::vector<torch::Tensor> frames_step;
      for (const auto& d : drawn) frames_step.push_back(d[step]);
      batch_noise.push_back(torch::cat(frames_step, 0));
    }
    batch_seeds = seeds;
    batch_nfe = options.nfe;
    batch_shape = shape;
  }
  options.noise = &batch_noise;
  return options;
}

void Segmenter::segment_batch(int width, int height, PixelLayout layout, const SegmentParams& params,
                              const std::vector<BatchFrame>& frames, int& out_w, int& out_h) {
  check_layout(layout);
  output_size(width, height, params.output_size, out_w, out_h);
  if (frames.empty()) return;
  std::vector<Frame> fs;
  std::vector<std::uint64_t> seeds;
  for (const BatchFrame& b : frames) {
    check_frame(width, height, b.stride_bytes, layout);
    if (!b.pixels || !b.class_map_out) throw Error("segment_batch: a frame without pixels or class map");
    fs.push_back({b.pixels, width, height, b.stride_bytes, layout});
    seeds.push_back(b.seed);
  }
  check_frame_size(width, height);
  const double need = frame_memory_bytes(width, height) * static_cast<double>(frames.size());
  static const double have =
      static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (!impl_->device.is_cuda() && have > 0 && need > have)
    throw Error("a batch of " + std::to_string(frames.size()) + " " + std::to_string(width) + "x" +
                std::to_string(height) + " frames needs more memory than this machine has (use a smaller batch)");

  std::lock_guard<std::mutex> lock(impl_->mutex);
  const int threads = params.threads > 0 ? params.threads : impl_->default_threads;
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  c10::InferenceMode inference;
  Impl& im = *impl_;
  im.upload_batch(fs);
  // Eager on a GPU too: a captured graph is for one stream's repeating frame.
  torch::Tensor logits = im.model.segment_lr(im.batch_input, im.batch_options(params, seeds, height, width));
  const int s = scale_factor();
  if (params.output_size == OutputSize::kInput && s > 1) logits = torch::avg_pool2d(logits, {s, s});
  logits = logits.contiguous();
  for (std::size_t i = 0; i < fs.size(); ++i) {
    std::vector<std::uint8_t>& map = *frames[i].class_map_out;
    map.resize(static_cast<std::size_t>(out_w) * out_h);
    const torch::Tensor one = logits.narrow(0, static_cast<int64_t>(i), 1);
    if (im.device.is_cuda()) {
      if (frames[i].overlay) im.upload(fs[i]);  // the fused overlay reads the frame's bytes on the device
      im.classes_gpu(one, fs[i], map.data(), frames[i].overlay);
    } else {
      im.classes_cpu(one, fs[i], map.data(), frames[i].overlay);
    }
  }
}

void Segmenter::draw_overlay(const std::uint8_t* class_map, int w, int h, const std::uint8_t* src, int src_w,
                             int src_h, int src_stride, PixelLayout layout, float alpha, std::uint8_t* dst,
                             int dst_stride, Upscale upscale) const {
  check_layout(layout);
  if (w < 1 || h < 1 || src_w < 1 || src_h < 1) return;
  paint_overlay(class_map, w, h, {src, src_w, src_h, src_stride, layout}, {dst, dst_stride, alpha, upscale}, classes());
}

}  // namespace i2sbseg
