// SPDX-License-Identifier: MIT
// The CPU block cache of the frame path (cpu_block_cache.h): large blocks
// are reused inside a frame scope only, the cache is capped and emptied when
// its last user goes, and frames on reused blocks give the same maps.
#include <gtest/gtest.h>

#include <thread>

#include <torch/torch.h>

#include <i2sbseg/cpu_block_cache.h>
#include <i2sbseg/segmenter.h>

#include "../common/small_model.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;

namespace {
constexpr int64_t kFloats = 1 << 20;  // 4 MB: over kMinBytes and glibc's mmap threshold
}

TEST(CpuBlockCache, ReusesLargeBlocksInsideAScopeOnly) {
  const CpuBlockCache::User user;
  const CpuBlockCache::Stats start = CpuBlockCache::stats();
  void* first = nullptr;
  {
    const CpuBlockCache::FrameScope scope;
    first = torch::empty({kFloats}).data_ptr();
    // Freed into the cache, then handed out again for the same size.
    const torch::Tensor again = torch::empty({kFloats});
    EXPECT_EQ(again.data_ptr(), first);
    EXPECT_GE(CpuBlockCache::stats().live_bytes, start.live_bytes + kFloats * 4);
    EXPECT_EQ(CpuBlockCache::stats().hits, start.hits + 1);
    // Small blocks bypass it.
    const torch::Tensor small = torch::empty({16});
    EXPECT_EQ(CpuBlockCache::stats().misses, start.misses + 1);
  }
  EXPECT_GE(CpuBlockCache::stats().cached_bytes, static_cast<std::size_t>(kFloats * 4));
  // Outside a scope, and on another thread, nothing comes from the cache.
  const CpuBlockCache::Stats before = CpuBlockCache::stats();
  torch::Tensor outside = torch::empty({kFloats});
  std::thread([] { torch::Tensor t = torch::empty({kFloats}); }).join();
  EXPECT_EQ(CpuBlockCache::stats().hits, before.hits);
  EXPECT_EQ(CpuBlockCache::stats().misses, before.misses);
  // The data is the tensor's own: written and read back through reuse.
  {
    const CpuBlockCache::FrameScope scope;
    torch::Tensor a = torch::arange(kFloats, torch::kFloat32);
    EXPECT_EQ(a[kFloats - 1].item<float>(), static_cast<float>(kFloats - 1));
  }
}

TEST(CpuBlockCache, IsCappedAndEmptiedWhenTheLastUserGoes) {
  {
    const CpuBlockCache::User user;
    const CpuBlockCache::FrameScope scope;
    std::vector<torch::Tensor> many;
    // 40 blocks of 16 MB: 640 MB, more than the 512 MB cap.
    for (int i = 0; i < 40; ++i) many.push_back(torch::empty({4 * kFloats}));
    many.clear();
    EXPECT_LE(CpuBlockCache::stats().cached_bytes, CpuBlockCache::kCapBytes);
    EXPECT_GT(CpuBlockCache::stats().cached_bytes, CpuBlockCache::kCapBytes / 2);
  }
  EXPECT_EQ(CpuBlockCache::stats().cached_bytes, 0u) << "no user left: every cached block freed";
  // A tensor from the cache that outlives every user is freed normally.
  torch::Tensor survivor;
  {
    const CpuBlockCache::User user;
    const CpuBlockCache::FrameScope scope;
    survivor = torch::ones({kFloats});
  }
  EXPECT_GE(CpuBlockCache::stats().live_bytes, static_cast<std::size_t>(kFloats * 4));
  const std::size_t live = CpuBlockCache::stats().live_bytes;
  survivor = torch::Tensor();
  EXPECT_EQ(CpuBlockCache::stats().live_bytes, live - kFloats * 4);
  EXPECT_EQ(CpuBlockCache::stats().cached_bytes, 0u);
}

// Frames through a Segmenter (which holds the cache): the later frames run
// on the first frame's blocks and give exactly its map.
TEST(CpuBlockCache, FramesGiveTheSameMapsThroughTheCache) {
  i2sbseg::testing::TempDir dir;
  Model m(i2sbseg::testing::small_config());
  i2sbseg::testing::randomise(m, 9);
  save_model(m, dir.file("m.i2sb"));
  const int w = 96, h = 72;  // large enough that the frame's tensors pass kMinBytes
  std::vector<std::uint8_t> pixels(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>((i * 37) % 251);
  std::vector<std::uint8_t> first, map;
  int mw = 0, mh = 0;
  SegmentParams p;
  p.seed = 3;
  auto seg = Segmenter::open(dir.file("m.i2sb"), {});
  seg->segment(pixels.data(), w, h, w * 3, PixelLayout{3, 0, 1, 2}, p, first, mw, mh);
  const std::size_t hits = CpuBlockCache::stats().hits;
  for (int i = 0; i < 3; ++i) {
    seg->segment(pixels.data(), w, h, w * 3, PixelLayout{3, 0, 1, 2}, p, map, mw, mh);
    EXPECT_EQ(map, first) << "frame " << i;
  }
  EXPECT_GT(CpuBlockCache::stats().hits, hits) << "later frames reuse the first frame's blocks";
}
