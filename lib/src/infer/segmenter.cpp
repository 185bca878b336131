// SPDX-License-Identifier: MIT
// The only LibTorch user behind segmenter.h: callers (the element, its
// plugin) compile without LibTorch headers.
#include <i2sbseg/segmenter.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

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

struct Segmenter::Impl {
  Impl(std::string p, torch::Device d, Model m) : path(std::move(p)), device(d), model(std::move(m)) {}

  std::string path;
  torch::Device device;
  Model model;
  std::mutex mutex;  // one inference at a time on the shared model
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
};

namespace {

// Loaded models by "<canonical path>|<device>". Weak: the model goes when
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

}  // namespace

Segmenter::Segmenter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Segmenter::~Segmenter() = default;

std::shared_ptr<Segmenter> Segmenter::open(const std::string& model_path, const std::string& device,
                                           bool* auto_fell_back, const std::string& precision) {
  const torch::Device dev = parse_device(device);  // throws naming the device
  const torch::ScalarType dtype = parse_precision(precision, dev);
  if (auto_fell_back) *auto_fell_back = is_auto_cpu_fallback(device, dev);

  // A missing file keeps its given name: load_model reports it.
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::canonical(model_path, ec);
  const std::string key = (ec ? model_path : canonical.string()) + "|" + dev.str() + "|" + precision_name(dtype);

  std::lock_guard<std::mutex> lock(cache_mutex);
  auto& c = cache();
  if (auto it = c.find(key); it != c.end()) {
    if (auto alive = it->second.lock()) return alive;
  }
  Model model = load_model(model_path, dev);  // errors name model_path
  if (model.config().num_classes() > 256)
    throw Error(model_path + ": " + std::to_string(model.config().num_classes()) +
                " classes; at most 256 fit an 8-bit class map");
  model.eval();
  model.set_precision(dtype);  // throws when the device cannot run it
  // Frame sizes repeat: let cuDNN pick its fastest algorithms once per shape.
  if (dev.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  auto impl = std::make_unique<Impl>(ec ? model_path : canonical.string(), dev, std::move(model));
  std::shared_ptr<Segmenter> s(new Segmenter(std::move(impl)));
  c[key] = s;
  // Drop entries of models nobody holds any more.
  for (auto it = c.begin(); it != c.end();) it = it->second.expired() ? c.erase(it) : std::next(it);
  return s;
}

const std::string& Segmenter::model_path() const { return impl_->path; }
std::string Segmenter::device() const { return impl_->device.str(); }
std::string Segmenter::precision() const { return precision_name(impl_->model.precision()); }
const ModelConfig& Segmenter::config() const { return impl_->model.config(); }

void Segmenter::output_size(int width, int height, OutputSize size, int& out_w, int& out_h) const {
  const int s = size == OutputSize::kInput ? 1 : scale_factor();
  out_w = width * s;
  out_h = height * s;
}

double Segmenter::frame_memory_bytes(int width, int height) const {
  const ModelConfig& c = config();
  const double hr_pixels = static_cast<double>(width) * height * c.scale_factor * c.scale_factor;
  // Level 0 runs at the output size: its activation, norm, SiLU, two convs
  // and the residual sum live at once; plus the input and the logits.
  const double floats_per_pixel = 3.0 + 6.0 * c.classifier.widths[0] + 2.0 * c.num_classes();
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

}  // namespace

void Segmenter::segment(const std::uint8_t* pixels, int width, int height, int stride_bytes, PixelLayout layout,
                        const SegmentParams& params, std::vector<std::uint8_t>& class_map_out, int& out_w,
                        int& out_h, const OverlayTarget* overlay) {
  check_layout(layout);
  if (width < 1 || height < 1 || stride_bytes < width * layout.bytes_per_pixel)
    throw Error("frame of " + std::to_string(width) + "x" + std::to_string(height) + " with stride " +
                std::to_string(stride_bytes) + " is not a valid image");

  check_frame_size(width, height);

  std::lock_guard<std::mutex> lock(impl_->mutex);
  const int threads = inference_threads(params.threads);
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  c10::InferenceMode inference;
  Impl& im = *impl_;
  const bool on_gpu = im.device.is_cuda();
  const int bpp = layout.bytes_per_pixel;
  const std::size_t in_bytes = static_cast<std::size_t>(stride_bytes) * (height - 1) + width * bpp;

  // Packed bytes -> RGB planes in [0, 1] on the model's device.
  if (on_gpu) {
    if (!cuda::compiled()) throw Error("this build of i2sbseg has no CUDA kernels (built without nvcc)");
    const auto u8 = torch::TensorOptions().dtype(torch::kUInt8);
    ensure(im.host_in, {static_cast<int64_t>(in_bytes)}, u8.pinned_memory(true));
    ensure(im.dev_in, {static_cast<int64_t>(in_bytes)}, u8.device(im.device));
    ensure(im.input, {1, 3, height, width}, torch::TensorOptions().dtype(torch::kFloat32).device(im.device));
    std::memcpy(im.host_in.data_ptr<std::uint8_t>(), pixels, in_bytes);
    im.dev_in.copy_(im.host_in, /*non_blocking=*/true);
    const float mean[3] = {0, 0, 0}, unit[3] = {1, 1, 1};
    check_cuda(cuda::packed_to_planes(im.dev_in.data_ptr<std::uint8_t>(), width, height, stride_bytes, layout, mean,
                                      unit, im.input.data_ptr<float>()),
               "CUDA input conversion");
  } else {
    ensure(im.input, {1, 3, height, width}, torch::TensorOptions().dtype(torch::kFloat32));
    frame_ops::packed_to_rgb01(pixels, width, height, stride_bytes, layout, im.input.data_ptr<float>());
  }

  // The same seed gives the same noise (drawn once per seed, NFE and size).
  SampleOptions options;
  options.nfe = params.nfe;
  options.ot_ode = params.ot_ode;
  const int s = im.model.config().scale_factor;
  if (im.model.has_bridge() && !params.ot_ode) {
    const int nfe = im.model.resolve_nfe(params.nfe);
    const std::vector<int64_t> shape = im.model.latent_shape(1, int64_t{height} * s, int64_t{width} * s);
    if (im.noise_seed != params.seed || im.noise_nfe != nfe || im.noise_shape != shape) {
      at::Generator gen = make_generator(params.seed);
      im.noise = im.model.bridge().draw_noise(torch::empty(shape, torch::TensorOptions().device(im.device)), nfe, &gen);
      im.noise_seed = params.seed;
      im.noise_nfe = nfe;
      im.noise_shape = shape;
    }
    options.noise = &im.noise;
  }
  // (1, K, s*h, s*w) float32; on a GPU replayed as a CUDA graph unless
  // I2SBSEG_CUDA_GRAPHS=0 (same numbers, fewer launches).
  const char* graphs_env = std::getenv("I2SBSEG_CUDA_GRAPHS");
  const bool use_graph = on_gpu && GraphRunner::compiled() && !(graphs_env && std::string(graphs_env) == "0");
  torch::Tensor logits =
      use_graph ? im.graph.run(im.model, im.input, options) : im.model.segment_lr(im.input, options);

  if (params.output_size == OutputSize::kInput && s > 1) logits = torch::avg_pool2d(logits, {s, s});
  logits = logits.contiguous();
  const int k = static_cast<int>(logits.size(1));
  out_h = static_cast<int>(logits.size(2));
  out_w = static_cast<int>(logits.size(3));
  const std::size_t plane = static_cast<std::size_t>(out_w) * out_h;
  class_map_out.resize(plane);

  if (on_gpu) {
    // Fused argmax (+ nearest upscale and blend) at output size on the GPU;
    // bilinear overlays are drawn on the CPU from the class map.
    const bool draw = overlay && (overlay->upscale == Upscale::kNearest || (out_w == width && out_h == height));
    const auto u8 = torch::TensorOptions().dtype(torch::kUInt8);
    ensure(im.dev_classes, {static_cast<int64_t>(plane)}, u8.device(im.device));
    ensure(im.host_classes, {static_cast<int64_t>(plane)}, u8.pinned_memory(true));
    cuda::OverlayArgs args;
    if (draw) {
      if (!im.dev_palette.defined())
        im.dev_palette = torch::tensor(frame_ops::palette(classes()), u8).to(im.device);
      const auto out_bytes = static_cast<int64_t>(plane) * bpp;
      ensure(im.dev_out, {out_bytes}, u8.device(im.device));
      ensure(im.host_out, {out_bytes}, u8.pinned_memory(true));
      args.palette_rgb = im.dev_palette.data_ptr<std::uint8_t>();
      args.alpha256 = frame_ops::alpha256(overlay->alpha);
      args.src = im.dev_in.data_ptr<std::uint8_t>();
      args.src_w = width;
      args.src_h = height;
      args.src_stride = stride_bytes;
      args.dst = im.dev_out.data_ptr<std::uint8_t>();
      args.dst_stride = out_w * bpp;
      args.layout = layout;
    }
    check_cuda(cuda::argmax_overlay(logits.data_ptr<float>(), k, out_w, out_h, im.dev_classes.data_ptr<std::uint8_t>(),
                                    draw ? &args : nullptr),
               "CUDA argmax/overlay");
    im.host_classes.copy_(im.dev_classes, /*non_blocking=*/true);
    if (draw) im.host_out.copy_(im.dev_out, /*non_blocking=*/true);
    torch::cuda::synchronize(im.device.index());
    std::memcpy(class_map_out.data(), im.host_classes.data_ptr<std::uint8_t>(), plane);
    if (draw) {
      const std::uint8_t* src = im.host_out.data_ptr<std::uint8_t>();
      for (int y = 0; y < out_h; ++y)
        std::memcpy(overlay->pixels + static_cast<std::size_t>(y) * overlay->stride,
                    src + static_cast<std::size_t>(y) * out_w * bpp, static_cast<std::size_t>(out_w) * bpp);
    } else if (overlay) {
      draw_overlay(class_map_out.data(), out_w, out_h, pixels, width, height, stride_bytes, layout, overlay->alpha,
                   overlay->pixels, overlay->stride, overlay->upscale);
    }
    return;
  }

  // CPU: argmax, palette and blend fused row by row, rows spread over the
  // threads; the logits are read once and no output-size float buffer is made.
  const float* lp = logits.data_ptr<float>();
  std::uint8_t* map = class_map_out.data();
  std::unique_ptr<frame_ops::OverlayPainter> painter;
  if (overlay)
    painter = std::make_unique<frame_ops::OverlayPainter>(out_w, out_h, width, height, layout, overlay->upscale,
                                                          overlay->alpha, classes());
  at::parallel_for(0, out_h, 8, [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      std::uint8_t* mrow = map + y * out_w;
      frame_ops::argmax_row(lp, k, plane, static_cast<std::size_t>(y) * out_w, out_w, mrow);
      if (painter)
        painter->row(static_cast<int>(y), mrow, pixels, stride_bytes,
                     overlay->pixels + static_cast<std::size_t>(y) * overlay->stride);
    }
  });
}

void Segmenter::draw_overlay(const std::uint8_t* class_map, int w, int h, const std::uint8_t* src, int src_w,
                             int src_h, int src_stride, PixelLayout layout, float alpha, std::uint8_t* dst,
                             int dst_stride, Upscale upscale) const {
  check_layout(layout);
  if (w < 1 || h < 1 || src_w < 1 || src_h < 1) return;
  const frame_ops::OverlayPainter painter(w, h, src_w, src_h, layout, upscale, alpha, classes());
  for (int y = 0; y < h; ++y)
    painter.row(y, class_map + static_cast<std::size_t>(y) * w, src, src_stride,
                dst + static_cast<std::size_t>(y) * dst_stride);
}

}  // namespace i2sbseg
