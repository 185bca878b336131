// SPDX-License-Identifier: MIT
// SIGINT/SIGTERM as a stop request a long library call polls (the library
// installs no handlers of its own).
#pragma once

#include <atomic>

namespace i2sbseg::tools {

// While alive: SIGINT and SIGTERM store their number in request() instead
// of ending the process, and SIGXFSZ is ignored so that a file-size limit
// makes a write fail with an error the caller reports instead of killing
// it mid-checkpoint. The previous dispositions come back on destruction.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // 0 until a signal came; then its number.
  static const std::atomic<int>& request();

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
  void (*old_xfsz_)(int);
};

// "SIGINT", "SIGTERM" or "a signal".
const char* signal_label(int sig);

}  // namespace i2sbseg::tools
