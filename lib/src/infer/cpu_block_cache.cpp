// SPDX-License-Identifier: MIT
#include <i2sbseg/cpu_block_cache.h>

#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/version.h>

// LibTorch 2.3 made allocate() non-const and added copy_data(); 1.13
// (Debian's) has neither. Only the 1.13 form is built in CI.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define I2SBSEG_ALLOCATOR_API_23 1
#endif

namespace i2sbseg {
namespace {

thread_local int scope_depth = 0;

class CachingAllocator final : public c10::Allocator {
 public:
#ifdef I2SBSEG_ALLOCATOR_API_23
  c10::DataPtr allocate(std::size_t n) override { return allocate_block(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#else
  c10::DataPtr allocate(std::size_t n) const override { return allocate_block(n); }
#endif

  c10::DataPtr allocate_block(std::size_t n) const {
    if (scope_depth == 0 || n < CpuBlockCache::kMinBytes) return fallback_->allocate(n);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(n);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= n;
        ++stats_.hits;
      } else {
        ++stats_.misses;
      }
    }
    if (p == nullptr) p = c10::alloc_cpu(n);  // throws on failure, as the default does
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.emplace(p, n);
      stats_.live_bytes += n;
    }
    return {p, p, &CachingAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }

  // raw_allocate/raw_deallocate (oneDNN's scratch space) free through this
  // whichever allocator a block came from.
  c10::DeleterFnPtr raw_deleter() const override { return &CachingAllocator::release; }

  void set_fallback(c10::Allocator* a) { fallback_ = a; }

  void add_user() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++users_;
  }

  void remove_user() {
    std::vector<void*> gone;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--users_ > 0) return;
      for (auto& [size, blocks] : free_) gone.insert(gone.end(), blocks.begin(), blocks.end());
      free_.clear();
      stats_.cached_bytes = 0;
    }
    for (void* p : gone) c10::free_cpu(p);
  }

  CpuBlockCache::Stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  static void release(void* p);

  void give_back(void* p) {
    enum { kFree, kKept, kNotOurs } what = kFree;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(p);
      if (it == live_.end()) {
        what = kNotOurs;
      } else {
        const std::size_t n = it->second;
        live_.erase(it);
        stats_.live_bytes -= n;
        // Kept while a Segmenter may want it again, up to the cap.
        if (users_ > 0 && stats_.cached_bytes + n <= CpuBlockCache::kCapBytes) {
          free_[n].push_back(p);
          stats_.cached_bytes += n;
          what = kKept;
        }
      }
    }
    if (what == kFree) c10::free_cpu(p);
    if (what == kNotOurs) {  // the fallback's block, freed raw (raw_deallocate)
      const c10::DeleterFnPtr d = fallback_->raw_deleter();
      if (d)
        d(p);
      else
        c10::free_cpu(p);
    }
  }

  c10::Allocator* fallback_ = nullptr;  // set once, before any allocate()
  // Protected by mutex_: users_, free_, live_, stats_.
  mutable std::mutex mutex_;
  int users_ = 0;
  mutable std::map<std::size_t, std::vector<void*>> free_;
  mutable std::unordered_map<void*, std::size_t> live_;
  mutable CpuBlockCache::Stats stats_;
};

// Never destroyed: LibTorch may free tensors after static destructors ran.
CachingAllocator& instance() {
  static auto* a = new CachingAllocator();
  return *a;
}

void CachingAllocator::release(void* p) { instance().give_back(p); }

}  // namespace

CpuBlockCache::FrameScope::FrameScope() { ++scope_depth; }
CpuBlockCache::FrameScope::~FrameScope() { --scope_depth; }

void CpuBlockCache::add_user() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    instance().set_fallback(c10::GetCPUAllocator());
    // Priority 1: above LibTorch's own (0); an allocator a host installed
    // with a higher one stays, and the cache then never sees a request.
    c10::SetCPUAllocator(&instance(), 1);
  });
  instance().add_user();
}

void CpuBlockCache::remove_user() { instance().remove_user(); }

CpuBlockCache::Stats CpuBlockCache::stats() { return instance().stats(); }

}  // namespace i2sbseg
