// SPDX-License-Identifier: MIT
// The bundle file: magic, format version, JSON config and float32 tensors,
// with a CRC-32 over everything before it. Torch-free: readers such as
// `i2sbseg info` and the fuzzer need no LibTorch.
//
// Layout (little-endian):
//   "I2SBSEG\0"  u32 format_version  u32 flags(0)
//   u64 config_bytes  config JSON (UTF-8)
//   u32 tensor_count  { u32 name_bytes name  u32 ndim  i64 dims[ndim]  f32 data[prod(dims)] }*
//   u32 crc32 of all preceding bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace i2sbseg {

struct TensorRecord {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;

  std::int64_t numel() const;
};

struct BundleContents {
  int format_version = 0;
  std::string config_json;
  std::vector<TensorRecord> tensors;
};

// Parses a bundle held in memory. `source` names it in error messages.
// Throws Error("<source>: <problem>") on anything malformed.
BundleContents parse_bundle(const std::uint8_t* data, std::size_t size, const std::string& source);

// Reads and parses a bundle file; errors name the path (missing file,
// directory, empty, truncated, wrong magic, unknown version, bad checksum).
BundleContents read_bundle_file(const std::string& path);

std::vector<std::uint8_t> serialize_bundle(const BundleContents& contents);

// Writes atomically: a temporary file beside `path`, flushed, then renamed
// over it, so a failed write never leaves a partial bundle at `path`.
void write_bundle_file(const std::string& path, const BundleContents& contents);

std::uint32_t crc32(const std::uint8_t* data, std::size_t size);

}  // namespace i2sbseg
