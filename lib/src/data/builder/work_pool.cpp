// SPDX-License-Identifier: MIT
#include "data/builder/work_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <opencv2/core/utility.hpp>

namespace i2sbseg::builder {

void parallel_for(int n, int threads, const std::function<void(int)>& fn) {
  threads = std::clamp(threads, 1, std::max(n, 1));
  std::atomic<int> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (int i = next++; i < n; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

OpenCvThreadsGuard::OpenCvThreadsGuard() : saved_(cv::getNumThreads()) { cv::setNumThreads(1); }
OpenCvThreadsGuard::~OpenCvThreadsGuard() { cv::setNumThreads(saved_); }

}  // namespace i2sbseg::builder
