// SPDX-License-Identifier: MIT
// The compact packed dataset (pack --jpeg-quality): the run-length mask code
// against hand-made bytes and round trips, its refusals of damaged codes,
// JPEG round trips within a stated error, and a whole dataset written and
// read back (masks exact, images close, splits and classes kept).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <vector>

#include <torch/torch.h>

#include <i2sbseg/dataset.h>
#include <i2sbseg/error.h>

#include "../../lib/src/data/packed_codec.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;
using Bytes = std::vector<std::uint8_t>;
using i2sbseg::testing::TempDir;

TEST(PackedCodec, RunLengthBytesByHand) {
  // 3 x3, then 0 x200 (varint 200 = 0xC8 0x01), then 255 x1.
  Bytes mask(3, 3);
  mask.insert(mask.end(), 200, 0);
  mask.push_back(255);
  const Bytes code = packed::rle_encode(mask.data(), mask.size());
  EXPECT_EQ(code, Bytes({3, 3, 0, 0xC8, 0x01, 255, 1}));
  EXPECT_EQ(packed::rle_decode(code.data(), code.size(), mask.size(), "m"), mask);
}

TEST(PackedCodec, RunLengthRoundTripsAndRefusesDamage) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    Bytes mask(1 + rng() % 70000);
    std::uint8_t v = 0;
    for (auto& p : mask) {
      if (rng() % 50 == 0) v = static_cast<std::uint8_t>(rng() % 6);
      p = v;
    }
    const Bytes code = packed::rle_encode(mask.data(), mask.size());
    EXPECT_EQ(packed::rle_decode(code.data(), code.size(), mask.size(), "m"), mask);
  }
  const Bytes code{1, 0x85};  // a varint that never ends
  EXPECT_THROW(packed::rle_decode(code.data(), code.size(), 5, "m"), Error);
  const Bytes four{1, 4};
  EXPECT_THROW(packed::rle_decode(four.data(), four.size(), 5, "m"), Error) << "short";
  EXPECT_THROW(packed::rle_decode(four.data(), four.size(), 3, "m"), Error) << "long";
  const Bytes zero{1, 0};
  try {
    packed::rle_decode(zero.data(), zero.size(), 1, "file.pack (image 3)");
    FAIL() << "a zero-length run was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("file.pack (image 3)"), std::string::npos) << e.what();
  }
}

namespace {

// A smooth picture with a few edges, as photos are.
Bytes picture(int w, int h) {
  Bytes rgb(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      p[0] = static_cast<std::uint8_t>(2 * x);
      p[1] = static_cast<std::uint8_t>(x + y > 100 ? 200 : 40);
      p[2] = static_cast<std::uint8_t>(128 + 100 * std::sin(y / 9.0));
    }
  return rgb;
}

}  // namespace

TEST(PackedCodec, JpegRoundTripIsClose) {
  if (!packed::jpeg_available()) GTEST_SKIP() << "built without libjpeg";
  const int w = 96, h = 80;
  const Bytes rgb = picture(w, h);
  const Bytes jpeg = packed::jpeg_encode(rgb.data(), w, h, 90);
  EXPECT_LT(jpeg.size(), rgb.size() / 4);
  int dw = 0, dh = 0;
  const Bytes back = packed::jpeg_decode(jpeg.data(), jpeg.size(), dw, dh, "x");
  ASSERT_EQ(dw, w);
  ASSERT_EQ(dh, h);
  double sum = 0;
  int worst = 0;
  for (std::size_t i = 0; i < rgb.size(); ++i) {
    const int d = std::abs(int(rgb[i]) - int(back[i]));
    sum += d;
    worst = std::max(worst, d);
  }
  EXPECT_LT(sum / rgb.size(), 3.0) << "mean absolute error at quality 90";
  EXPECT_LT(worst, 80);
  Bytes damaged(jpeg.begin(), jpeg.begin() + 20);
  try {
    packed::jpeg_decode(damaged.data(), damaged.size(), dw, dh, "set.pack (image 7)");
    FAIL() << "a truncated JPEG was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("set.pack (image 7)"), std::string::npos) << e.what();
  }
  // Cut mid-stream, libjpeg only warns and fills the rest: an error here.
  Bytes cut(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 6 / 10));
  EXPECT_THROW(packed::jpeg_decode(cut.data(), cut.size(), dw, dh, "cut"), Error);
  EXPECT_THROW(packed::jpeg_encode(rgb.data(), w, h, 0), Error);
}

TEST(PackedDataset, CompactFileReadsBackMasksExactlyImagesClosely) {
  if (!packed::jpeg_available()) GTEST_SKIP() << "built without libjpeg";
  TempDir dir;
  Dataset d;
  d.set_classes({{"background", {0, 0, 0}}, {"thing", {255, 0, 0}}, {"other", {0, 255, 0}}});
  torch::manual_seed(2);
  for (int i = 0; i < 6; ++i) {
    const int w = 40 + 8 * i, h = 32;
    const Bytes rgb = picture(w, h);
    torch::Tensor mask = torch::randint(0, 3, {h / 8, w / 8}, torch::kUInt8).repeat_interleave(8, 0).repeat_interleave(8, 1);
    mask.index_put_({0, 0}, 255);  // unlabelled
    d.add("im" + std::to_string(i), torch::from_blob(const_cast<std::uint8_t*>(rgb.data()), {h, w, 3}, torch::kUInt8).clone(),
          mask.contiguous(), i < 4 ? "train" : "val");
  }
  d.save_packed(dir.file("raw.pack"));
  d.save_packed(dir.file("small.pack"), 90);
  const auto size = [&](const char* f) { return std::ifstream(dir.file(f), std::ios::ate | std::ios::binary).tellg(); };
  EXPECT_LT(size("small.pack"), size("raw.pack"));
  const Dataset val = Dataset::load(dir.file("small.pack"), "val");
  ASSERT_EQ(val.size(), 2);
  EXPECT_EQ(val.name(0), "im4");
  EXPECT_EQ(val.classes().size(), 3u);
  const Dataset all = Dataset::load(dir.file("small.pack"), "all"), raw = Dataset::load(dir.file("raw.pack"), "all");
  ASSERT_EQ(all.size(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(torch::equal(all.mask(i), d.mask(i))) << i;
    EXPECT_TRUE(torch::equal(raw.image(i), d.image(i))) << i;
    ASSERT_EQ(all.image(i).sizes(), d.image(i).sizes());
    const double err = (all.image(i).to(torch::kFloat) - d.image(i).to(torch::kFloat)).abs().mean().item<double>();
    EXPECT_LT(err, 3.0) << i;
  }
}
