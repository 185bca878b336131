// SPDX-License-Identifier: MIT
// The builder's progress and warning lines, whole lines from any thread.
#pragma once

#include <mutex>
#include <ostream>
#include <string>

namespace i2sbseg::builder {

class Log {
 public:
  explicit Log(std::ostream* out) : out_(out) {}  // nullptr: quiet
  void line(const std::string& s);
  void warn(const std::string& s) { line("warning: " + s); }

 private:
  std::ostream* out_;
  std::mutex mutex_;
};

}  // namespace i2sbseg::builder
