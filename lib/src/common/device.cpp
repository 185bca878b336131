// SPDX-License-Identifier: MIT
#include <i2sbseg/device.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <torch/cuda.h>

#include <i2sbseg/error.h>

namespace i2sbseg {

namespace {

// A malformed or unusable device is an option error on the "device" field.
[[noreturn]] void bad_device(const std::string& name, const std::string& why) {
  throw Error(ErrorKind::kInvalidOption, "device '" + name + "': " + why, "device");
}

}  // namespace

std::string DeviceId::name() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

DeviceRequest parse_device_request(const std::string& name) {
  DeviceRequest r;
  if (name == "auto") {
    r.is_auto = true;
    return r;
  }
  if (name == "cpu") return r;
  if (name != "cuda" && name.rfind("cuda:", 0) != 0) bad_device(name, "expected auto, cpu, cuda or cuda:N");
  r.device = {DeviceId::Kind::kCuda, 0};
  if (name.size() > 5) {
    const std::string n = name.substr(5);
    if (n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos)
      bad_device(name, "expected cuda:N with N a GPU index");
    r.device.index = std::stoi(n);
  } else if (name.size() == 5) {
    bad_device(name, "expected cuda:N with N a GPU index");
  }
  return r;
}

DeviceId resolve_device(const std::string& name) {
  const DeviceRequest r = parse_device_request(name);
  if (r.is_auto) return torch::cuda::is_available() ? DeviceId{DeviceId::Kind::kCuda, 0} : DeviceId{};
  if (!r.device.is_cuda()) return r.device;
  if (!torch::cuda::is_available())
    bad_device(name, "no usable CUDA GPU (this LibTorch has no CUDA support or sees no GPU)");
  if (r.device.index >= static_cast<int>(torch::cuda::device_count()))
    bad_device(name, "only " + std::to_string(torch::cuda::device_count()) + " GPU(s) present");
  return r.device;
}

torch::Device to_torch(const DeviceId& d) {
  return d.is_cuda() ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(d.index)) : torch::Device(torch::kCPU);
}

DeviceId device_id_of(const torch::Device& d) {
  return d.is_cuda() ? DeviceId{DeviceId::Kind::kCuda, d.has_index() ? d.index() : 0} : DeviceId{};
}

torch::Device parse_device(const std::string& name) { return to_torch(resolve_device(name)); }

bool is_auto_cpu_fallback(const std::string& name, const torch::Device& resolved) {
  return name == "auto" && resolved.is_cpu();
}

int inference_threads(int requested) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("OMP_NUM_THREADS"))
    if (std::atoi(env) > 0) return std::atoi(env);
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

torch::ScalarType scalar_type(Precision precision, const torch::Device& device) {
  switch (precision) {
    case Precision::kAuto: return device.is_cuda() ? torch::kHalf : torch::kFloat32;
    case Precision::kFp32: return torch::kFloat32;
    case Precision::kFp16: return torch::kHalf;
    case Precision::kBf16: return torch::kBFloat16;
  }
  return torch::kFloat32;
}

Precision precision_of(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf: return Precision::kFp16;
    case torch::kBFloat16: return Precision::kBf16;
    default: return Precision::kFp32;
  }
}

}  // namespace i2sbseg
