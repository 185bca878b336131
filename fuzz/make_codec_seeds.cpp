// SPDX-License-Identifier: MIT
// Writes fuzz_packed_codec's seeds: valid run-length masks and JPEG images
// of a few sizes and qualities, each behind the byte that picks its decoder.
//   make_codec_seeds OUT_DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "data/packed_codec.h"

namespace {

void write(const std::string& path, std::uint8_t mode, const std::vector<std::uint8_t>& body,
           const std::vector<std::uint8_t>& prefix = {}) {
  std::ofstream f(path, std::ios::binary);
  f.put(static_cast<char>(mode));
  f.write(reinterpret_cast<const char*>(prefix.data()), static_cast<std::streamsize>(prefix.size()));
  f.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_codec_seeds OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  int k = 0;
  for (const int n : {1, 37, 300, 4096}) {
    std::vector<std::uint8_t> mask(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) mask[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((i / 7) % 4 == 3 ? 255 : (i / 7) % 4);
    const auto m = static_cast<unsigned>(n - 1);
    write(out + "/rle_" + std::to_string(k++), 0, i2sbseg::packed::rle_encode(mask.data(), mask.size()),
          {static_cast<std::uint8_t>(m >> 8), static_cast<std::uint8_t>(m & 0xff)});
  }
  if (!i2sbseg::packed::jpeg_available()) return 0;
  for (const int side : {1, 9, 32})
    for (const int quality : {20, 90}) {
      std::vector<std::uint8_t> rgb(static_cast<std::size_t>(side) * side * 3);
      for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 37 % 251);
      write(out + "/jpeg_" + std::to_string(k++), 1, i2sbseg::packed::jpeg_encode(rgb.data(), side, side, quality));
    }
  return 0;
}
