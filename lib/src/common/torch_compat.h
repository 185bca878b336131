// SPDX-License-Identifier: MIT
// The one place for differences between LibTorch 1.13 (Debian) and 2.x
// (the GPU machines). Everything else uses APIs present in both.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#define I2SBSEG_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace i2sbseg::compat {

inline at::Generator cpu_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

}  // namespace i2sbseg::compat
