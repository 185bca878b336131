// SPDX-License-Identifier: MIT
#include "gsti2sbseg_props.h"

#include <gst/gst.h>

#include <string>

#include "default_model.h"
#include "element_state.h"

namespace i2sbseg_gst {
namespace {

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_STEPS,
  PROP_OT_ODE,
  PROP_SEED,
  PROP_ALPHA,
  PROP_MODE,
  PROP_INTERVAL,
  PROP_OUTPUT_SIZE,
  PROP_POST_MESSAGES,
  PROP_ROI_META,
  PROP_CLASS_MAP_META,
  PROP_UPSCALE,
  PROP_THREADS,
  PROP_PRECISION,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_ROI_MIN_AREA,
  PROP_ROI_MAX,
  PROP_RESULTS_LOCATION,
};

// Model-shaping properties (GST_PARAM_MUTABLE_READY) change only in NULL or
// READY: the model is loaded and the caps negotiated on the way to PAUSED.
bool changeable_now(GstI2sbSeg* self, const char* name) {
  GST_OBJECT_LOCK(self);
  const GstState current = GST_STATE(self);
  GST_OBJECT_UNLOCK(self);
  if (current <= GST_STATE_READY) return true;
  GST_ELEMENT_WARNING(self, CORE, STATE_CHANGE,
                      ("Property '%s' can only change in the NULL or READY state; the change is ignored", name),
                      ("current state %s", gst_element_state_get_name(current)));
  return false;
}

std::string string_or(const GValue* value, const char* fallback) {
  const char* s = g_value_get_string(value);
  return s && *s ? s : fallback;
}

}  // namespace

void set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstI2sbSeg* self = GST_I2SBSEG(object);
  if ((pspec->flags & GST_PARAM_MUTABLE_READY) && !changeable_now(self, pspec->name)) return;
  if (prop_id == PROP_STEPS) {  // checked against the loaded model, if any
    const guint steps = g_value_get_uint(value);
    const std::string problem = self->state->settings.update_steps(steps);
    if (!problem.empty())
      GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s; the change is ignored", problem.c_str()),
                          ("steps stays %u", self->state->settings.get().steps));
    return;
  }
  self->state->settings.update([&](Properties& p) {
    switch (prop_id) {
      case PROP_MODEL: p.model_path = string_or(value, ""); break;
      case PROP_DEVICE: p.device = string_or(value, kDefaultDevice); break;
      case PROP_OT_ODE: p.ot_ode = g_value_get_boolean(value); break;
      case PROP_SEED: p.seed = g_value_get_uint64(value); break;
      case PROP_ALPHA: p.alpha = g_value_get_double(value); break;
      case PROP_MODE: p.mode = static_cast<GstI2sbSegMode>(g_value_get_enum(value)); break;
      case PROP_INTERVAL: p.interval = g_value_get_uint(value); break;
      case PROP_OUTPUT_SIZE: p.output_size = static_cast<GstI2sbSegOutputSize>(g_value_get_enum(value)); break;
      case PROP_POST_MESSAGES: p.post_messages = g_value_get_boolean(value); break;
      case PROP_ROI_META: p.roi_meta = g_value_get_boolean(value); break;
      case PROP_ROI_MIN_AREA: p.roi_min_area = g_value_get_uint(value); break;
      case PROP_ROI_MAX: p.roi_max = g_value_get_uint(value); break;
      case PROP_CLASS_MAP_META: p.class_map_meta = g_value_get_boolean(value); break;
      case PROP_UPSCALE: p.upscale = static_cast<GstI2sbSegUpscale>(g_value_get_enum(value)); break;
      case PROP_THREADS: p.threads = g_value_get_uint(value); break;
      case PROP_PRECISION: p.precision = static_cast<GstI2sbSegPrecision>(g_value_get_enum(value)); break;
      case PROP_BATCH_SIZE: p.batch_size = g_value_get_uint(value); break;
      case PROP_BATCH_TIMEOUT: p.batch_timeout = g_value_get_uint(value); break;
      case PROP_RESULTS_LOCATION: p.results_location = string_or(value, ""); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
    }
  });
}

void get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  const Properties p = GST_I2SBSEG(object)->state->settings.get();
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, p.model_path.empty() ? nullptr : p.model_path.c_str()); break;
    case PROP_DEVICE: g_value_set_string(value, p.device.c_str()); break;
    case PROP_STEPS: g_value_set_uint(value, p.steps); break;
    case PROP_OT_ODE: g_value_set_boolean(value, p.ot_ode); break;
    case PROP_SEED: g_value_set_uint64(value, p.seed); break;
    case PROP_ALPHA: g_value_set_double(value, p.alpha); break;
    case PROP_MODE: g_value_set_enum(value, p.mode); break;
    case PROP_INTERVAL: g_value_set_uint(value, p.interval); break;
    case PROP_THREADS: g_value_set_uint(value, p.threads); break;
    case PROP_OUTPUT_SIZE: g_value_set_enum(value, p.output_size); break;
    case PROP_POST_MESSAGES: g_value_set_boolean(value, p.post_messages); break;
    case PROP_ROI_META: g_value_set_boolean(value, p.roi_meta); break;
    case PROP_ROI_MIN_AREA: g_value_set_uint(value, p.roi_min_area); break;
    case PROP_ROI_MAX: g_value_set_uint(value, p.roi_max); break;
    case PROP_CLASS_MAP_META: g_value_set_boolean(value, p.class_map_meta); break;
    case PROP_UPSCALE: g_value_set_enum(value, p.upscale); break;
    case PROP_PRECISION: g_value_set_enum(value, p.precision); break;
    case PROP_BATCH_SIZE: g_value_set_uint(value, p.batch_size); break;
    case PROP_BATCH_TIMEOUT: g_value_set_uint(value, p.batch_timeout); break;
    case PROP_RESULTS_LOCATION:
      g_value_set_string(value, p.results_location.empty() ? nullptr : p.results_location.c_str());
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

void install_properties(GObjectClass* gobject_class) {
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto ready_only = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY);
  const auto live = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING);

  // The blurb names the build's installed default (a copy: not static).
  const std::string model_blurb =
      std::string("Path of the model bundle to load (written by 'i2sbseg train'); when unset, "
                  "$I2SBSEG_DEFAULT_MODEL if set, else the installed default model ") +
      installed_default_model();
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model", model_blurb.c_str(), nullptr,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_NAME | G_PARAM_STATIC_NICK |
                                                   GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the model runs: auto (a CUDA GPU when usable, else the CPU), cpu, cuda or cuda:N",
                          kDefaultDevice, ready_only));
  /**
   * GstI2sbSeg:steps:
   *
   * Bridge steps (network evaluations, NFE) per frame. 0 uses the model's
   * default, else 1 to the model's schedule steps - 1. A value beyond that
   * fails the change to PAUSED; set while a model is loaded, it is refused
   * with a RESOURCE SETTINGS warning naming the range, and the old value
   * stays.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_STEPS,
      g_param_spec_uint("steps", "Steps", "Bridge steps per frame (0: the model's default); checked against the model",
                        0, 999, 0, live));
  g_object_class_install_property(
      gobject_class, PROP_OT_ODE,
      g_param_spec_boolean("ot-ode", "OT-ODE", "Deterministic sampling (no noise) instead of the stochastic bridge",
                           FALSE, live));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed", "Seed of the sampling noise, reused for every frame", 0, G_MAXUINT64, 0,
                          live));
  g_object_class_install_property(
      gobject_class, PROP_ALPHA,
      g_param_spec_double("alpha", "Alpha",
                          "Opacity of the class colours in overlay mode (0: the upscaled frame); controllable",
                          0.0, 1.0, kDefaultAlpha, static_cast<GParamFlags>(live | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "What the source pad carries", GST_TYPE_I2SBSEG_MODE,
                        GST_I2SBSEG_MODE_OVERLAY, ready_only));
  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint("interval", "Interval",
                        "Run the model on every Nth frame and reuse its class map for the frames between", 1,
                        G_MAXUINT, 1, live));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_uint("threads", "Threads",
                        "CPU threads for inference (0: $OMP_NUM_THREADS if set, else one per CPU core)", 0, 1024, 0,
                        live));
  g_object_class_install_property(
      gobject_class, PROP_OUTPUT_SIZE,
      g_param_spec_enum("output-size", "Output size", "Size of the source pad's frames",
                        GST_TYPE_I2SBSEG_OUTPUT_SIZE, GST_I2SBSEG_OUTPUT_SIZE_SCALED, ready_only));
  /**
   * GstI2sbSeg:post-messages:
   *
   * Posts an element message named "i2sbseg" per frame with the fields
   * timestamp, model-ran, inference-time (ns), class-names and
   * class-shares (the fraction of the frame's pixels per class).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post an element message 'i2sbseg' per frame (inference time, class shares)", FALSE,
                           live));
  /**
   * GstI2sbSeg:roi-meta:
   *
   * Attaches a GstVideoRegionOfInterestMeta per connected region
   * (8-connected) of each class but 0, the background, of at least
   * roi-min-area pixels: its bounding box in output pixels, typed with the
   * class name, with an "i2sbseg/class" param holding class-index,
   * class-name, pixel-share (of the frame) and pixels (the region's count).
   * At most roi-max per frame.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ROI_META,
      g_param_spec_boolean("roi-meta", "ROI meta",
                           "Attach a GstVideoRegionOfInterestMeta per region of each class but the background",
                           TRUE, live));
  g_object_class_install_property(
      gobject_class, PROP_ROI_MIN_AREA,
      g_param_spec_uint("roi-min-area", "ROI minimum area",
                        "Smallest region, in pixels of the class map (the output frame's size), that roi-meta "
                        "reports; smaller ones are noise (0 or 1: every region)",
                        0, G_MAXUINT, kDefaultRoiMinArea, live));
  /**
   * GstI2sbSeg:roi-max:
   *
   * The most ROI metas per frame: the regions of most pixels, still in
   * raster order (0: no limit). A fragmented class map can hold thousands
   * of regions, whose metas then cost more than the model; how many were
   * left out is logged at LOG level.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ROI_MAX,
      g_param_spec_uint("roi-max", "ROI metas at most", "Most ROI metas per frame, the largest regions (0: no limit)",
                        0, G_MAXUINT, kDefaultRoiMax, live));
  g_object_class_install_property(
      gobject_class, PROP_CLASS_MAP_META,
      g_param_spec_boolean("class-map-meta", "Class map meta",
                           "Attach a GstI2sbSegMeta (<i2sbseg/i2sbsegmeta.h>) with the class map, class names and "
                           "colours to each output buffer",
                           TRUE, live));
  g_object_class_install_property(
      gobject_class, PROP_UPSCALE,
      g_param_spec_enum("upscale", "Upscale", "How overlay mode enlarges the input frame under the class colours",
                        GST_TYPE_I2SBSEG_UPSCALE, GST_I2SBSEG_UPSCALE_NEAREST, live));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision",
                        "Arithmetic of the networks (the bridge's own maths stays fp32); a precision the device "
                        "cannot run fails the change to PAUSED",
                        GST_TYPE_I2SBSEG_PRECISION, GST_I2SBSEG_PRECISION_AUTO, ready_only));
  /**
   * GstI2sbSeg:batch-size:
   *
   * 1: each frame runs alone. N > 1: this element's frames run in one batch
   * with those of other i2sbseg elements in the process sharing the model
   * (same file, device and precision) whose batch-size is also > 1, once N
   * frames of one size and the same steps, ot-ode, output-size and threads
   * have gathered or batch-timeout has passed. Each frame keeps its own
   * seed and gives the class map it would give alone. Speeds up GPUs; on
   * the CPU a batch's frames run one after another (no gain there).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Frames batched with other elements on the same model (1: alone; see batch-timeout)", 1, 256,
                        1, ready_only));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint("batch-timeout", "Batch timeout",
                        "With batch-size > 1: the longest (ms) a frame waits for others before its partial batch "
                        "runs (added to the element's latency)",
                        0, 60000, kDefaultBatchTimeoutMs, live));
  /**
   * GstI2sbSeg:results-location:
   *
   * A file to append one JSON object per output frame to, each on a line
   * of its own and flushed as the frame leaves ("-": standard output;
   * unset: none): pts, frame size, model file, steps, whether the model ran
   * and its time, the share of each class and the regions the ROI metas
   * report (roi-min-area, roi-max). The schema is in docs/design.md §5. A
   * file that cannot be opened fails the change to PAUSED, naming it.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_RESULTS_LOCATION,
      g_param_spec_string("results-location", "Results location",
                          "File for one JSON line of results per frame ('-': standard output; unset: none)", nullptr,
                          ready_only));
}

}  // namespace i2sbseg_gst
