// The only LibTorch user behind segmenter.h: callers (the element, its
// plugin) compile without LibTorch headers.
#include <i2sbseg/segmenter.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <torch/types.h>
#include <torch/utils.h>
#include <ATen/Parallel.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

namespace i2sbseg {

struct Segmenter::Impl {
  Impl(std::string p, torch::Device d, Model m) : path(std::move(p)), device(d), model(std::move(m)) {}

  std::string path;
  torch::Device device;
  Model model;
  std::mutex mutex;    // one inference at a time on the shared model
  torch::Tensor input;  // (1, 3, h, w) float on the CPU, reused while the size stays
};

namespace {

// Loaded models by "<canonical path>|<device>". Weak: the model goes when
// its last user does; the next open loads it again.
std::mutex cache_mutex;
std::map<std::string, std::weak_ptr<Segmenter>>& cache() {
  static std::map<std::string, std::weak_ptr<Segmenter>> c;
  return c;
}

// Bilinear sampling positions along one axis: for each destination index
// the two source indices and the second one's weight in 1/256.
struct Taps {
  std::vector<int> i0, i1, w1;
};
Taps bilinear_taps(int dst, int src) {
  Taps t;
  t.i0.resize(dst);
  t.i1.resize(dst);
  t.w1.resize(dst);
  for (int d = 0; d < dst; ++d) {
    const double f = std::clamp((d + 0.5) * src / dst - 0.5, 0.0, static_cast<double>(src - 1));
    const int i = static_cast<int>(f);
    t.i0[d] = i;
    t.i1[d] = std::min(i + 1, src - 1);
    t.w1[d] = static_cast<int>(std::lround((f - i) * 256.0));
  }
  return t;
}

// $OMP_NUM_THREADS when set (tests and users cap it there), else one per core.
int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
                                           bool* auto_fell_back) {
  const torch::Device dev = parse_device(device);  // throws naming the device
  if (auto_fell_back) *auto_fell_back = is_auto_cpu_fallback(device, dev);

  // A missing file keeps its given name: load_model reports it.
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::canonical(model_path, ec);
  const std::string key = (ec ? model_path : canonical.string()) + "|" + dev.str();

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
  auto impl = std::make_unique<Impl>(ec ? model_path : canonical.string(), dev, std::move(model));
  std::shared_ptr<Segmenter> s(new Segmenter(std::move(impl)));
  c[key] = s;
  // Drop entries of models nobody holds any more.
  for (auto it = c.begin(); it != c.end();) it = it->second.expired() ? c.erase(it) : std::next(it);
  return s;
}

const std::string& Segmenter::model_path() const { return impl_->path; }
std::string Segmenter::device() const { return impl_->device.str(); }
const ModelConfig& Segmenter::config() const { return impl_->model.config(); }

void Segmenter::segment(const std::uint8_t* pixels, int width, int height, int stride_bytes, PixelLayout layout,
                        const SegmentParams& params, std::vector<std::uint8_t>& class_map_out, int& out_w,
                        int& out_h) {
  check_layout(layout);
  if (width < 1 || height < 1 || stride_bytes < width * layout.bytes_per_pixel)
    throw Error("frame of " + std::to_string(width) + "x" + std::to_string(height) + " with stride " +
                std::to_string(stride_bytes) + " is not a valid image");

  std::lock_guard<std::mutex> lock(impl_->mutex);
  const int threads = params.threads > 0 ? params.threads : default_threads();
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  torch::NoGradGuard no_grad;
  Impl& im = *impl_;

  if (!im.input.defined() || im.input.size(2) != height || im.input.size(3) != width)
    im.input = torch::empty({1, 3, height, width}, torch::kFloat32);
  // Packed bytes -> RGB planes in [0, 1].
  float* planes = im.input.data_ptr<float>();
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  const int bpp = layout.bytes_per_pixel;
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* row = pixels + static_cast<std::size_t>(y) * stride_bytes;
    float* r = planes + static_cast<std::size_t>(y) * width;
    float* g = r + plane;
    float* b = g + plane;
    for (int x = 0; x < width; ++x, row += bpp) {
      r[x] = row[layout.r] * (1.0f / 255.0f);
      g[x] = row[layout.g] * (1.0f / 255.0f);
      b[x] = row[layout.b] * (1.0f / 255.0f);
    }
  }

  // A fresh generator per call: the same seed gives the same noise.
  at::Generator gen = make_generator(params.seed);
  SampleOptions options;
  options.nfe = params.nfe;
  options.ot_ode = params.ot_ode;
  options.generator = &gen;
  torch::Tensor logits = im.model.segment_lr(im.input, options);  // (1, K, s*h, s*w)

  const int s = im.model.config().scale_factor;
  if (params.output_size == OutputSize::kInput && s > 1) logits = torch::avg_pool2d(logits, {s, s});
  const torch::Tensor classes = logits.argmax(1).to(torch::kUInt8).to(torch::kCPU).contiguous();
  out_h = static_cast<int>(classes.size(1));
  out_w = static_cast<int>(classes.size(2));
  class_map_out.resize(static_cast<std::size_t>(out_w) * out_h);
  std::memcpy(class_map_out.data(), classes.data_ptr<std::uint8_t>(), class_map_out.size());
}

void Segmenter::draw_overlay(const std::uint8_t* class_map, int w, int h, const std::uint8_t* src, int src_w,
                             int src_h, int src_stride, PixelLayout layout, float alpha, std::uint8_t* dst,
                             int dst_stride, Upscale upscale) const {
  check_layout(layout);
  if (w < 1 || h < 1 || src_w < 1 || src_h < 1) return;
  const int bpp = layout.bytes_per_pixel;
  // Fixed point with weights summing to 256: alpha 0 copies exactly.
  const int a = std::clamp(static_cast<int>(std::lround(alpha * 256.0f)), 0, 256);
  const auto& classes = config().classes;
  const int k = static_cast<int>(classes.size());

  const bool bilinear = upscale == Upscale::kBilinear && (w != src_w || h != src_h);
  std::vector<int> src_x(w);
  for (int x = 0; x < w; ++x) src_x[x] = static_cast<int>(static_cast<std::int64_t>(x) * src_w / w) * bpp;
  Taps tx, ty;
  if (bilinear) {
    tx = bilinear_taps(w, src_w);
    ty = bilinear_taps(h, src_h);
  }

  for (int y = 0; y < h; ++y) {
    const std::uint8_t* mrow = class_map + static_cast<std::size_t>(y) * w;
    std::uint8_t* drow = dst + static_cast<std::size_t>(y) * dst_stride;
    if (bilinear) {
      const std::uint8_t* r0 = src + static_cast<std::size_t>(ty.i0[y]) * src_stride;
      const std::uint8_t* r1 = src + static_cast<std::size_t>(ty.i1[y]) * src_stride;
      const int wy = ty.w1[y];
      for (int x = 0; x < w; ++x) {
        const int x0 = tx.i0[x] * bpp, x1 = tx.i1[x] * bpp, wx = tx.w1[x];
        std::uint8_t* dp = drow + static_cast<std::size_t>(x) * bpp;
        for (int ch = 0; ch < bpp; ++ch) {
          const int top = r0[x0 + ch] * (256 - wx) + r0[x1 + ch] * wx;
          const int bottom = r1[x0 + ch] * (256 - wx) + r1[x1 + ch] * wx;
          dp[ch] = static_cast<std::uint8_t>((top * (256 - wy) + bottom * wy + 32768) >> 16);
        }
      }
    } else {
      const int sy = static_cast<int>(static_cast<std::int64_t>(y) * src_h / h);
      const std::uint8_t* srow = src + static_cast<std::size_t>(sy) * src_stride;
      for (int x = 0; x < w; ++x) std::memcpy(drow + static_cast<std::size_t>(x) * bpp, srow + src_x[x], bpp);
    }
    if (a == 0) continue;
    for (int x = 0; x < w; ++x) {
      const int c = mrow[x];
      if (c >= k) continue;
      const auto& col = classes[c].color;  // RGB
      std::uint8_t* dp = drow + static_cast<std::size_t>(x) * bpp;
      dp[layout.r] = static_cast<std::uint8_t>((dp[layout.r] * (256 - a) + col[0] * a + 128) >> 8);
      dp[layout.g] = static_cast<std::uint8_t>((dp[layout.g] * (256 - a) + col[1] * a + 128) >> 8);
      dp[layout.b] = static_cast<std::uint8_t>((dp[layout.b] * (256 - a) + col[2] * a + 128) >> 8);
    }
  }
}

}  // namespace i2sbseg
