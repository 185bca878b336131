// SPDX-License-Identifier: MIT
// The builder's own threads: loading and rendering are split by index, so
// the output never depends on how many threads ran.
#pragma once

#include <functional>

namespace i2sbseg::builder {

// Runs fn(0..n-1) on up to `threads` threads; the first exception is rethrown.
void parallel_for(int n, int threads, const std::function<void(int)>& fn);

// OpenCV's own thread pool would fight ours: one thread while alive, then
// the caller's setting again.
class OpenCvThreadsGuard {
 public:
  OpenCvThreadsGuard();
  ~OpenCvThreadsGuard();
  OpenCvThreadsGuard(const OpenCvThreadsGuard&) = delete;
  OpenCvThreadsGuard& operator=(const OpenCvThreadsGuard&) = delete;

 private:
  int saved_;
};

}  // namespace i2sbseg::builder
