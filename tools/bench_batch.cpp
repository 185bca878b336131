// SPDX-License-Identifier: MIT
#include "bench_batch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#ifdef I2SBSEG_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include <i2sbseg/error.h>
#include <i2sbseg/segmenter.h>

#include "blob_frame.h"

namespace i2sbseg::tools {
namespace {

using Bytes = std::vector<std::uint8_t>;

// `count` frames of w x h RGB: the folder's images (sorted, resized), or blobs.
std::vector<Bytes> load_frames(const BatchBenchOptions& o, int count) {
  std::vector<Bytes> frames;
#ifdef I2SBSEG_HAVE_OPENCV
  if (!o.images.empty()) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(o.images)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (static_cast<int>(frames.size()) == count) break;
      cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR), rgb;
      if (bgr.empty()) continue;
      cv::resize(bgr, bgr, {o.lr_width, o.lr_height}, 0, 0, cv::INTER_AREA);
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      frames.emplace_back(rgb.data, rgb.data + rgb.total() * 3);
    }
    if (static_cast<int>(frames.size()) < count) throw Error(o.images + ": fewer readable images than needed");
  }
#else
  if (!o.images.empty()) throw Error("--batch-images needs a build with OpenCV");
#endif
  for (int i = static_cast<int>(frames.size()); i < count; ++i)
    frames.push_back(blob_frame(o.lr_width, o.lr_height, 50 + i));
  return frames;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int run_batch_bench(const BatchBenchOptions& o) {
  auto seg = Segmenter::open(o.model, {o.device, Precision::kAuto});
  const int n = o.streams, rounds = o.warmup + o.rounds;
  const std::vector<Bytes> frames = load_frames(o, n * rounds);
  SegmentParams params;
  params.nfe = o.nfe;
  params.threads = o.threads;
  const PixelLayout rgb{3, 0, 1, 2};
  double single_s = 0, batch_s = 0;
  std::size_t differ = 0, total = 0, frames_differ = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Bytes> single(n), batched(n);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      SegmentParams p = params;
      p.seed = 1000 + i;  // stream i's seed
      int w = 0, h = 0;
      seg->segment(frames[r * n + i].data(), o.lr_width, o.lr_height, o.lr_width * 3, rgb, p, single[i], w, h);
    }
    if (r >= o.warmup) single_s += seconds_since(t0);
    std::vector<BatchFrame> items;
    for (int i = 0; i < n; ++i) items.push_back({frames[r * n + i].data(), o.lr_width * 3, 1000u + i, &batched[i]});
    t0 = std::chrono::steady_clock::now();
    int w = 0, h = 0;
    seg->segment_batch(o.lr_width, o.lr_height, rgb, params, items, w, h);
    if (r >= o.warmup) batch_s += seconds_since(t0);
    for (int i = 0; i < n; ++i) {
      std::size_t d = 0;
      for (std::size_t j = 0; j < single[i].size(); ++j) d += single[i][j] != batched[i][j];
      differ += d, total += single[i].size(), frames_differ += d > 0;
    }
  }
  const double frames_timed = static_cast<double>(n) * o.rounds;
  std::printf("model %s on %s (%s), %d streams of %dx%d, %d timed rounds (+%d warm-up)\n", o.model.c_str(),
              seg->device().name().c_str(), precision_name(seg->precision()), n, o.lr_width, o.lr_height, o.rounds, o.warmup);
  std::printf("unbatched (segment x%d): %8.3f frames/s\n", n, frames_timed / single_s);
  std::printf("batched (segment_batch): %8.3f frames/s\n", frames_timed / batch_s);
  std::printf("batched / unbatched:     %8.3f\n", single_s / batch_s);
  std::printf("class-map pixels that differ: %zu of %zu (%zu of %d frames)\n", differ, total, frames_differ,
              n * rounds);
  return 0;
}

}  // namespace i2sbseg::tools
