// SPDX-License-Identifier: MIT
// Frames of element instances that share a model, gathered into one
// Segmenter::segment_batch() call (the `batch-size` and `batch-timeout`
// properties; docs/design.md §5). No thread of its own: each streaming
// thread queues its frame and waits; whichever waiting thread sees a full
// batch, or its group's oldest frame past its timeout, runs that batch and
// hands every frame in it its result. GStreamer-free.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <i2sbseg/segmenter.h>

namespace i2sbseg_gst {

// What frames must share to go into one batch.
struct BatchKey {
  int width = 0, height = 0;
  i2sbseg::PixelLayout layout{};
  int nfe = 0;
  bool ot_ode = false;
  i2sbseg::OutputSize size = i2sbseg::OutputSize::kScaled;
  int threads = 0;
  i2sbseg::FrameMemory memory = i2sbseg::FrameMemory::kHost;  // where the frames' pixels are
  bool operator==(const BatchKey& o) const;
};

// One stream's frame. Its buffers (pixels, class map, overlay) must stay
// valid until submit() returns.
struct BatchRequest {
  const void* owner = nullptr;  // the element: set_flushing() withdraws its frame
  BatchKey key;
  i2sbseg::BatchFrame frame;
  unsigned batch_size = 1;                // frames that make a full batch
  std::chrono::milliseconds timeout{10};  // the longest this frame waits for others
};

enum class BatchOutcome { kDone, kCancelled, kFailed };

class FrameBatcher {
 public:
  // The batcher of `segmenter`'s users: created with the first, gone with
  // the last (it holds the model while any user holds it).
  static std::shared_ptr<FrameBatcher> for_segmenter(const std::shared_ptr<i2sbseg::Segmenter>& segmenter);

  explicit FrameBatcher(std::shared_ptr<i2sbseg::Segmenter> segmenter) : segmenter_(std::move(segmenter)) {}

  // Queues the frame and waits until the batch holding it has run: kDone
  // (outputs written), kFailed (`error` says why; every frame of that batch
  // fails alike), or kCancelled (withdrawn by set_flushing before it ran).
  // `ran_with` (optional): how many frames its batch held (for the log).
  BatchOutcome submit(const BatchRequest& request, std::string& error, unsigned* ran_with = nullptr);

  // While on, `owner`'s waiting frame is withdrawn (a frame already running
  // finishes) and its new frames are refused: flushing and stopping.
  void set_flushing(const void* owner, bool on);

 private:
  struct Entry;
  // The batch `me` can run now (removed from the queue), or empty; `wake`
  // is then when its group's oldest frame times out.
  std::list<Entry*> take_ready(const Entry& me, std::chrono::steady_clock::time_point& wake);
  // Runs `batch` with mutex_ released; marks its entries done or failed.
  void run(const std::list<Entry*>& batch, std::unique_lock<std::mutex>& lock);

  const std::shared_ptr<i2sbseg::Segmenter> segmenter_;
  // Never held across segment_batch() (which takes the model's own lock):
  // the lock order is FrameBatcher::mutex_ alone, then the model's, never both.
  std::mutex mutex_;
  std::condition_variable changed_;  // a frame queued, withdrawn or finished
  std::list<Entry*> waiting_;        // oldest first; entries live in submit()'s frame
  std::set<const void*> flushing_;   // owners whose frames are refused
};

}  // namespace i2sbseg_gst
