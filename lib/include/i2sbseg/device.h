// Device names as users write them: auto, cpu, cuda, cuda:N.
#pragma once

#include <string>

#include <torch/types.h>

namespace i2sbseg {

// "auto" picks cuda:0 when LibTorch has CUDA and a GPU is present, else cpu.
// Throws Error naming the value when it is malformed or the GPU is unusable.
torch::Device parse_device(const std::string& name);

// Whether `name` is "auto" and resolved to the CPU (callers log the fallback).
bool is_auto_cpu_fallback(const std::string& name, const torch::Device& resolved);

}  // namespace i2sbseg
