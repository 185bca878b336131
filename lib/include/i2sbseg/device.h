// SPDX-License-Identifier: MIT
// Devices as LibTorch's torch::Device (the names users write, and the typed
// DeviceId, are in <i2sbseg/device_id.h>).
#pragma once

#include <string>

#include <torch/types.h>

#include <i2sbseg/device_id.h>
#include <i2sbseg/precision.h>

namespace i2sbseg {

// resolve_device(name) as a torch::Device: "auto" picks cuda:0 when LibTorch
// has CUDA and a GPU is present, else cpu. Throws as resolve_device.
torch::Device parse_device(const std::string& name);
torch::Device to_torch(const DeviceId& device);
DeviceId device_id_of(const torch::Device& device);

// Whether `name` is "auto" and resolved to the CPU (callers log the fallback).
bool is_auto_cpu_fallback(const std::string& name, const torch::Device& resolved);

// CPU threads for inference: `requested` when > 0, else $OMP_NUM_THREADS
// when set, else one per core.
int inference_threads(int requested = 0);

// The scalar type a precision runs in on `device` (auto: fp16 on CUDA, fp32
// on the CPU).
torch::ScalarType scalar_type(Precision precision, const torch::Device& device);
// The precision of a scalar type (kFp32 for anything but half and bfloat16).
Precision precision_of(torch::ScalarType dtype);

}  // namespace i2sbseg
