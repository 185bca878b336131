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

TEST(Cuda, ArgmaxBlendMatchesCpu) {
  if (!cuda::device_available()) GTEST_SKIP() << "no CUDA device";
  const int w = 19, h = 11, k = 5, bpp = 3, stride = w * bpp + 3;
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> logits(static_cast<size_t>(k) * w * h);
  for (auto& v : logits) v = nd(rng);
  std::vector<std::uint8_t> pixels(static_cast<size_t>(stride) * h), palette(3 * k);
  for (auto& v : pixels) v = static_cast<std::uint8_t>(rng());
  for (auto& v : palette) v = static_cast<std::uint8_t>(rng());
  const float alpha = 0.3f;
  const cuda::PixelLayout rgb{3, 0, 1, 2};
  DeviceArray<float> d_logits(logits.size());
  d_logits.upload(logits);
  DeviceArray<std::uint8_t> d_pixels(pixels.size()), d_palette(palette.size()), d_classes(w * h);
  d_pixels.upload(pixels);
  d_palette.upload(palette);
  ASSERT_EQ(cuda::argmax_blend(d_logits.ptr, k, w, h, d_palette.ptr, alpha, d_pixels.ptr, stride, rgb, d_classes.ptr), "");
  const auto out = d_pixels.download();
  const auto classes = d_classes.download();
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int best = 0;
      for (int c = 1; c < k; ++c)
        if (logits[(c * h + y) * w + x] > logits[(best * h + y) * w + x]) best = c;
      ASSERT_EQ(classes[y * w + x], best);
      for (int ch = 0; ch < 3; ++ch) {
        const float ref = (1 - alpha) * pixels[y * stride + x * bpp + ch] + alpha * palette[3 * best + ch];
        ASSERT_NEAR(out[y * stride + x * bpp + ch], ref, 1.0f);
      }
    }
}
