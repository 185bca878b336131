// SPDX-License-Identifier: MIT
// The compact form of a packed dataset (internal): images as JPEG, masks
// run-length coded, so a whole dataset travels to a machine without OpenCV
// (the GPU machine; 64 MiB per call) in a tenth of its raw size. JPEG needs
// libjpeg (I2SBSEG_HAVE_LIBJPEG; Debian's libjpeg62-turbo); the run-length
// code needs nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace i2sbseg::packed {

// A class-index mask of n pixels as (value, run length) pairs, the length
// as a little-endian base-128 varint (lossless).
std::vector<std::uint8_t> rle_encode(const std::uint8_t* mask, std::size_t n);
// Back to n pixels; throws Error naming `what` when the code is damaged or
// decodes to another length.
std::vector<std::uint8_t> rle_decode(const std::uint8_t* code, std::size_t size, std::size_t n, const std::string& what);

bool jpeg_available();
// An (h, w, 3) RGB image as a baseline JPEG of `quality` (1..100).
std::vector<std::uint8_t> jpeg_encode(const std::uint8_t* rgb, int w, int h, int quality);
// RGB pixels (h rows of w * 3 bytes) of a JPEG; throws Error naming `what`
// when it is damaged, or when this build has no libjpeg.
std::vector<std::uint8_t> jpeg_decode(const std::uint8_t* data, std::size_t size, int& w, int& h,
                                      const std::string& what);

}  // namespace i2sbseg::packed
