// SPDX-License-Identifier: MIT
#include "model_loading.h"

#include <exception>
#include <memory>
#include <string>

#include <i2sbseg/error.h>

#include "cuda_memory.h"
#include "default_model.h"
#include "element_state.h"

#define GST_CAT_DEFAULT gst_i2sbseg_debug

namespace i2sbseg_gst {
namespace {

i2sbseg::Precision to_library(GstI2sbSegPrecision precision) {
  switch (precision) {
    case GST_I2SBSEG_PRECISION_FP32: return i2sbseg::Precision::kFp32;
    case GST_I2SBSEG_PRECISION_FP16: return i2sbseg::Precision::kFp16;
    case GST_I2SBSEG_PRECISION_BF16: return i2sbseg::Precision::kBf16;
    case GST_I2SBSEG_PRECISION_AUTO: break;
  }
  return i2sbseg::Precision::kAuto;
}

// Posts the error for a model that could not be loaded, chosen by the
// library's error kind and field (never by its text): the message says which
// file or property is at fault; the library's own words go to the debug text.
void post_load_error(GstI2sbSeg* self, const i2sbseg::Error& e, const ModelChoice& model, const Properties& p) {
  const char* path = model.path.c_str();
  const char* origin = model.origin.c_str();
  const char* precision = i2sbseg::precision_name(to_library(p.precision));
  if (e.field() == "device") {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Cannot load model '%s' on device '%s' (property 'device')", path, p.device.c_str()),
                      ("%s", e.what()));
  } else if (e.field() == "precision") {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Cannot run model '%s' in precision %s (property 'precision') on device '%s'", path,
                       precision, p.device.c_str()),
                      ("%s", e.what()));
  } else if (e.kind() == i2sbseg::ErrorKind::kNotFound) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Model file '%s' (%s) does not exist", path, origin),
                      ("%s", e.what()));
  } else if (e.kind() == i2sbseg::ErrorKind::kBadFile) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      ("Cannot read model file '%s' (%s): it is unreadable or not a valid i2sbseg model bundle",
                       path, origin),
                      ("%s", e.what()));
  } else {
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Could not load model file '%s' (%s)", path, origin),
                      ("%s (device '%s', precision %s)", e.what(), p.device.c_str(), precision));
  }
}

// The shared model for `model` and the properties, or null after posting why not.
std::shared_ptr<i2sbseg::Segmenter> open_model(GstI2sbSeg* self, const ModelChoice& model, const Properties& p) {
  i2sbseg::SegmenterOptions options;
  options.device = p.device;
  options.precision = to_library(p.precision);
  options.cudnn_benchmark = true;  // a stream's frame size repeats
  try {
    bool fell_back = false;
    const PrimaryContextScope primary(i2sbseg::resolve_device(p.device).cuda_index());
    auto segmenter = i2sbseg::Segmenter::open(model.path, options, &fell_back);
    if (fell_back) GST_INFO_OBJECT(self, "device=auto: no usable CUDA GPU, running on the CPU");
    GST_INFO_OBJECT(self, "loaded model '%s' (%s) on %s in %s: x%d, %d classes, %s, default %d steps",
                    segmenter->model_path().c_str(), model.origin.c_str(), segmenter->device().name().c_str(),
                    i2sbseg::precision_name(segmenter->precision()), segmenter->scale_factor(),
                    segmenter->num_classes(), segmenter->has_bridge() ? "bridge" : "no bridge",
                    segmenter->default_nfe());
    return segmenter;
  } catch (const i2sbseg::Error& e) {
    post_load_error(self, e, model, p);
  } catch (const std::exception& e) {  // LibTorch's own errors
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Could not load model file '%s' (%s)", model.path.c_str(),
                                               model.origin.c_str()),
                      ("%s", e.what()));
  }
  return nullptr;
}

}  // namespace

gboolean start(GstBaseTransform* trans) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  ElementState& state = *self->state;
  const Properties p = state.settings.get();
  const ModelChoice model = choose_model(p.model_path);
  std::shared_ptr<i2sbseg::Segmenter> segmenter = open_model(self, model, p);
  if (!segmenter) return FALSE;
  // From here on set_property refuses a `steps` the model cannot take; the
  // value already set is checked now, failing the start rather than a frame.
  const StepsRange range = steps_range(*segmenter);
  const std::string steps = steps_problem(range, state.settings.set_steps_range(range).steps);
  if (!steps.empty()) {
    state.settings.set_steps_range({});
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", steps.c_str()),
                      ("model schedule of %d steps", range.schedule_steps));
    return FALSE;
  }
  state.stream = StreamState{};
  if (!p.results_location.empty()) {
    auto results = std::make_unique<ResultsFile>();
    std::vector<std::string> names;
    for (const auto& c : segmenter->classes()) names.push_back(c.name);
    const std::string why = results->open(p.results_location, segmenter->model_path(), names);
    if (!why.empty()) {
      state.settings.set_steps_range({});
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                        ("Cannot open '%s' (property 'results-location') for writing: %s",
                         p.results_location.c_str(), why.c_str()),
                        (nullptr));
      return FALSE;
    }
    state.stream.results = std::move(results);
  }
  state.stream.segmenter = std::move(segmenter);
  // Joined here, as batch-size changes only in NULL or READY.
  if (p.batch_size > 1) state.stream.batcher = FrameBatcher::for_segmenter(state.stream.segmenter);
  state.model_scale = state.stream.segmenter->scale_factor();
  state.model_cuda_device = state.stream.segmenter->device().cuda_index();
  return TRUE;
}

gboolean stop(GstBaseTransform* trans) {
  ElementState& state = *GST_I2SBSEG(trans)->state;
  if (state.stream.batcher) state.stream.batcher->set_flushing(&state, false);  // the batcher may outlive us
  state.stream = StreamState{};  // the shared model goes with its last user
  state.settings.set_steps_range({});
  state.model_scale = 0;
  state.model_cuda_device = -1;
  state.latency = 0;
  return TRUE;
}

}  // namespace i2sbseg_gst
