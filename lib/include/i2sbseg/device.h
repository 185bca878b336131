// SPDX-License-Identifier: MIT
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

// CPU threads for inference: `requested` when > 0, else $OMP_NUM_THREADS
// when set, else one per core.
int inference_threads(int requested = 0);

// Inference precision names: auto (fp16 on CUDA, fp32 on the CPU), fp32,
// fp16, bf16. Throws Error naming the value when it is none of these.
torch::ScalarType parse_precision(const std::string& name, const torch::Device& device);
// "fp32", "fp16", "bf16".
std::string precision_name(torch::ScalarType dtype);

}  // namespace i2sbseg
