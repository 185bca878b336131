// SPDX-License-Identifier: MIT
#include <i2sbseg/bundle.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <i2sbseg/config.h>
#include <i2sbseg/error.h>

#include "common/atomic_file.h"

namespace i2sbseg {
namespace {

constexpr char kMagic[8] = {'I', '2', 'S', 'B', 'S', 'E', 'G', '\0'};
constexpr std::uint32_t kMaxNameBytes = 4096;
constexpr std::uint32_t kMaxDims = 8;

static_assert(sizeof(float) == 4, "bundles store IEEE float32");

// Bounds-checked little-endian cursor over the file's bytes.
class Cursor {
 public:
  Cursor(const std::uint8_t* data, std::size_t size, const std::string& source)
      : data_(data), size_(size), source_(source) {}

  std::size_t remaining() const { return size_ - pos_; }
  std::size_t pos() const { return pos_; }

  void need(std::size_t n, const char* what) const {
    if (n > remaining())
      throw Error(ErrorKind::kBadFile, source_ + ": truncated file (ends inside " + what + " at byte " + std::to_string(size_) + ")");
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v{};
    for (std::size_t i = 0; i < sizeof(T); ++i)  // little-endian regardless of host
      reinterpret_cast<std::uint8_t*>(&v)[i] = data_[pos_ + i];
    pos_ += sizeof(T);
    return v;
  }
  const std::uint8_t* take(std::size_t n, const char* what) {
    need(n, what);
    const std::uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  const std::string& source_;
};

template <typename T>
void put(std::vector<std::uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::int64_t TensorRecord::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

BundleContents parse_bundle(const std::uint8_t* data, std::size_t size, const std::string& source) {
  if (size == 0) throw Error(ErrorKind::kBadFile, source + ": file is empty (not an i2sbseg model bundle)");
  if (size < sizeof(kMagic) || std::memcmp(data, kMagic, sizeof(kMagic)) != 0)
    throw Error(ErrorKind::kBadFile, source + ": not an i2sbseg model bundle (wrong magic bytes)");
  Cursor cur(data, size, source);
  cur.take(sizeof(kMagic), "the magic");
  BundleContents out;
  const auto version = cur.read<std::uint32_t>("the header");
  if (version != static_cast<std::uint32_t>(kFormatVersion))
    throw Error(ErrorKind::kBadFile, source + ": unsupported bundle format version " + std::to_string(version) +
                " (this build reads version " + std::to_string(kFormatVersion) + ")");
  out.format_version = static_cast<int>(version);
  const auto flags = cur.read<std::uint32_t>("the header");
  if (flags != 0) throw Error(ErrorKind::kBadFile, source + ": unknown header flags " + std::to_string(flags));

  const auto config_bytes = cur.read<std::uint64_t>("the config length");
  if (config_bytes > cur.remaining())
    throw Error(ErrorKind::kBadFile, source + ": truncated file (config of " + std::to_string(config_bytes) + " bytes, " +
                std::to_string(cur.remaining()) + " left)");
  const std::uint8_t* cfg = cur.take(static_cast<std::size_t>(config_bytes), "the config");
  out.config_json.assign(reinterpret_cast<const char*>(cfg), static_cast<std::size_t>(config_bytes));

  const auto count = cur.read<std::uint32_t>("the tensor count");
  // Every tensor takes at least 8 bytes, so a larger count cannot be real.
  if (count > cur.remaining() / 8)
    throw Error(ErrorKind::kBadFile, source + ": truncated file (" + std::to_string(count) + " tensors announced)");
  out.tensors.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    TensorRecord t;
    const auto name_bytes = cur.read<std::uint32_t>("a tensor name");
    if (name_bytes == 0 || name_bytes > kMaxNameBytes)
      throw Error(ErrorKind::kBadFile, source + ": tensor " + std::to_string(i) + " has an invalid name length " +
                  std::to_string(name_bytes));
    const std::uint8_t* name = cur.take(name_bytes, "a tensor name");
    t.name.assign(reinterpret_cast<const char*>(name), name_bytes);
    const auto ndim = cur.read<std::uint32_t>("a tensor shape");
    if (ndim > kMaxDims)
      throw Error(ErrorKind::kBadFile, source + ": tensor '" + t.name + "' has " + std::to_string(ndim) + " dimensions (at most " +
                  std::to_string(kMaxDims) + ")");
    std::uint64_t numel = 1;
    for (std::uint32_t d = 0; d < ndim; ++d) {
      const auto dim = cur.read<std::int64_t>("a tensor shape");
      if (dim < 0 || static_cast<std::uint64_t>(dim) > cur.remaining())
        throw Error(ErrorKind::kBadFile, source + ": tensor '" + t.name + "' has an impossible dimension " + std::to_string(dim));
      t.shape.push_back(dim);
      if (dim != 0 && numel > cur.remaining() / static_cast<std::uint64_t>(dim))
        throw Error(ErrorKind::kBadFile, source + ": truncated file (tensor '" + t.name + "' needs more data than the file holds)");
      numel *= static_cast<std::uint64_t>(dim);
    }
    const std::uint8_t* payload = cur.take(static_cast<std::size_t>(numel) * 4, "tensor data");
    t.data.resize(static_cast<std::size_t>(numel));
    // An empty tensor has no buffer: memcpy must not see its null pointer.
    if (numel > 0) std::memcpy(t.data.data(), payload, static_cast<std::size_t>(numel) * 4);
    out.tensors.push_back(std::move(t));
  }
  const std::size_t body = cur.pos();
  const auto stored = cur.read<std::uint32_t>("the checksum");
  if (cur.remaining() != 0)
    throw Error(ErrorKind::kBadFile, source + ": " + std::to_string(cur.remaining()) + " unexpected bytes after the checksum");
  if (crc32(data, body) != stored) throw Error(ErrorKind::kBadFile, source + ": checksum mismatch, the file is corrupt");
  return out;
}

BundleContents read_bundle_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error(ErrorKind::kNotFound, path + ": no such model file");
  if (fs::is_directory(st)) throw Error(ErrorKind::kBadFile, path + ": is a directory, not a model file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kBadFile, path + ": cannot open model file: " + errno_text());
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorKind::kBadFile, path + ": read error: " + errno_text());
  return parse_bundle(bytes.data(), bytes.size(), path);
}

std::vector<std::uint8_t> serialize_bundle(const BundleContents& c) {
  std::vector<std::uint8_t> out(kMagic, kMagic + sizeof(kMagic));
  put<std::uint32_t>(out, static_cast<std::uint32_t>(kFormatVersion));
  put<std::uint32_t>(out, 0);
  put<std::uint64_t>(out, c.config_json.size());
  out.insert(out.end(), c.config_json.begin(), c.config_json.end());
  put<std::uint32_t>(out, static_cast<std::uint32_t>(c.tensors.size()));
  for (const TensorRecord& t : c.tensors) {
    if (t.name.empty() || t.name.size() > kMaxNameBytes || t.shape.size() > kMaxDims ||
        t.numel() != static_cast<std::int64_t>(t.data.size()))
      throw Error("cannot serialise tensor '" + t.name + "': bad name, shape or size");
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.name.size()));
    out.insert(out.end(), t.name.begin(), t.name.end());
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.shape.size()));
    for (std::int64_t d : t.shape) put<std::int64_t>(out, d);
    const auto* p = reinterpret_cast<const std::uint8_t*>(t.data.data());
    out.insert(out.end(), p, p + t.data.size() * 4);
  }
  put<std::uint32_t>(out, crc32(out.data(), out.size()));
  return out;
}

void write_bundle_file(const std::string& path, const BundleContents& contents) {
  write_file_atomically(path, serialize_bundle(contents));
}

}  // namespace i2sbseg
