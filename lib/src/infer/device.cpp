// SPDX-License-Identifier: MIT
#include <i2sbseg/device.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <torch/cuda.h>

#include <i2sbseg/error.h>

namespace i2sbseg {

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (name.size() > 5) {
      const std::string n = name.substr(5);
      if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos)
        throw Error("device '" + name + "': expected cuda:N with N a GPU index");
      index = std::stoi(n);
    }
    if (!torch::cuda::is_available())
      throw Error("device '" + name + "': no usable CUDA GPU (this LibTorch has no CUDA support or sees no GPU)");
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw Error("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) + " GPU(s) present");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("device '" + name + "': expected auto, cpu, cuda or cuda:N");
}

bool is_auto_cpu_fallback(const std::string& name, const torch::Device& resolved) {
  return name == "auto" && resolved.is_cpu();
}

int inference_threads(int requested) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("OMP_NUM_THREADS"))
    if (std::atoi(env) > 0) return std::atoi(env);
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

torch::ScalarType parse_precision(const std::string& name, const torch::Device& device) {
  if (name == "auto") return device.is_cuda() ? torch::kHalf : torch::kFloat32;
  if (name == "fp32") return torch::kFloat32;
  if (name == "fp16") return torch::kHalf;
  if (name == "bf16") return torch::kBFloat16;
  throw Error("precision '" + name + "': expected auto, fp32, fp16 or bf16");
}

std::string precision_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf: return "fp16";
    case torch::kBFloat16: return "bf16";
    default: return "fp32";
  }
}

}  // namespace i2sbseg
