// SPDX-License-Identifier: MIT
#include <i2sbseg/precision.h>

#include <i2sbseg/error.h>

namespace i2sbseg {

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kAuto: return "auto";
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
  }
  return "auto";
}

Precision precision_from_name(const std::string& name) {
  for (Precision p : {Precision::kAuto, Precision::kFp32, Precision::kFp16, Precision::kBf16})
    if (name == precision_name(p)) return p;
  throw Error(ErrorKind::kInvalidOption, "precision '" + name + "': expected auto, fp32, fp16 or bf16", "precision");
}

}  // namespace i2sbseg
