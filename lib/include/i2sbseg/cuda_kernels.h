// SPDX-License-Identifier: MIT
// CUDA kernels on raw device pointers (lib/cuda/). Torch-free and
// CUDA-header-free; when the library was built without nvcc every call
// reports that the kernels are not compiled.
#pragma once

#include <cstdint>
#include <string>

#include <i2sbseg/pixel_layout.h>

namespace i2sbseg::cuda {

// True when lib/cuda was compiled into this build.
bool compiled();
// True when compiled() and the CUDA runtime sees at least one device.
bool device_available();

using i2sbseg::PixelLayout;

// Packed 8-bit pixels (row stride in bytes) -> three float planes
// ((v/255 - mean[c]) / std[c]), plane c at dst + c*width*height.
// `stream` is a cudaStream_t (nullptr: default stream). Returns "" on
// success, else the CUDA error text.
std::string packed_to_planes(const std::uint8_t* src, int width, int height, int src_stride,
                             PixelLayout layout, const float mean[3], const float std[3], float* dst,
                             void* stream = nullptr);

// Drawing arguments for argmax_overlay (all pointers on the device).
struct OverlayArgs {
  const std::uint8_t* palette_rgb = nullptr;  // 3 bytes per class
  int alpha256 = 0;                           // blend weight of the colour, 0..256
  const std::uint8_t* src = nullptr;          // source frame, packed, src_stride bytes per row
  int src_w = 0, src_h = 0, src_stride = 0;
  std::uint8_t* dst = nullptr;                // width x height, packed like src
  int dst_stride = 0;
  PixelLayout layout{3, 0, 1, 2};
};

// Fused, at output size: argmax over K logit planes (K, height, width) into
// classes_out (optional), and when `overlay` is given, dst = the source
// upscaled by nearest neighbour (x * src_w / width) blended with each pixel's
// class colour: (p * (256 - a) + colour * a + 128) >> 8 — the CPU path's
// formula, so both give identical bytes. A 4th byte is copied, not blended.
std::string argmax_overlay(const float* logits, int num_classes, int width, int height, std::uint8_t* classes_out,
                           const OverlayArgs* overlay, void* stream = nullptr);

}  // namespace i2sbseg::cuda
