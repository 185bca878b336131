// SPDX-License-Identifier: MIT
#include "data/builder/build_log.h"

namespace i2sbseg::builder {

void Log::line(const std::string& s) {
  if (!out_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  *out_ << s << "\n" << std::flush;
}

}  // namespace i2sbseg::builder
