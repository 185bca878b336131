// SPDX-License-Identifier: MIT
// Arithmetic of the networks at inference. Torch-free: the element and
// applications name a precision without LibTorch headers; device.h maps it to
// a LibTorch scalar type.
#pragma once

#include <string>

namespace i2sbseg {

enum class Precision {
  kAuto,  // fp16 on a CUDA device, fp32 on the CPU
  kFp32,
  kFp16,
  kBf16,
};

// "auto", "fp32", "fp16", "bf16".
const char* precision_name(Precision precision);
// The inverse; throws Error (kInvalidOption, field "precision") naming the value.
Precision precision_from_name(const std::string& name);

}  // namespace i2sbseg
