// SPDX-License-Identifier: MIT
#include "data/packed_codec.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifdef I2SBSEG_HAVE_LIBJPEG
#include <jpeglib.h>
#endif

#include <i2sbseg/error.h>

namespace i2sbseg::packed {

std::vector<std::uint8_t> rle_encode(const std::uint8_t* mask, std::size_t n) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < n;) {
    std::size_t run = 1;
    while (i + run < n && mask[i + run] == mask[i]) ++run;
    out.push_back(mask[i]);
    for (std::size_t v = run;; v >>= 7) {
      if (v < 0x80) {
        out.push_back(static_cast<std::uint8_t>(v));
        break;
      }
      out.push_back(static_cast<std::uint8_t>((v & 0x7f) | 0x80));
    }
    i += run;
  }
  return out;
}

std::vector<std::uint8_t> rle_decode(const std::uint8_t* code, std::size_t size, std::size_t n, const std::string& what) {
  std::vector<std::uint8_t> out;
  out.reserve(n);
  for (std::size_t p = 0; p < size;) {
    const std::uint8_t value = code[p++];
    std::size_t run = 0;
    int shift = 0;
    for (;;) {
      if (p >= size || shift > 56) throw Error(ErrorKind::kBadFile, what + ": damaged run-length mask");
      const std::uint8_t b = code[p++];
      run |= static_cast<std::size_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    if (run == 0 || run > n - out.size()) throw Error(ErrorKind::kBadFile, what + ": run-length mask longer than its image");
    out.insert(out.end(), run, value);
  }
  if (out.size() != n) throw Error(ErrorKind::kBadFile, what + ": run-length mask shorter than its image");
  return out;
}

#ifdef I2SBSEG_HAVE_LIBJPEG
namespace {

// libjpeg reports errors by calling error_exit, which must not return: jump
// back out of the C calls below, which hold no C++ objects to unwind. Its
// warnings (a truncated or corrupt stream it decodes anyway) are kept, not
// printed: a damaged image in a dataset is an error, not a grey patch.
struct JpegErrors {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool warned;
};

void on_jpeg_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

void on_jpeg_message(j_common_ptr c, int level) {
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  if (level >= 0 || e->warned) return;  // trace messages; the first warning is the one to tell
  (*c->err->format_message)(c, e->message);
  e->warned = true;
}

// `e`'s manager, set up to route errors and warnings as above.
jpeg_error_mgr* route_errors(JpegErrors& e) {
  jpeg_error_mgr* mgr = jpeg_std_error(&e.mgr);
  mgr->error_exit = on_jpeg_error;
  mgr->emit_message = on_jpeg_message;
  e.warned = false;
  return mgr;
}

bool decode(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& rgb, int& w, int& h, char* message) {
  jpeg_decompress_struct info;
  JpegErrors errors;
  info.err = route_errors(errors);
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    std::memcpy(message, errors.message, JMSG_LENGTH_MAX);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&info, TRUE);
  // A damaged header may claim gigapixels: refuse before allocating them.
  if (static_cast<std::uint64_t>(info.image_width) * info.image_height > (std::uint64_t{1} << 26)) {
    std::snprintf(message, JMSG_LENGTH_MAX, "it claims %ux%u pixels", info.image_width, info.image_height);
    jpeg_destroy_decompress(&info);
    return false;
  }
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  w = static_cast<int>(info.output_width);
  h = static_cast<int>(info.output_height);
  rgb.resize(static_cast<std::size_t>(w) * h * 3);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rgb.data() + static_cast<std::size_t>(info.output_scanline) * w * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  if (errors.warned) std::memcpy(message, errors.message, JMSG_LENGTH_MAX);
  return !errors.warned;
}

bool encode(const std::uint8_t* rgb, int w, int h, int quality, std::vector<std::uint8_t>& out, char* message) {
  jpeg_compress_struct info;
  JpegErrors errors;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  info.err = route_errors(errors);
  if (setjmp(errors.jump)) {
    jpeg_destroy_compress(&info);
    std::free(buffer);
    std::memcpy(message, errors.message, JMSG_LENGTH_MAX);
    return false;
  }
  jpeg_create_compress(&info);
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(w);
  info.image_height = static_cast<JDIMENSION>(h);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(rgb + static_cast<std::size_t>(info.next_scanline) * w * 3);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  out.assign(buffer, buffer + size);
  jpeg_destroy_compress(&info);
  std::free(buffer);
  return true;
}

}  // namespace

bool jpeg_available() { return true; }

std::vector<std::uint8_t> jpeg_encode(const std::uint8_t* rgb, int w, int h, int quality) {
  if (quality < 1 || quality > 100)
    throw Error(ErrorKind::kInvalidOption, "JPEG quality " + std::to_string(quality) + " is not in 1..100", "jpeg_quality");
  std::vector<std::uint8_t> out;
  char message[JMSG_LENGTH_MAX] = {};
  if (!encode(rgb, w, h, quality, out, message)) throw Error(std::string("JPEG encoding failed: ") + message);
  return out;
}

std::vector<std::uint8_t> jpeg_decode(const std::uint8_t* data, std::size_t size, int& w, int& h,
                                      const std::string& what) {
  std::vector<std::uint8_t> rgb;
  char message[JMSG_LENGTH_MAX] = {};
  if (!decode(data, size, rgb, w, h, message)) throw Error(ErrorKind::kBadFile, what + ": damaged JPEG (" + message + ")");
  return rgb;
}
#else
bool jpeg_available() { return false; }

std::vector<std::uint8_t> jpeg_encode(const std::uint8_t*, int, int, int) {
  throw Error(ErrorKind::kUnsupported, "JPEG packing needs libjpeg, which this build has none of (Debian: libjpeg-dev)",
              "jpeg_quality");
}

std::vector<std::uint8_t> jpeg_decode(const std::uint8_t*, std::size_t, int&, int&, const std::string& what) {
  throw Error(ErrorKind::kUnsupported,
              what + ": its images are JPEG, and this build has no libjpeg (Debian: libjpeg-dev; the GPU kit "
                     "carries it)");
}
#endif

}  // namespace i2sbseg::packed
