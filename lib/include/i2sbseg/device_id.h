// SPDX-License-Identifier: MIT
// A device as a typed value (kind and index), and the one parser of the
// names users write: auto, cpu, cuda, cuda:N. Torch-free, so that the
// element reads a model's device without parsing or LibTorch headers.
#pragma once

#include <string>

namespace i2sbseg {

struct DeviceId {
  enum class Kind { kCpu, kCuda };
  Kind kind = Kind::kCpu;
  int index = -1;  // the GPU's index for kCuda; -1 for kCpu

  bool is_cuda() const { return kind == Kind::kCuda; }
  // The GPU's index, or -1 on the CPU (what CUDA context code takes).
  int cuda_index() const { return is_cuda() ? index : -1; }
  std::string name() const;  // "cpu", "cuda:N"
  bool operator==(const DeviceId& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const DeviceId& o) const { return !(*this == o); }
};

// A device name as written: auto, cpu, cuda (cuda:0) or cuda:N.
struct DeviceRequest {
  bool is_auto = false;
  DeviceId device;  // unless is_auto
};

// Parses a name without looking for GPUs. Throws Error (kInvalidOption,
// field "device") naming the value when it is malformed.
DeviceRequest parse_device_request(const std::string& name);

// The device `name` runs on in this process: "auto" is cuda:0 when
// LibTorch has CUDA support and sees a GPU, else the CPU (the only meaning
// of auto, for the library and the element alike). Throws Error
// (kInvalidOption, field "device") naming the value when it is malformed
// or names a GPU that is missing or unusable.
DeviceId resolve_device(const std::string& name);

}  // namespace i2sbseg
