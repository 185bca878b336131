// SPDX-License-Identifier: MIT
// CPU pixel work around the model (internal): packed bytes -> float planes,
// the fused argmax + palette + blend, and the overlay painter. Torch-free; the
// formulas match lib/cuda/kernels.cu byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <i2sbseg/config.h>
#include <i2sbseg/pixel_layout.h>

namespace i2sbseg::frame_ops {

// The classes' colours, 3 bytes (RGB) per class.
std::vector<std::uint8_t> palette(const std::vector<ClassInfo>& classes);

// Blend weight of the class colour in 1/256 (0..256): alpha 0 copies exactly.
int alpha256(float alpha);

// Packed 8-bit pixels -> three planes of v/255 (plane c at planes + c*w*h).
void packed_to_rgb01(const std::uint8_t* pixels, int width, int height, int stride, PixelLayout layout, float* planes);

// Class index per pixel of one row: argmax over K planes of plane_size
// floats (first maximum wins, as torch.argmax), starting at `offset`.
void argmax_row(const float* logits, int num_classes, std::size_t plane_size, std::size_t offset, int width,
                std::uint8_t* out);

// Draws overlay rows: the source enlarged to w x h (nearest or bilinear),
// blended with class colours in 8.8 fixed point. Built once per frame size.
class OverlayPainter {
 public:
  OverlayPainter(int w, int h, int src_w, int src_h, PixelLayout layout, Upscale upscale, float alpha,
                 const std::vector<ClassInfo>& classes);
  // Row y of dst from the source frame and the class row (w entries).
  void row(int y, const std::uint8_t* class_row, const std::uint8_t* src, int src_stride, std::uint8_t* dst_row) const;

 private:
  int w_, h_, src_w_, src_h_, bpp_, a_;
  PixelLayout layout_;
  bool bilinear_;
  std::vector<int> src_x_;                     // nearest: byte offset of each column's source pixel
  std::vector<int> tx0_, tx1_, twx_, ty0_, ty1_, twy_;  // bilinear taps, weights in 1/256
  std::vector<std::uint8_t> palette_;          // 3 bytes per class
};

}  // namespace i2sbseg::frame_ops
