// SPDX-License-Identifier: MIT
#include "stop_signals.h"

#include <csignal>

namespace i2sbseg::tools {
namespace {

// Lock-free, so storing to it is async-signal-safe.
std::atomic<int> g_request{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int sig) { g_request.store(sig); }

}  // namespace

StopSignals::StopSignals() {
  g_request = 0;
  old_int_ = std::signal(SIGINT, on_stop_signal);
  old_term_ = std::signal(SIGTERM, on_stop_signal);
  old_xfsz_ = std::signal(SIGXFSZ, SIG_IGN);
}

StopSignals::~StopSignals() {
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
  std::signal(SIGXFSZ, old_xfsz_);
}

const std::atomic<int>& StopSignals::request() { return g_request; }

const char* signal_label(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "a signal";
}

}  // namespace i2sbseg::tools
