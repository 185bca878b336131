// SPDX-License-Identifier: MIT
// libFuzzer target over the compact packed dataset's decoders
// (lib/src/data/packed_codec.h). The first byte picks the decoder: even, the
// run-length mask code (the next two bytes give the pixel count - 1); odd,
// JPEG. Every input must decode to the stated size or be refused with an
// i2sbseg::Error naming it; what decodes must survive a re-encode and decode.
// Any other exception, a crash or a sanitizer report is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <i2sbseg/error.h>

#include "data/packed_codec.h"

namespace {

[[noreturn]] void bug(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_packed_codec: %s: %s\n", what, detail.c_str());
  std::abort();
}

void masks(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const std::size_t n = 1 + (static_cast<std::size_t>(data[0]) << 8 | data[1]);
  std::vector<std::uint8_t> mask;
  try {
    mask = i2sbseg::packed::rle_decode(data + 2, size - 2, n, "fuzz");
  } catch (const i2sbseg::Error& e) {
    if (std::string(e.what()).rfind("fuzz: ", 0) != 0) bug("refusal does not name the input", e.what());
    return;
  }
  if (mask.size() != n) bug("wrong length", std::to_string(mask.size()) + " for " + std::to_string(n));
  const std::vector<std::uint8_t> code = i2sbseg::packed::rle_encode(mask.data(), mask.size());
  if (i2sbseg::packed::rle_decode(code.data(), code.size(), n, "again") != mask) bug("round trip", "differs");
}

void images(const std::uint8_t* data, std::size_t size) {
  int w = 0, h = 0;
  std::vector<std::uint8_t> rgb;
  try {
    rgb = i2sbseg::packed::jpeg_decode(data, size, w, h, "fuzz");
  } catch (const i2sbseg::Error& e) {
    if (std::string(e.what()).rfind("fuzz", 0) != 0) bug("refusal does not name the input", e.what());
    return;
  }
  if (w <= 0 || h <= 0 || rgb.size() != static_cast<std::size_t>(w) * h * 3) bug("size", std::to_string(rgb.size()));
  const std::vector<std::uint8_t> again = i2sbseg::packed::jpeg_encode(rgb.data(), w, h, 90);
  int w2 = 0, h2 = 0;
  i2sbseg::packed::jpeg_decode(again.data(), again.size(), w2, h2, "again");
  if (w2 != w || h2 != h) bug("re-encoded size", std::to_string(w2) + "x" + std::to_string(h2));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  try {
    if (data[0] % 2 == 0)
      masks(data + 1, size - 1);
    else
      images(data + 1, size - 1);
  } catch (const std::exception& e) {
    bug("unexpected exception", e.what());
  }
  return 0;
}
