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

__global__ void argmax_blend_kernel(const float* logits, int num_classes, int width, int height,
                                    const std::uint8_t* palette, float alpha, std::uint8_t* pixels, int stride,
                                    PixelLayout layout, std::uint8_t* classes_out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  const size_t plane = static_cast<size_t>(width) * height;
  const size_t i = static_cast<size_t>(y) * width + x;
  int best = 0;
  float best_v = logits[i];
  for (int k = 1; k < num_classes; ++k) {
    const float v = logits[k * plane + i];
    if (v > best_v) {  // first maximum wins, like torch.argmax
      best_v = v;
      best = k;
    }
  }
  if (classes_out) classes_out[i] = static_cast<std::uint8_t>(best);
  if (!pixels) return;
  std::uint8_t* p = pixels + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * layout.bytes_per_pixel;
  const std::uint8_t* c = palette + 3 * best;
  const int offs[3] = {layout.r, layout.g, layout.b};
  for (int ch = 0; ch < 3; ++ch) {
    const float v = (1.0f - alpha) * p[offs[ch]] + alpha * c[ch];
    p[offs[ch]] = static_cast<std::uint8_t>(fminf(fmaxf(v + 0.5f, 0.0f), 255.0f));
  }
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

std::string argmax_blend(const float* logits, int num_classes, int width, int height,
                         const std::uint8_t* palette_rgb, float alpha, std::uint8_t* pixels, int stride,
                         PixelLayout layout, std::uint8_t* classes_out, void* stream) {
  if (width <= 0 || height <= 0 || num_classes < 1 || num_classes > 256) return "invalid size";
  const dim3 block(32, 8);
  argmax_blend_kernel<<<grid_for(width, height, block), block, 0, static_cast<cudaStream_t>(stream)>>>(
      logits, num_classes, width, height, palette_rgb, alpha, pixels, stride, layout, classes_out);
  return status(cudaGetLastError());
}

}  // namespace i2sbseg::cuda
