// SPDX-License-Identifier: MIT
// Strings and tensors in LibTorch archives (packed datasets, checkpoints).
#pragma once

#include <string>

#include <torch/serialize/input-archive.h>
#include <torch/types.h>

namespace i2sbseg::archive {

inline torch::Tensor from_string(const std::string& s) {
  return torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())}, torch::kUInt8).clone();
}

inline std::string to_string(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<std::uint8_t>()), static_cast<size_t>(c.numel()));
}

// InputArchive::read() set_()s a defined tensor in place, which would alias
// every tensor read through one variable: always read into a fresh one.
inline torch::Tensor read(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor t;
  a.read(key, t);
  return t;
}

}  // namespace i2sbseg::archive
