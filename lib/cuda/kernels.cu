// SPDX-License-Identifier: MIT
// Pixel conversion and the fused argmax/palette/blend, on raw device pointers.
#include <cuda_runtime.h>

#include <i2sbseg/cuda_kernels.h>

namespace i2sbseg::cuda {
namespace {

struct Norm {
  float scale[3];  // 1 / (255 * std)
  float shift[3];  // -mean / std
};

__global__ void packed_to_planes_kernel(const std::uint8_t* src, int width, int height, int stride,
                                        PixelLayout layout, Norm norm, float* dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  const std::uint8_t* p = src + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * layout.bytes_per_pixel;
  const size_t plane = static_cast<size_t>(width) * height;
  const size_t i = static_cast<size_t>(y) * width + x;
  dst[i] = p[layout.r] * norm.scale[0] + norm.shift[0];
  dst[plane + i] = p[layout.g] * norm.scale[1] + norm.shift[1];
  dst[2 * plane + i] = p[layout.b] * norm.scale[2] + norm.shift[2];
}

// One thread per output pixel: argmax over K planes (first maximum wins,
// like torch.argmax), then the nearest source pixel blended with the class
// colour in the same 8.8 fixed point as the CPU path, so both agree exactly.
__global__ void argmax_overlay_kernel(const float* logits, int num_classes, int width, int height,
                                      std::uint8_t* classes_out, OverlayArgs o, bool draw) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  const size_t plane = static_cast<size_t>(width) * height;
  const size_t i = static_cast<size_t>(y) * width + x;
  int best = 0;
  float best_v = logits[i];
  for (int k = 1; k < num_classes; ++k) {
    const float v = logits[k * plane + i];
    if (v > best_v) {
      best_v = v;
      best = k;
    }
  }
  if (classes_out) classes_out[i] = static_cast<std::uint8_t>(best);
  if (!draw) return;
  const int bpp = o.layout.bytes_per_pixel;
  const int sx = static_cast<int>(static_cast<long long>(x) * o.src_w / width);
  const int sy = static_cast<int>(static_cast<long long>(y) * o.src_h / height);
  const std::uint8_t* s = o.src + static_cast<size_t>(sy) * o.src_stride + static_cast<size_t>(sx) * bpp;
  std::uint8_t* d = o.dst + static_cast<size_t>(y) * o.dst_stride + static_cast<size_t>(x) * bpp;
  for (int ch = 0; ch < bpp; ++ch) d[ch] = s[ch];
  if (o.alpha256 == 0) return;
  const std::uint8_t* c = o.palette_rgb + 3 * best;
  const int a = o.alpha256;
  d[o.layout.r] = static_cast<std::uint8_t>((d[o.layout.r] * (256 - a) + c[0] * a + 128) >> 8);
  d[o.layout.g] = static_cast<std::uint8_t>((d[o.layout.g] * (256 - a) + c[1] * a + 128) >> 8);
  d[o.layout.b] = static_cast<std::uint8_t>((d[o.layout.b] * (256 - a) + c[2] * a + 128) >> 8);
}

std::string status(cudaError_t err) { return err == cudaSuccess ? std::string() : cudaGetErrorString(err); }

dim3 grid_for(int width, int height, dim3 block) {
  return dim3((width + block.x - 1) / block.x, (height + block.y - 1) / block.y);
}

}  // namespace

bool compiled() { return true; }

bool device_available() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return false;
  }
  return n > 0;
}

std::string packed_to_planes(const std::uint8_t* src, int width, int height, int src_stride, PixelLayout layout,
                             const float mean[3], const float std[3], float* dst, void* stream) {
  if (width <= 0 || height <= 0) return "invalid size";
  Norm norm{};
  for (int c = 0; c < 3; ++c) {
    norm.scale[c] = 1.0f / (255.0f * std[c]);
    norm.shift[c] = -mean[c] / std[c];
  }
  const dim3 block(32, 8);
  packed_to_planes_kernel<<<grid_for(width, height, block), block, 0, static_cast<cudaStream_t>(stream)>>>(
      src, width, height, src_stride, layout, norm, dst);
  return status(cudaGetLastError());
}

std::string argmax_overlay(const float* logits, int num_classes, int width, int height, std::uint8_t* classes_out,
                           const OverlayArgs* overlay, void* stream) {
  if (width <= 0 || height <= 0 || num_classes < 1 || num_classes > 256) return "invalid size";
  if (overlay && (overlay->src_w <= 0 || overlay->src_h <= 0 || overlay->alpha256 < 0 || overlay->alpha256 > 256))
    return "invalid overlay arguments";
  const dim3 block(32, 8);
  argmax_overlay_kernel<<<grid_for(width, height, block), block, 0, static_cast<cudaStream_t>(stream)>>>(
      logits, num_classes, width, height, classes_out, overlay ? *overlay : OverlayArgs{}, overlay != nullptr);
  return status(cudaGetLastError());
}

}  // namespace i2sbseg::cuda
