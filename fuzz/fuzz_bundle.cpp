// SPDX-License-Identifier: MIT
// libFuzzer target over the bundle loader's torch-free half: the container
// (parse_bundle) and the config it carries (ModelConfig::from_json). Every
// input must either load or be rejected with an i2sbseg::Error that says
// what is wrong; any other exception, a crash or a sanitizer report is a bug.
//
// Build: meson builds it as fuzz/fuzz_bundle when clang++ supports
// -fsanitize=fuzzer (the `fuzz` test runs it briefly); see fuzz/README.md.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <i2sbseg/bundle.h>
#include <i2sbseg/config.h>
#include <i2sbseg/error.h>

namespace {

[[noreturn]] void bug(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_bundle: %s: %s\n", what, detail.c_str());
  std::abort();
}

// A rejection must be an Error whose text starts with the prefix that names
// the input ("<source>: " for the container, "config: ..." for the JSON).
void load(const std::uint8_t* data, std::size_t size) {
  static const std::string source = "fuzz-input.i2sb";
  i2sbseg::BundleContents contents;
  try {
    contents = i2sbseg::parse_bundle(data, size, source);
  } catch (const i2sbseg::Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(source + ": ", 0) != 0 || msg.size() <= source.size() + 2)
      bug("a container rejection does not name the input", msg);
    return;
  } catch (const std::exception& e) {
    bug("parse_bundle threw something other than i2sbseg::Error", e.what());
  }
  // What the parser accepted must be self-consistent.
  for (const i2sbseg::TensorRecord& t : contents.tensors)
    if (t.numel() != static_cast<std::int64_t>(t.data.size())) bug("tensor size disagrees with its shape", t.name);
  try {
    const i2sbseg::ModelConfig config = i2sbseg::ModelConfig::from_json(contents.config_json);
    // An accepted config must survive its own round trip.
    const i2sbseg::ModelConfig again = i2sbseg::ModelConfig::from_json(config.to_json());
    if (again.to_json() != config.to_json()) bug("config does not round-trip", config.to_json());
  } catch (const i2sbseg::Error& e) {
    const std::string msg = e.what();
    if (msg.rfind("config", 0) != 0) bug("a config rejection does not say it is the config", msg);
  } catch (const std::exception& e) {
    bug("ModelConfig::from_json threw something other than i2sbseg::Error", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  load(data, size);
  // Random bytes almost never carry a valid CRC-32, which would keep the
  // mutations from reaching the config: also try the input with its last
  // four bytes replaced by the checksum of the rest.
  if (size >= 4) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::uint32_t crc = i2sbseg::crc32(fixed.data(), size - 4);
    for (int i = 0; i < 4; ++i) fixed[size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    load(fixed.data(), fixed.size());
  }
  return 0;
}
