// SPDX-License-Identifier: MIT
#include "frame_batcher.h"

#include <algorithm>
#include <exception>
#include <map>
#include <vector>

#include "cuda_memory.h"

namespace i2sbseg_gst {

using Clock = std::chrono::steady_clock;

bool BatchKey::operator==(const BatchKey& o) const {
  return width == o.width && height == o.height && layout.bytes_per_pixel == o.layout.bytes_per_pixel &&
         layout.r == o.layout.r && layout.g == o.layout.g && layout.b == o.layout.b && nfe == o.nfe &&
         ot_ode == o.ot_ode && size == o.size && threads == o.threads && memory == o.memory;
}

struct FrameBatcher::Entry {
  enum class State { kWaiting, kRunning, kDone, kFailed, kCancelled };
  const BatchRequest* request = nullptr;
  Clock::time_point since;
  State state = State::kWaiting;
  std::string error;
  unsigned batch = 0;
};

std::shared_ptr<FrameBatcher> FrameBatcher::for_segmenter(const std::shared_ptr<i2sbseg::Segmenter>& segmenter) {
  // Keyed by the model's address: a live batcher holds its model, so the
  // address cannot be reused while the entry is alive.
  static std::mutex registry_mutex;
  static std::map<const i2sbseg::Segmenter*, std::weak_ptr<FrameBatcher>> registry;
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (auto it = registry.begin(); it != registry.end();) it = it->second.expired() ? registry.erase(it) : ++it;
  std::weak_ptr<FrameBatcher>& slot = registry[segmenter.get()];
  if (auto alive = slot.lock()) return alive;
  auto made = std::make_shared<FrameBatcher>(segmenter);
  slot = made;
  return made;
}

std::list<FrameBatcher::Entry*> FrameBatcher::take_ready(const Entry& me, Clock::time_point& wake) {
  std::list<Entry*> group;
  unsigned need = 0;
  wake = Clock::time_point::max();
  for (Entry* e : waiting_) {
    if (!(e->request->key == me.request->key)) continue;
    group.push_back(e);
    // Elements may disagree: the smallest batch-size and timeout win.
    need = need == 0 ? e->request->batch_size : std::min(need, e->request->batch_size);
    wake = std::min(wake, e->since + e->request->timeout);
  }
  need = std::max(need, 1u);
  if (group.size() < need && Clock::now() < wake) return {};
  while (group.size() > need) group.pop_back();  // the oldest `need` frames
  for (Entry* e : group) {
    e->state = Entry::State::kRunning;
    waiting_.remove(e);
  }
  return group;
}

void FrameBatcher::run(const std::list<Entry*>& batch, std::unique_lock<std::mutex>& lock) {
  const BatchKey& key = batch.front()->request->key;
  std::vector<i2sbseg::BatchFrame> frames;
  for (const Entry* e : batch) frames.push_back(e->request->frame);
  i2sbseg::SegmentParams params;
  params.nfe = key.nfe;
  params.ot_ode = key.ot_ode;
  params.output_size = key.size;
  params.threads = key.threads;
  params.memory = key.memory;
  std::string error;
  lock.unlock();
  try {
    int out_w = 0, out_h = 0;
    const PrimaryContextScope primary(segmenter_->device().cuda_index());
    segmenter_->segment_batch(key.width, key.height, key.layout, params, frames, out_w, out_h);
  } catch (const std::exception& e) {
    error = e.what();
  }
  lock.lock();
  for (Entry* e : batch) {
    e->state = error.empty() ? Entry::State::kDone : Entry::State::kFailed;
    e->error = error;
    e->batch = static_cast<unsigned>(batch.size());
  }
  changed_.notify_all();
}

BatchOutcome FrameBatcher::submit(const BatchRequest& request, std::string& error, unsigned* ran_with) {
  Entry me;
  me.request = &request;
  me.since = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  if (flushing_.count(request.owner)) return BatchOutcome::kCancelled;
  waiting_.push_back(&me);
  changed_.notify_all();  // others may now have a full batch
  while (me.state == Entry::State::kWaiting || me.state == Entry::State::kRunning) {
    if (me.state == Entry::State::kRunning) {  // in a batch another thread runs
      changed_.wait(lock);
      continue;
    }
    Clock::time_point wake;
    const std::list<Entry*> batch = take_ready(me, wake);
    if (!batch.empty())
      run(batch, lock);  // may not hold `me` (a smaller batch-size elsewhere): then loop
    else
      changed_.wait_until(lock, wake);
  }
  if (ran_with) *ran_with = me.batch;
  if (me.state == Entry::State::kCancelled) return BatchOutcome::kCancelled;
  if (me.state == Entry::State::kFailed) {
    error = me.error;
    return BatchOutcome::kFailed;
  }
  return BatchOutcome::kDone;
}

void FrameBatcher::set_flushing(const void* owner, bool on) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!on) {
    flushing_.erase(owner);
    return;
  }
  flushing_.insert(owner);
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if ((*it)->request->owner != owner) {
      ++it;
      continue;
    }
    (*it)->state = Entry::State::kCancelled;
    it = waiting_.erase(it);
  }
  changed_.notify_all();
}

}  // namespace i2sbseg_gst
