// SPDX-License-Identifier: MIT
// Configure-time probe: does clang++ link -fsanitize=fuzzer here?
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
