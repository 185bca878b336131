// SPDX-License-Identifier: MIT
#include "infer/frame_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace i2sbseg::frame_ops {
namespace {

// Bilinear sampling positions along one axis: for each destination index
// the two source indices and the second one's weight in 1/256; pixel
// centres aligned as in GStreamer/OpenCV.
void bilinear_taps(int dst, int src, std::vector<int>& i0, std::vector<int>& i1, std::vector<int>& w1) {
  i0.resize(dst);
  i1.resize(dst);
  w1.resize(dst);
  for (int d = 0; d < dst; ++d) {
    const double f = std::clamp((d + 0.5) * src / dst - 0.5, 0.0, static_cast<double>(src - 1));
    const int i = static_cast<int>(f);
    i0[d] = i;
    i1[d] = std::min(i + 1, src - 1);
    w1[d] = static_cast<int>(std::lround((f - i) * 256.0));
  }
}

}  // namespace

std::vector<std::uint8_t> palette(const std::vector<ClassInfo>& classes) {
  std::vector<std::uint8_t> p;
  for (const auto& c : classes) p.insert(p.end(), c.color.begin(), c.color.end());
  return p;
}

int alpha256(float alpha) { return std::clamp(static_cast<int>(std::lround(alpha * 256.0f)), 0, 256); }

void packed_to_rgb01(const std::uint8_t* pixels, int width, int height, int stride, PixelLayout layout, float* planes) {
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  const int bpp = layout.bytes_per_pixel;
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* row = pixels + static_cast<std::size_t>(y) * stride;
    float* r = planes + static_cast<std::size_t>(y) * width;
    float* g = r + plane;
    float* b = g + plane;
    for (int x = 0; x < width; ++x, row += bpp) {
      r[x] = row[layout.r] * (1.0f / 255.0f);
      g[x] = row[layout.g] * (1.0f / 255.0f);
      b[x] = row[layout.b] * (1.0f / 255.0f);
    }
  }
}

void argmax_row(const float* logits, int num_classes, std::size_t plane_size, std::size_t offset, int width,
                std::uint8_t* out) {
  // Plane by plane, so each pass reads contiguous memory.
  constexpr int kChunk = 256;
  float best[kChunk];
  for (int x0 = 0; x0 < width; x0 += kChunk) {
    const int n = std::min(kChunk, width - x0);
    const float* p = logits + offset + x0;
    std::memcpy(best, p, n * sizeof(float));
    std::memset(out + x0, 0, n);
    for (int k = 1; k < num_classes; ++k) {
      const float* q = p + k * plane_size;
      for (int i = 0; i < n; ++i)
        if (q[i] > best[i]) {
          best[i] = q[i];
          out[x0 + i] = static_cast<std::uint8_t>(k);
        }
    }
  }
}

OverlayPainter::OverlayPainter(int w, int h, int src_w, int src_h, PixelLayout layout, Upscale upscale, float alpha,
                               const std::vector<ClassInfo>& classes)
    : w_(w),
      h_(h),
      src_w_(src_w),
      src_h_(src_h),
      bpp_(layout.bytes_per_pixel),
      a_(alpha256(alpha)),
      layout_(layout),
      bilinear_(upscale == Upscale::kBilinear && (w != src_w || h != src_h)),
      palette_(palette(classes)) {
  if (bilinear_) {
    bilinear_taps(w, src_w, tx0_, tx1_, twx_);
    bilinear_taps(h, src_h, ty0_, ty1_, twy_);
  } else {
    src_x_.resize(w);
    for (int x = 0; x < w; ++x) src_x_[x] = static_cast<int>(static_cast<std::int64_t>(x) * src_w / w) * bpp_;
  }
}

void OverlayPainter::row(int y, const std::uint8_t* class_row, const std::uint8_t* src, int src_stride,
                         std::uint8_t* drow) const {
  const int bpp = bpp_;
  if (bilinear_) {
    const std::uint8_t* r0 = src + static_cast<std::size_t>(ty0_[y]) * src_stride;
    const std::uint8_t* r1 = src + static_cast<std::size_t>(ty1_[y]) * src_stride;
    const int wy = twy_[y];
    for (int x = 0; x < w_; ++x) {
      const int x0 = tx0_[x] * bpp, x1 = tx1_[x] * bpp, wx = twx_[x];
      std::uint8_t* dp = drow + static_cast<std::size_t>(x) * bpp;
      for (int ch = 0; ch < bpp; ++ch) {
        const int top = r0[x0 + ch] * (256 - wx) + r0[x1 + ch] * wx;
        const int bottom = r1[x0 + ch] * (256 - wx) + r1[x1 + ch] * wx;
        dp[ch] = static_cast<std::uint8_t>((top * (256 - wy) + bottom * wy + 32768) >> 16);
      }
    }
  } else {
    const int sy = static_cast<int>(static_cast<std::int64_t>(y) * src_h_ / h_);
    const std::uint8_t* srow = src + static_cast<std::size_t>(sy) * src_stride;
    for (int x = 0; x < w_; ++x) std::memcpy(drow + static_cast<std::size_t>(x) * bpp, srow + src_x_[x], bpp);
  }
  if (a_ == 0) return;
  const int a = a_, k = static_cast<int>(palette_.size() / 3);
  const int r = layout_.r, g = layout_.g, b = layout_.b;
  for (int x = 0; x < w_; ++x) {
    const int c = class_row[x];
    if (c >= k) continue;
    const std::uint8_t* col = &palette_[3 * c];
    std::uint8_t* dp = drow + static_cast<std::size_t>(x) * bpp;
    dp[r] = static_cast<std::uint8_t>((dp[r] * (256 - a) + col[0] * a + 128) >> 8);
    dp[g] = static_cast<std::uint8_t>((dp[g] * (256 - a) + col[1] * a + 128) >> 8);
    dp[b] = static_cast<std::uint8_t>((dp[b] * (256 - a) + col[2] * a + 128) >> 8);
  }
}

}  // namespace i2sbseg::frame_ops
