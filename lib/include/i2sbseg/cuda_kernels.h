// CUDA kernels on raw device pointers (lib/cuda/). Torch-free and
// CUDA-header-free; when the library was built without nvcc every call
// reports that the kernels are not compiled.
#pragma once

#include <cstdint>
#include <string>

namespace i2sbseg::cuda {

// True when lib/cuda was compiled into this build.
bool compiled();
// True when compiled() and the CUDA runtime sees at least one device.
bool device_available();

// Byte layout of a packed 8-bit pixel.
struct PixelLayout {
  int bytes_per_pixel;  // 3 or 4
  int r, g, b;          // byte offsets of each channel
};

// Packed 8-bit pixels (row stride in bytes) -> three float planes
// ((v/255 - mean[c]) / std[c]), plane c at dst + c*width*height.
// `stream` is a cudaStream_t (nullptr: default stream). Returns "" on
// success, else the CUDA error text.
std::string packed_to_planes(const std::uint8_t* src, int width, int height, int src_stride,
                             PixelLayout layout, const float mean[3], const float std[3], float* dst,
                             void* stream = nullptr);

// Fused argmax over K logit planes (K, height, width), palette lookup and
// alpha blend into packed 8-bit pixels in place: out = (1-alpha)*in + alpha*colour.
// classes_out (optional, may be nullptr) receives the argmax per pixel.
std::string argmax_blend(const float* logits, int num_classes, int width, int height,
                         const std::uint8_t* palette_rgb, float alpha, std::uint8_t* pixels,
                         int stride, PixelLayout layout, std::uint8_t* classes_out,
                         void* stream = nullptr);

}  // namespace i2sbseg::cuda
