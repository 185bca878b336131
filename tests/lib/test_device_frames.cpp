// SPDX-License-Identifier: MIT
// Frames in device memory (SegmentParams::memory = kDevice): a model on the
// CPU refuses them without reading the pointer; on a GPU they give the host
// frames' class maps and overlay bytes without a host->device copy. And
// running out of GPU memory is an Error naming the sizes, after which the
// model still works. The GPU tests skip without a CUDA device.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <i2sbseg/cuda_kernels.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>
#include <i2sbseg/segmenter.h>

#include "../common/small_model.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::randomise;
using i2sbseg::testing::small_config;
using i2sbseg::testing::TempDir;

namespace {

using Bytes = std::vector<std::uint8_t>;

// The small x4 test model, random weights, saved in `dir`.
std::string small_model_file(const TempDir& dir) {
  Model m(small_config());
  randomise(m, 11);
  const std::string path = dir.file("m.i2sb");
  save_model(m, path);
  return path;
}

Bytes random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& v : b) v = static_cast<std::uint8_t>(rng());
  return b;
}

bool gpu_ready() { return torch::cuda::is_available() && cuda::device_available(); }

// `bytes` copied into the GPU's memory; the tensor owns the buffer.
torch::Tensor on_gpu(const Bytes& bytes) {
  return torch::from_blob(const_cast<std::uint8_t*>(bytes.data()), {static_cast<int64_t>(bytes.size())},
                          torch::kUInt8)
      .to(torch::kCUDA);
}

Bytes to_host(const torch::Tensor& t) {
  const torch::Tensor c = t.cpu().contiguous();
  return Bytes(c.data_ptr<std::uint8_t>(), c.data_ptr<std::uint8_t>() + c.numel());
}

std::uint8_t* device_ptr(const torch::Tensor& t) { return t.data_ptr<std::uint8_t>(); }

void expect_refused_naming_cpu(const Error& e) {
  EXPECT_EQ(e.kind(), ErrorKind::kUnsupported) << e.what();
  EXPECT_EQ(e.field(), "memory");
  EXPECT_NE(std::string(e.what()).find("cpu"), std::string::npos) << e.what();
}

}  // namespace

// The pointers are not host memory: touching them would crash the test.
TEST(DeviceFrames, ModelOnTheCpuRefusesThemWithoutReadingThePointer) {
  TempDir dir;
  auto seg = Segmenter::open(small_model_file(dir), {"cpu", Precision::kFp32});
  const auto* bogus = reinterpret_cast<const std::uint8_t*>(0x10);
  const OverlayTarget target{reinterpret_cast<std::uint8_t*>(0x20), 8 * 4 * 3, 0.5f, Upscale::kBilinear};
  const PixelLayout rgb{3, 0, 1, 2};
  SegmentParams p;
  p.memory = FrameMemory::kDevice;
  Bytes map;
  int ow = 0, oh = 0;
  for (const OverlayTarget* t : {static_cast<const OverlayTarget*>(nullptr), &target}) {
    try {
      seg->segment(bogus, 8, 6, 8 * 3, rgb, p, map, ow, oh, t);
      ADD_FAILURE() << "a device frame accepted by a CPU model";
    } catch (const Error& e) {
      expect_refused_naming_cpu(e);
    }
  }
  BatchFrame b;
  b.pixels = bogus;
  b.stride_bytes = 8 * 3;
  b.class_map_out = &map;
  b.overlay = &target;
  try {
    seg->segment_batch(8, 6, rgb, p, {b, b}, ow, oh);
    ADD_FAILURE() << "a batch of device frames accepted by a CPU model";
  } catch (const Error& e) {
    expect_refused_naming_cpu(e);
  }
  EXPECT_TRUE(map.empty());

  // Host frames still run, and a CPU model copies nothing to a device.
  const Bytes frame = random_bytes(8 * 6 * 3, 1);
  seg->segment(frame.data(), 8, 6, 8 * 3, rgb, SegmentParams{}, map, ow, oh);
  EXPECT_EQ(map.size(), static_cast<std::size_t>(ow) * oh);
  seg->segment_batch(8, 6, rgb, SegmentParams{}, {{frame.data(), 8 * 3, 1, &map, nullptr}}, ow, oh);
  EXPECT_EQ(seg->host_input_copies(), 0u);
}

// Host and device frames through one model: the same maps and overlay bytes
// (nearest and bilinear, scaled and input size, padded rows); one copy per
// host frame, none per device frame.
TEST(DeviceFrames, GiveTheHostFramesMapsAndOverlaysWithoutCopies) {
  if (!gpu_ready()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  auto seg = Segmenter::open(small_model_file(dir), {"cuda", Precision::kFp32});
  const int w = 13, h = 7;
  for (const PixelLayout layout : {PixelLayout{3, 0, 1, 2}, PixelLayout{4, 2, 1, 0}})
    for (const int pad : {0, 5}) {
      const int stride = w * layout.bytes_per_pixel + pad;
      const Bytes frame = random_bytes(static_cast<std::size_t>(stride) * h, 2 + pad);
      const torch::Tensor dev_frame = on_gpu(frame);
      for (const OutputSize size : {OutputSize::kScaled, OutputSize::kInput})
        for (const Upscale up : {Upscale::kNearest, Upscale::kBilinear}) {
          SCOPED_TRACE("bpp " + std::to_string(layout.bytes_per_pixel) + " pad " + std::to_string(pad) +
                       " scaled " + std::to_string(size == OutputSize::kScaled) + " bilinear " +
                       std::to_string(up == Upscale::kBilinear));
          SegmentParams p;
          p.output_size = size;
          p.seed = 3;
          int ew = 0, eh = 0, ow = 0, oh = 0;
          seg->output_size(w, h, size, ew, eh);
          const int dst_stride = ew * layout.bytes_per_pixel + 3;
          Bytes host_overlay(static_cast<std::size_t>(dst_stride) * eh, 0), host_map, dev_map, plain_map;
          const torch::Tensor dev_overlay = on_gpu(host_overlay);
          const OverlayTarget host_target{host_overlay.data(), dst_stride, 0.4f, up};
          const OverlayTarget dev_target{device_ptr(dev_overlay), dst_stride, 0.4f, up};

          const std::uint64_t copies = seg->host_input_copies();
          seg->segment(frame.data(), w, h, stride, layout, p, host_map, ow, oh, &host_target);
          EXPECT_EQ(seg->host_input_copies(), copies + 1);
          SegmentParams on_device = p;
          on_device.memory = FrameMemory::kDevice;
          seg->segment(device_ptr(dev_frame), w, h, stride, layout, on_device, dev_map, ow, oh, &dev_target);
          ASSERT_EQ(ow, ew);
          ASSERT_EQ(oh, eh);
          seg->segment(device_ptr(dev_frame), w, h, stride, layout, on_device, plain_map, ow, oh);
          EXPECT_EQ(seg->host_input_copies(), copies + 1) << "a device frame was copied";
          EXPECT_EQ(dev_map, host_map);
          EXPECT_EQ(plain_map, host_map);
          EXPECT_EQ(to_host(dev_overlay), host_overlay);
          EXPECT_EQ(to_host(dev_frame), frame) << "the source frame was written";
        }
    }
}

// segment_batch with device frames: the host batch's maps and overlays.
// Each frame has rows of its own padding (so its own size in memory).
TEST(DeviceFrames, BatchGivesTheHostBatchResults) {
  if (!gpu_ready()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  auto seg = Segmenter::open(small_model_file(dir), {"cuda", Precision::kFp32});
  const int w = 20, h = 12, n = 3;
  const PixelLayout layout{4, 2, 1, 0};
  int ow = 0, oh = 0;
  seg->output_size(w, h, OutputSize::kScaled, ow, oh);
  const int dst_stride = ow * 4;
  std::vector<Bytes> frames, host_maps(n), dev_maps(n), host_overlays(n, Bytes(dst_stride * oh, 0));
  std::vector<torch::Tensor> dev_frames, dev_overlays;
  std::vector<OverlayTarget> host_targets(n), dev_targets(n);
  std::vector<BatchFrame> host_items(n), dev_items(n);
  for (int i = 0; i < n; ++i) {
    const int stride = w * 4 + 8 * i;  // BGRx
    frames.push_back(random_bytes(static_cast<std::size_t>(stride) * h, 20 + i));
    dev_frames.push_back(on_gpu(frames[i]));
    dev_overlays.push_back(on_gpu(host_overlays[i]));
    const Upscale up = i == 1 ? Upscale::kBilinear : Upscale::kNearest;  // frame 1 drawn on the CPU
    host_targets[i] = {host_overlays[i].data(), dst_stride, 0.5f, up};
    dev_targets[i] = {device_ptr(dev_overlays[i]), dst_stride, 0.5f, up};
    const std::uint64_t seed = 7 + 3 * i;
    host_items[i] = {frames[i].data(), stride, seed, &host_maps[i], &host_targets[i]};
    dev_items[i] = {device_ptr(dev_frames[i]), stride, seed, &dev_maps[i], &dev_targets[i]};
  }
  SegmentParams p;
  const std::uint64_t copies = seg->host_input_copies();
  int bw = 0, bh = 0;
  seg->segment_batch(w, h, layout, p, host_items, bw, bh);
  EXPECT_EQ(seg->host_input_copies(), copies + n);
  p.memory = FrameMemory::kDevice;
  seg->segment_batch(w, h, layout, p, dev_items, bw, bh);
  EXPECT_EQ(seg->host_input_copies(), copies + n) << "a device frame was copied";
  EXPECT_EQ(bw, ow);
  EXPECT_EQ(bh, oh);
  for (int i = 0; i < n; ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(dev_maps[i], host_maps[i]);
    EXPECT_EQ(to_host(dev_overlays[i]), host_overlays[i]);
  }
}

// An absurd frame (a 80000x80000 output) cannot fit: the error names the
// sizes and the device, and the next normal frame runs as before.
TEST(DeviceFrames, OutOfGpuMemoryIsAClearErrorAndTheModelStaysUsable) {
  if (!gpu_ready()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  auto seg = Segmenter::open(small_model_file(dir), {"cuda", Precision::kFp32});
  const PixelLayout rgb{3, 0, 1, 2};
  const Bytes small = random_bytes(16 * 12 * 3, 5);
  SegmentParams p;
  p.ot_ode = true;  // no bridge noise: at this size it alone would take minutes to draw
  Bytes before, after, map;
  int ow = 0, oh = 0;
  seg->segment(small.data(), 16, 12, 16 * 3, rgb, p, before, ow, oh);

  const int big = 20000;
  int bw = 0, bh = 0;
  seg->output_size(big, big, OutputSize::kScaled, bw, bh);
  const Bytes huge(static_cast<std::size_t>(big) * big * 3, 128);
  try {
    seg->segment(huge.data(), big, big, big * 3, rgb, p, map, ow, oh);
    ADD_FAILURE() << "a 20000x20000 frame fit on the GPU";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kRuntime);
    EXPECT_NE(what.find("out of GPU memory"), std::string::npos) << what;
    EXPECT_NE(what.find("20000x20000"), std::string::npos) << what;
    EXPECT_NE(what.find(std::to_string(bw) + "x" + std::to_string(bh)), std::string::npos) << what;
    EXPECT_NE(what.find(seg->device().name()), std::string::npos) << what;
  }
  seg->segment(small.data(), 16, 12, 16 * 3, rgb, p, after, ow, oh);
  EXPECT_EQ(after, before);
  // A batch too.
  Bytes batched;
  seg->segment_batch(16, 12, rgb, p, {{small.data(), 16 * 3, 0, &batched, nullptr}}, ow, oh);
  EXPECT_EQ(batched.size(), before.size());
}
