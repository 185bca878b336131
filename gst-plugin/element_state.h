// SPDX-License-Identifier: MIT
// The i2sbseg element's C++ state and the instance struct that holds it,
// shared by the files that implement the element (gsti2sbseg*.cpp,
// model_loading.cpp, caps_negotiation.cpp, frame_path.cpp). GObject does not
// run C++ constructors on the instance struct: init creates ElementState and
// finalize deletes it.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <i2sbseg/pixel_layout.h>
#include <i2sbseg/segmenter.h>

#include "cuda_memory.h"
#include "frame_batcher.h"
#include "gsti2sbseg_types.h"
#include "results_file.h"
#include "steps_range.h"

GST_DEBUG_CATEGORY_EXTERN(gst_i2sbseg_debug);

namespace i2sbseg_gst {

constexpr const char* kDefaultDevice = "auto";
constexpr double kDefaultAlpha = 0.5;
constexpr guint kDefaultBatchTimeoutMs = 10;
// Smaller regions of a class are noise rather than objects to report.
constexpr guint kDefaultRoiMinArea = 16;
// A fragmented class map (noise, foliage) can hold thousands of regions,
// whose metas then cost more than the model on a GPU (docs/performance.md).
constexpr guint kDefaultRoiMax = 64;

// The property values, as set by the application (or a control binding).
struct Properties {
  std::string model_path;  // empty: the default model (default_model.h)
  std::string device = kDefaultDevice;
  guint steps = 0;
  bool ot_ode = false;
  guint64 seed = 0;
  double alpha = kDefaultAlpha;
  GstI2sbSegMode mode = GST_I2SBSEG_MODE_OVERLAY;
  guint interval = 1;
  GstI2sbSegOutputSize output_size = GST_I2SBSEG_OUTPUT_SIZE_SCALED;
  bool post_messages = false;
  bool roi_meta = true;
  guint roi_min_area = kDefaultRoiMinArea;  // pixels of the class map
  guint roi_max = kDefaultRoiMax;           // metas per frame, the largest regions; 0: all
  bool class_map_meta = true;
  GstI2sbSegUpscale upscale = GST_I2SBSEG_UPSCALE_NEAREST;
  guint threads = 0;
  GstI2sbSegPrecision precision = GST_I2SBSEG_PRECISION_AUTO;
  guint batch_size = 1;  // > 1: batch frames with other elements on the same model
  guint batch_timeout = kDefaultBatchTimeoutMs;
  std::string results_location;  // empty: none; "-": standard output
};

// Properties are set from any thread (the application's; the streaming
// thread's when a control binding syncs `alpha`) and read by the streaming
// thread and caps queries: readers take a copy. A mutex of its own rather
// than the object lock, so that no path holds both (set_property reads the
// element's state under the object lock before taking this one).
// The loaded model's StepsRange lives under the same lock, so that a `steps`
// set while start() opens a model is either checked against it here or seen
// by start()'s own check, never neither.
class Settings {
 public:
  Properties get() const {
    std::lock_guard<std::mutex> lock(lock_);
    return props_;
  }
  template <typename F>
  void update(F&& change) {
    std::lock_guard<std::mutex> lock(lock_);
    change(props_);
  }
  // Sets `steps` if the loaded model takes it; else leaves it and returns
  // why not (steps_problem).
  std::string update_steps(guint steps) {
    std::lock_guard<std::mutex> lock(lock_);
    std::string problem = steps_problem(steps_range_, steps);
    if (problem.empty()) props_.steps = steps;
    return problem;
  }
  // The range of the model start() loaded (an empty one at stop()); returns
  // the properties in force from now on, to check `steps` against it.
  Properties set_steps_range(StepsRange range) {
    std::lock_guard<std::mutex> lock(lock_);
    steps_range_ = std::move(range);
    return props_;
  }

 private:
  mutable std::mutex lock_;
  Properties props_;         // Protected by lock_.
  StepsRange steps_range_;   // Protected by lock_.
};

// What one stream needs between start() and stop(). No lock: touched only by
// the streaming thread (transform, set_caps and serialized sink events such as
// FLUSH_STOP, all under the sink pad's stream lock) and by start()/stop(),
// which GstBaseTransform calls while its pads are inactive, when no streaming
// thread runs.
struct StreamState {
  std::shared_ptr<i2sbseg::Segmenter> segmenter;  // shared with other elements
  // batch-size > 1: the model's batcher, shared with its other users. Also
  // read (not changed) by FLUSH_START and the PAUSED->READY change, which
  // withdraw this element's waiting frame from it.
  std::shared_ptr<FrameBatcher> batcher;
  // Negotiated in set_caps: the sizes, format, mode and output size in force.
  GstVideoInfo in_info{};
  GstVideoInfo out_info{};
  i2sbseg::PixelLayout layout{};
  GstI2sbSegMode mode = GST_I2SBSEG_MODE_OVERLAY;
  i2sbseg::OutputSize size = i2sbseg::OutputSize::kScaled;
  // memory:CUDAMemory caps: frames of our CUDA context go to the model in
  // place (others through host memory).
  bool cuda_caps = false;
  bool warned_cuda_copy = false;  // such frames that went through host memory were logged
  // The last class map (map_w x map_h), reused for `interval` frames.
  std::vector<std::uint8_t> class_map;
  int map_w = 0, map_h = 0;
  bool have_map = false;
  guint64 frame_index = 0;
  // A buffer larger than the caps say without a GstVideoMeta was reported.
  bool warned_size = false;
  // results-location: opened by start(), one line per output frame.
  std::unique_ptr<ResultsFile> results;

  // A new stream, or a seek: the next frame runs the model.
  void reset_map() {
    have_map = false;
    frame_index = 0;
  }
};

struct ElementState {
  Settings settings;
  StreamState stream;
  // The loaded model's scale factor (0: none loaded). Written by start() and
  // stop(); read by caps queries, which may come from any thread.
  std::atomic<int> model_scale{0};
  // The loaded model's CUDA device index, -1 on the CPU or with no model
  // (caps queries offer memory:CUDAMemory only on a GPU; the CUDA context
  // shared with the pipeline is this device's). Written by start() and stop().
  std::atomic<int> model_cuda_device{-1};
  // The CUDA context shared with the pipeline (memory:CUDAMemory caps).
  CudaMemoryState cuda;
  // The slowest inference so far (ns): what latency queries add. Written by
  // the streaming thread; read by latency queries from any thread.
  std::atomic<GstClockTime> latency{0};
};

// The source pad's size / the sink pad's size: 1 with output-size=input, the
// model's scale factor otherwise (0 while no model is loaded: unknown).
inline int size_factor(const ElementState& state, GstI2sbSegOutputSize output_size) {
  return output_size == GST_I2SBSEG_OUTPUT_SIZE_INPUT ? 1 : state.model_scale.load();
}

// GstBaseTransform's class, for chaining up from any of the element's files.
GstBaseTransformClass* parent_class();

}  // namespace i2sbseg_gst

struct _GstI2sbSeg {
  GstBaseTransform parent;
  i2sbseg_gst::ElementState* state;
};
