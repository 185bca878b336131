// SPDX-License-Identifier: MIT
// Frame-level types shared by the CPU and CUDA frame paths and their callers:
// how a packed 8-bit pixel is laid out, and how a frame is enlarged.
#pragma once

namespace i2sbseg {

// Byte layout of a packed 8-bit pixel.
struct PixelLayout {
  int bytes_per_pixel;  // 3 or 4
  int r, g, b;          // byte offsets of each channel
};

// How an overlay enlarges the source frame.
enum class Upscale {
  kNearest,   // pixel replication: exact copies of source pixels
  kBilinear,  // smoother; pixel centres aligned as in GStreamer/OpenCV
};

}  // namespace i2sbseg
