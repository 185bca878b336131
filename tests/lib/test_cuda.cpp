// SPDX-License-Identifier: MIT
// The CUDA kernels against CPU references; skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include <cuda_runtime.h>

#include <i2sbseg/cuda_kernels.h>

using namespace i2sbseg;

namespace {

template <typename T>
struct DeviceArray {
  explicit DeviceArray(size_t n) : n(n) { EXPECT_EQ(cudaMalloc(&ptr, n * sizeof(T)), cudaSuccess); }
  ~DeviceArray() { cudaFree(ptr); }
  void upload(const std::vector<T>& v) { cudaMemcpy(ptr, v.data(), n * sizeof(T), cudaMemcpyHostToDevice); }
  std::vector<T> download() const {
    std::vector<T> v(n);
    cudaMemcpy(v.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost);
    return v;
  }
  T* ptr = nullptr;
  size_t n;
};

}  // namespace

TEST(Cuda, KernelsReportErrorsInsteadOfCrashingWithoutADevice) {
  if (cuda::device_available()) GTEST_SKIP() << "a GPU is present";
  const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  EXPECT_FALSE(cuda::packed_to_planes(nullptr, 4, 4, 12, {3, 0, 1, 2}, mean, std, nullptr).empty());
}

TEST(Cuda, PackedToPlanesMatchesCpu) {
  if (!cuda::device_available()) GTEST_SKIP() << "no CUDA device";
  const int w = 37, h = 23, bpp = 4, stride = w * bpp + 12;  // padded stride
  std::mt19937 rng(1);
  std::vector<std::uint8_t> src(static_cast<size_t>(stride) * h);
  for (auto& v : src) v = static_cast<std::uint8_t>(rng());
  const cuda::PixelLayout bgrx{4, 2, 1, 0};
  const float mean[3] = {0.5f, 0.4f, 0.3f}, std[3] = {0.5f, 0.25f, 0.2f};
  DeviceArray<std::uint8_t> d_src(src.size());
  d_src.upload(src);
  DeviceArray<float> d_dst(3 * w * h);
  ASSERT_EQ(cuda::packed_to_planes(d_src.ptr, w, h, stride, bgrx, mean, std, d_dst.ptr), "");
  const std::vector<float> dst = d_dst.download();
  const int offs[3] = {bgrx.r, bgrx.g, bgrx.b};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float ref = (src[y * stride + x * bpp + offs[c]] / 255.0f - mean[c]) / std[c];
        ASSERT_NEAR(dst[(c * h + y) * w + x], ref, 1e-5f);
      }
}

TEST(Cuda, ArgmaxOverlayMatchesCpuReference) {
  if (!cuda::device_available()) GTEST_SKIP() << "no CUDA device";
  // Output 19x11 from a 7x5 source (non-integer ratio), padded strides, BGRx.
  const int w = 19, h = 11, k = 5, sw = 7, sh = 5, bpp = 4, src_stride = sw * bpp + 8, dst_stride = w * bpp + 4;
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> logits(static_cast<size_t>(k) * w * h);
  for (auto& v : logits) v = nd(rng);
  std::vector<std::uint8_t> src(static_cast<size_t>(src_stride) * sh), palette(3 * k);
  for (auto& v : src) v = static_cast<std::uint8_t>(rng());
  for (auto& v : palette) v = static_cast<std::uint8_t>(rng());
  const int a = 77;
  const cuda::PixelLayout bgrx{4, 2, 1, 0};
  DeviceArray<float> d_logits(logits.size());
  d_logits.upload(logits);
  DeviceArray<std::uint8_t> d_src(src.size()), d_dst(static_cast<size_t>(dst_stride) * h), d_palette(palette.size()),
      d_classes(w * h);
  d_src.upload(src);
  d_palette.upload(palette);
  cuda::OverlayArgs o;
  o.palette_rgb = d_palette.ptr;
  o.alpha256 = a;
  o.src = d_src.ptr;
  o.src_w = sw;
  o.src_h = sh;
  o.src_stride = src_stride;
  o.dst = d_dst.ptr;
  o.dst_stride = dst_stride;
  o.layout = bgrx;
  ASSERT_EQ(cuda::argmax_overlay(d_logits.ptr, k, w, h, d_classes.ptr, &o), "");
  const auto out = d_dst.download();
  const auto classes = d_classes.download();
  const int offs[3] = {bgrx.r, bgrx.g, bgrx.b};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int best = 0;
      for (int c = 1; c < k; ++c)
        if (logits[(c * h + y) * w + x] > logits[(best * h + y) * w + x]) best = c;
      ASSERT_EQ(classes[y * w + x], best);
      const std::uint8_t* s = &src[(y * sh / h) * src_stride + (x * sw / w) * bpp];
      const std::uint8_t* d = &out[y * dst_stride + x * bpp];
      EXPECT_EQ(d[3], s[3]);  // x byte copied
      for (int ch = 0; ch < 3; ++ch) {
        // Independent float reference of the blend: within rounding.
        const double ref = (1.0 - a / 256.0) * s[offs[ch]] + a / 256.0 * palette[3 * best + ch];
        ASSERT_NEAR(d[offs[ch]], ref, 0.51);
      }
    }
  // Classes only: no drawing arguments needed.
  ASSERT_EQ(cuda::argmax_overlay(d_logits.ptr, k, w, h, d_classes.ptr, nullptr), "");
  EXPECT_EQ(d_classes.download(), classes);
}
