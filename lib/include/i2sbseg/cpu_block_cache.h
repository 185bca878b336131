// SPDX-License-Identifier: MIT
// A cache of LibTorch's CPU tensor blocks for the frame path (torch-free;
// docs/design.md §5 "CPU memory"). A frame allocates the same large
// intermediate tensors every time; glibc hands blocks over its mmap
// threshold back to the kernel on free, so every frame faulted its pages
// in afresh and ran up to 2.5x slower, by an amount that depended on the
// process's history (docs/performance.md). Inside a FrameScope, blocks of
// kMinBytes or more come from, and go back to, per-size free lists capped
// at kCapBytes; everything else, and every allocation outside a scope (the
// host's own LibTorch work, model loading), goes to the allocator LibTorch
// had before. malloc itself is never changed. A block freed when no user
// is left goes straight back; tensors keep working whoever frees them.
#pragma once

#include <cstddef>

namespace i2sbseg {

class CpuBlockCache {
 public:
  static constexpr std::size_t kMinBytes = 64 * 1024;
  static constexpr std::size_t kCapBytes = std::size_t{512} << 20;

  // While one exists on a thread, that thread's large CPU tensor blocks
  // are cached. Nests.
  class FrameScope {
   public:
    FrameScope();
    ~FrameScope();
    FrameScope(const FrameScope&) = delete;
    FrameScope& operator=(const FrameScope&) = delete;
  };

  // Each Segmenter holds a user for its lifetime; the first installs the
  // cache as LibTorch's CPU allocator (once per process), the last one gone
  // frees every cached block.
  static void add_user();
  static void remove_user();
  // add_user() for its lifetime (a caller timing Model directly: bench).
  class User {
   public:
    User() { add_user(); }
    ~User() { remove_user(); }
    User(const User&) = delete;
    User& operator=(const User&) = delete;
  };

  struct Stats {
    std::size_t cached_bytes = 0;  // in the free lists
    std::size_t live_bytes = 0;    // handed out and not yet freed
    std::size_t hits = 0, misses = 0;
  };
  static Stats stats();
};

}  // namespace i2sbseg
