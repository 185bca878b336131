// SPDX-License-Identifier: MIT
// One Segmenter (one loaded model) used by four threads at once, each with
// its own frames, sizes, steps, seeds and output modes, 500 frames each:
// every class map and overlay equals the single-threaded result. Built
// with ThreadSanitizer (scripts/sanitize.sh thread) it is the library's
// data-race check; it involves no GLib or GStreamer code, so it runs with
// no suppressions at all.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include <torch/torch.h>

#include <i2sbseg/model.h>
#include <i2sbseg/segmenter.h>

#include "../common/fnv1a.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::fnv1a;
using i2sbseg::testing::TempDir;

namespace {

constexpr int kFrames = 500;

struct Job {
  int w, h;
  SegmentParams params;
  bool overlay;
};

// FNV-1a over the class map and (if drawn) the overlay of every frame.
std::vector<std::uint64_t> run(Segmenter& seg, const Job& job, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> px(static_cast<size_t>(job.w) * job.h * 3), map;
  std::vector<std::uint8_t> drawn(static_cast<size_t>(job.w) * job.h * 3 * seg.scale_factor() * seg.scale_factor());
  std::vector<std::uint64_t> hashes;
  for (int f = 0; f < kFrames; ++f) {
    for (auto& v : px) v = static_cast<std::uint8_t>(rng());
    int mw = 0, mh = 0;
    const OverlayTarget target{drawn.data(), job.w * 3 * seg.scale_factor(), 0.5f, Upscale::kNearest};
    seg.segment(px.data(), job.w, job.h, job.w * 3, {3, 0, 1, 2}, job.params, map, mw, mh,
                job.overlay ? &target : nullptr);
    std::uint64_t h = fnv1a(map.data(), map.size());
    if (job.overlay) h = fnv1a(drawn.data(), drawn.size(), h);
    hashes.push_back(h);
  }
  return hashes;
}

}  // namespace

TEST(Concurrency, FourThreadsSharingOneSegmenterMatchSerialRuns) {
  TempDir dir;
  ModelConfig c = ModelConfig::make_default(3);
  c.classifier.widths = {4, 8};
  c.classifier.latent_channels = 2;
  c.latent_mean.assign(2, 0.0f);
  c.latent_std.assign(2, 1.0f);
  c.bridge = BridgeArch{4, 1, 4};
  c.scale_factor = 2;
  c.schedule.steps = 50;
  torch::manual_seed(5);
  Model m(c);
  {
    torch::NoGradGuard g;
    for (auto& [name, t] : m.named_tensors()) t.add_(torch::randn_like(t) * 0.5);
  }
  save_model(m, dir.file("m.i2sb"));
  auto seg = Segmenter::open(dir.file("m.i2sb"), {"cpu"});

  std::vector<Job> jobs(4);
  jobs[0] = {6, 4, {}, false};
  jobs[1] = {5, 3, {}, true};
  jobs[1].params.seed = 9;
  jobs[2] = {4, 4, {}, false};
  jobs[2].params.nfe = 4;
  jobs[2].params.ot_ode = true;
  jobs[3] = {3, 5, {}, true};
  jobs[3].params.output_size = OutputSize::kInput;
  jobs[3].params.nfe = 1;

  std::vector<std::vector<std::uint64_t>> serial, parallel(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) serial.push_back(run(*seg, jobs[i], static_cast<unsigned>(i)));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs.size(); ++i)
    threads.emplace_back([&, i] { parallel[i] = run(*seg, jobs[i], static_cast<unsigned>(i)); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(parallel[i], serial[i]) << "job " << i;
  EXPECT_NE(serial[0], serial[2]);
}
