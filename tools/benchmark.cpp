// SPDX-License-Identifier: MIT
#include "benchmark.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <i2sbseg/cpu_block_cache.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>
#include <i2sbseg/networks.h>
#include <i2sbseg/segmenter.h>

namespace i2sbseg {
namespace {

// Median wall time of `frames` runs after `warmup` untimed ones; GPU work is
// waited for inside each timed run.
double median_ms(const BenchOptions& o, const torch::Device& device, const std::function<void()>& run) {
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  for (int i = 0; i < o.warmup; ++i) run();
  sync();
  std::vector<double> ms;
  for (int i = 0; i < o.frames; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    sync();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // kilobytes on Linux
}

void bench_input_size(int scale, int width, int height, int& lr_width, int& lr_height) {
  if (scale < 1 || width % scale != 0 || height % scale != 0)
    throw Error("bench: size " + std::to_string(width) + "x" + std::to_string(height) +
                " is not a multiple of the model's x" + std::to_string(scale) + " scale factor");
  lr_width = width / scale;
  lr_height = height / scale;
}

namespace {

// What the original I2SB does: the bridge walks in pixel space at HR size
// (same network width and depth, 3 channels), then the classifier runs on
// the restored image. Weights are random: only the time matters.
void time_pixel_bridge(const BenchOptions& o, Model& model, const torch::Tensor& lr, BenchReport& r) {
  const torch::Device device = model.device();
  const torch::ScalarType dtype = model.precision();
  BridgeNet pixel_net = make_bridge_net(3, *model.config().bridge);
  const Bridge& bridge = model.bridge();
  pixel_net->eval();
  // Folded as the latent bridge is (Model::fold_for_inference).
  pixel_net->fold(bridge.noise_level(torch::arange(bridge.steps(), torch::TensorOptions().dtype(torch::kLong).device(device))));
  pixel_net->to(device, dtype);
  torch::Tensor sink;  // keeps results alive so no work is skipped
  for (int nfe : o.nfes) {
    r.pixel_ms[nfe] = median_ms(o, device, [&] {
      const torch::Tensor x1 = model.upsample_lr(lr);
      const torch::Tensor cond = pixel_net->condition(x1.to(dtype));
      const torch::Tensor x0 = bridge.sample(
          x1, nfe,
          [&](const torch::Tensor& xt, int step) {
            const torch::Tensor t = torch::full({1}, step, torch::TensorOptions().dtype(torch::kLong).device(device));
            const torch::Tensor out = pixel_net->forward_step(xt.to(dtype), cond, step, bridge.noise_level(t));
            return bridge.pred_x0(t, xt, out.to(torch::kFloat32));
          },
          false);
      sink = model.classify(x0.clamp(0.0, 1.0));
    });
  }
}

// The element's per-frame work without GStreamer: packed bytes in, class
// map and overlay pixels out, through a Segmenter opened as the element would.
void time_frames(const BenchOptions& o, bool has_bridge, const torch::Tensor& lr, BenchReport& r) {
  auto seg = Segmenter::open(o.model, {o.device, o.precision, o.cudnn_benchmark, o.cuda_graphs});
  const torch::Tensor bytes = (lr.to(torch::kCPU) * 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
  const PixelLayout rgb{3, 0, 1, 2};
  std::vector<std::uint8_t> map, out(static_cast<size_t>(r.width) * r.height * 3);
  SegmentParams p;
  p.threads = r.threads;
  OverlayTarget overlay{out.data(), r.width * 3, 0.5f, Upscale::kNearest};
  int mw = 0, mh = 0;
  for (int nfe : o.nfes) {
    if (!has_bridge && nfe != o.nfes.front()) continue;
    p.nfe = has_bridge ? nfe : 0;
    r.frame_ms[nfe] = median_ms(o, torch::kCPU, [&] {
      seg->segment(bytes.data_ptr<std::uint8_t>(), r.lr_width, r.lr_height, r.lr_width * 3, rgb, p, map, mw, mh,
                   &overlay);
    });
  }
}

}  // namespace

BenchReport bench_model(const BenchOptions& o) {
  if (o.frames < 1 || o.warmup < 0) throw Error("bench: --frames must be at least 1");
  const torch::Device device = parse_device(o.device);
  // The tool's own process: the one switch for all timings (as the
  // Segmenter below is asked to).
  if (device.is_cuda() && o.cudnn_benchmark) at::globalContext().setBenchmarkCuDNN(true);
  Model model = load_model(o.model, device);
  model.eval();
  model.fold_for_inference();  // as Segmenter::open does
  model.set_precision(scalar_type(o.precision, device));
  // As Segmenter::open does, unless a memory order is asked for.
  model.set_channels_last(o.channels_last || (model.prefers_channels_last() && !o.contiguous));
  BenchReport r;
  r.width = o.width > 0 ? o.width : 128;
  r.height = o.height > 0 ? o.height : 128;
  bench_input_size(model.config().scale_factor, r.width, r.height, r.lr_width, r.lr_height);
  r.device = device.str();
  r.precision = precision_of(model.precision());
  r.threads = inference_threads(o.threads);
  torch::set_num_threads(r.threads);
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  // Every row with the frame path's CPU block cache, so that the ratios
  // compare the networks, not page faults (docs/performance.md).
  const CpuBlockCache::User cache_user;
  const CpuBlockCache::FrameScope cache_scope;

  const torch::Tensor lr = torch::rand({1, 3, r.lr_height, r.lr_width}, torch::TensorOptions().device(device));
  const torch::Tensor hr = model.upsample_lr(lr);
  torch::Tensor sink;  // keeps results alive so no work is skipped
  // v1: the classifier on the LR-up image; v2: the direct path (LR encoder
  // + decoder), what the bridge's steps add to.
  if (model.family() == ModelFamily::kV2)
    r.unet_ms = median_ms(o, device, [&] { sink = model.classify_lr(lr); });
  else
    r.unet_ms = median_ms(o, device, [&] { sink = model.classify(hr); });
  if (model.has_bridge()) {
    for (int nfe : o.nfes) {
      SampleOptions so;
      so.nfe = nfe;
      r.latent_ms[nfe] = median_ms(o, device, [&] { sink = model.segment_lr(lr, so); });
    }
    if (o.pixel) time_pixel_bridge(o, model, lr, r);
  }
  if (o.frame) time_frames(o, model.has_bridge(), lr, r);
  r.peak_rss_mb = peak_rss_mb();

  return r;
}

}  // namespace i2sbseg
