// SPDX-License-Identifier: MIT
/**
 * SECTION:element-i2sbseg
 * @title: i2sbseg
 *
 * Segments each video frame at the model's scale factor x its resolution:
 * the frame is upsampled, encoded, carried from the low- to the
 * high-resolution latent by an image-to-image Schroedinger bridge, and
 * decoded into per-pixel classes. The source pad carries the upscaled frame
 * with each class's colour blended in (mode=overlay), or the class indices
 * as GRAY8 (mode=mask). With output-size=input both keep the input size.
 *
 * The model (a bundle written by `i2sbseg train`) is loaded when the element
 * goes to PAUSED; a missing or bad model, or device=cuda without a usable
 * GPU, fails that state change with an error naming the file and problem.
 * Elements in one process with the same model file, device and precision
 * share it. precision=auto runs fp16 on a GPU and fp32 on the CPU; on a GPU
 * the frame is converted, segmented and drawn there (CUDA kernels, one
 * captured CUDA graph per frame size).
 *
 * Besides pixels, each output buffer carries a GstI2sbSegMeta with the class
 * map (`i2sbseg/i2sbsegmeta.h`, library gsti2sbsegmeta) and a
 * GstVideoRegionOfInterestMeta per class present; post-messages=true posts
 * an element message "i2sbseg" per frame with the inference time and the
 * share of each class. With interval=N the model runs on every Nth frame and
 * the frames between reuse its class map.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! video/x-raw,width=96,height=64 ! \
 *     videoconvert ! i2sbseg model=models/default.i2sb alpha=0.4 ! videoconvert ! autovideosink
 * ]| Shows a test pattern at 4x its size (for a x4 model) with the classes drawn over it.
 *
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! videoscale ! \
 *     video/x-raw,width=160,height=90 ! i2sbseg model=models/default.i2sb mode=mask ! \
 *     pngenc ! multifilesink location=mask-%05d.png
 * ]| Writes the class map of each frame as an 8-bit PNG.
 */
#include "gsti2sbseg.h"

#include "caps_scaling.h"
#include "frame_checks.h"
#include "frame_results.h"

#include <gst/video/video.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <i2sbseg/error.h>
#include <i2sbseg/segmenter.h>

GST_DEBUG_CATEGORY_STATIC(gst_i2sbseg_debug);
#define GST_CAT_DEFAULT gst_i2sbseg_debug

namespace {

constexpr const char* kFormats = "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx }";
constexpr const char* kDefaultDevice = "auto";
constexpr double kDefaultAlpha = 0.5;

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
};

// The element's C++ state, created in init and deleted in finalize (GObject
// does not run C++ constructors on the instance struct).
struct State {
  std::mutex lock;  // guards everything below against property/caps threads

  // Properties.
  std::string model_path;
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
  bool class_map_meta = true;
  GstI2sbSegUpscale upscale = GST_I2SBSEG_UPSCALE_NEAREST;
  guint threads = 0;
  GstI2sbSegPrecision precision = GST_I2SBSEG_PRECISION_AUTO;

  // Between start() and stop().
  std::shared_ptr<i2sbseg::Segmenter> segmenter;
  // Negotiated in set_caps (the mode and size in force for this stream).
  GstVideoInfo in_info{};
  GstVideoInfo out_info{};
  GstI2sbSegMode neg_mode = GST_I2SBSEG_MODE_OVERLAY;
  i2sbseg::OutputSize neg_size = i2sbseg::OutputSize::kScaled;
  // The last class map, reused for `interval` frames.
  std::vector<std::uint8_t> class_map;
  int map_w = 0, map_h = 0;
  bool have_map = false;
  guint64 frame_index = 0;
  // The slowest inference so far: what latency queries add. Raising it by
  // more than a fifth posts a latency message so that live pipelines requery.
  GstClockTime latency = 0;
  // A buffer larger than the caps say without a GstVideoMeta was reported.
  bool warned_size = false;

  // Output size / input size; 0 while no model is loaded (size unknown).
  int factor_locked() const {
    if (output_size == GST_I2SBSEG_OUTPUT_SIZE_INPUT) return 1;
    return segmenter ? segmenter->scale_factor() : 0;
  }
  void reset_map_locked() {
    have_map = false;
    frame_index = 0;
  }
};

bool layout_for(GstVideoFormat format, i2sbseg::PixelLayout& layout) {
  switch (format) {
    case GST_VIDEO_FORMAT_RGB: layout = {3, 0, 1, 2}; return true;
    case GST_VIDEO_FORMAT_BGR: layout = {3, 2, 1, 0}; return true;
    case GST_VIDEO_FORMAT_RGBA:
    case GST_VIDEO_FORMAT_RGBx: layout = {4, 0, 1, 2}; return true;
    case GST_VIDEO_FORMAT_BGRA:
    case GST_VIDEO_FORMAT_BGRx: layout = {4, 2, 1, 0}; return true;
    default: return false;
  }
}

}  // namespace

struct _GstI2sbSeg {
  GstBaseTransform parent;
  State* state;
};

G_DEFINE_TYPE_WITH_CODE(GstI2sbSeg, gst_i2sbseg, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_i2sbseg_debug, "i2sbseg", 0, "I2SB segmentation element"))
GST_ELEMENT_REGISTER_DEFINE(i2sbseg, "i2sbseg", GST_RANK_NONE, GST_TYPE_I2SBSEG);

GType gst_i2sbseg_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_MODE_OVERLAY, "The upscaled frame with class colours blended in", "overlay"},
      {GST_I2SBSEG_MODE_MASK, "Class indices as GRAY8", "mask"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegMode", values));
  return type;
}

GType gst_i2sbseg_output_size_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_OUTPUT_SIZE_SCALED, "The model's scale factor x the input size", "scaled"},
      {GST_I2SBSEG_OUTPUT_SIZE_INPUT, "The input size", "input"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegOutputSize", values));
  return type;
}

GType gst_i2sbseg_upscale_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_UPSCALE_NEAREST, "Nearest neighbour: each input pixel becomes a block", "nearest"},
      {GST_I2SBSEG_UPSCALE_BILINEAR, "Bilinear interpolation: smoother", "bilinear"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegUpscale", values));
  return type;
}

GType gst_i2sbseg_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_I2SBSEG_PRECISION_AUTO, "fp16 on a CUDA GPU, fp32 on the CPU", "auto"},
      {GST_I2SBSEG_PRECISION_FP32, "32-bit float", "fp32"},
      {GST_I2SBSEG_PRECISION_FP16, "16-bit float (CUDA; most CPU builds of LibTorch lack it)", "fp16"},
      {GST_I2SBSEG_PRECISION_BF16, "bfloat16", "bf16"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstI2sbSegPrecision", values));
  return type;
}

// --- properties -------------------------------------------------------------

// Model-shaping properties change only in NULL/READY: the model is loaded
// and the caps negotiated on the way to PAUSED.
static bool changeable_now(GstI2sbSeg* self, const char* name) {
  GST_OBJECT_LOCK(self);
  const GstState current = GST_STATE(self);
  GST_OBJECT_UNLOCK(self);
  if (current <= GST_STATE_READY) return true;
  GST_ELEMENT_WARNING(self, CORE, STATE_CHANGE,
                      ("Property '%s' can only change in the NULL or READY state; the change is ignored", name),
                      ("current state %s", gst_element_state_get_name(current)));
  return false;
}

static void gst_i2sbseg_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstI2sbSeg* self = GST_I2SBSEG(object);
  State& st = *self->state;
  switch (prop_id) {
    case PROP_MODEL:
    case PROP_DEVICE:
    case PROP_MODE:
    case PROP_PRECISION:
    case PROP_OUTPUT_SIZE: {
      if (!changeable_now(self, pspec->name)) return;
      std::lock_guard<std::mutex> lock(st.lock);
      if (prop_id == PROP_MODEL) {
        const char* s = g_value_get_string(value);
        st.model_path = s ? s : "";
      } else if (prop_id == PROP_DEVICE) {
        const char* s = g_value_get_string(value);
        st.device = s && *s ? s : kDefaultDevice;
      } else if (prop_id == PROP_MODE) {
        st.mode = static_cast<GstI2sbSegMode>(g_value_get_enum(value));
      } else if (prop_id == PROP_PRECISION) {
        st.precision = static_cast<GstI2sbSegPrecision>(g_value_get_enum(value));
      } else {
        st.output_size = static_cast<GstI2sbSegOutputSize>(g_value_get_enum(value));
      }
      break;
    }
    case PROP_STEPS: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.steps = g_value_get_uint(value);
      break;
    }
    case PROP_OT_ODE: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.ot_ode = g_value_get_boolean(value);
      break;
    }
    case PROP_SEED: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.seed = g_value_get_uint64(value);
      break;
    }
    case PROP_ALPHA: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.alpha = g_value_get_double(value);
      break;
    }
    case PROP_INTERVAL: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.interval = g_value_get_uint(value);
      break;
    }
    case PROP_THREADS: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.threads = g_value_get_uint(value);
      break;
    }
    case PROP_POST_MESSAGES: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.post_messages = g_value_get_boolean(value);
      break;
    }
    case PROP_ROI_META: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.roi_meta = g_value_get_boolean(value);
      break;
    }
    case PROP_CLASS_MAP_META: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.class_map_meta = g_value_get_boolean(value);
      break;
    }
    case PROP_UPSCALE: {
      std::lock_guard<std::mutex> lock(st.lock);
      st.upscale = static_cast<GstI2sbSegUpscale>(g_value_get_enum(value));
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_i2sbseg_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstI2sbSeg* self = GST_I2SBSEG(object);
  State& st = *self->state;
  std::lock_guard<std::mutex> lock(st.lock);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, st.model_path.empty() ? nullptr : st.model_path.c_str()); break;
    case PROP_DEVICE: g_value_set_string(value, st.device.c_str()); break;
    case PROP_STEPS: g_value_set_uint(value, st.steps); break;
    case PROP_OT_ODE: g_value_set_boolean(value, st.ot_ode); break;
    case PROP_SEED: g_value_set_uint64(value, st.seed); break;
    case PROP_ALPHA: g_value_set_double(value, st.alpha); break;
    case PROP_MODE: g_value_set_enum(value, st.mode); break;
    case PROP_INTERVAL: g_value_set_uint(value, st.interval); break;
    case PROP_THREADS: g_value_set_uint(value, st.threads); break;
    case PROP_OUTPUT_SIZE: g_value_set_enum(value, st.output_size); break;
    case PROP_POST_MESSAGES: g_value_set_boolean(value, st.post_messages); break;
    case PROP_ROI_META: g_value_set_boolean(value, st.roi_meta); break;
    case PROP_CLASS_MAP_META: g_value_set_boolean(value, st.class_map_meta); break;
    case PROP_UPSCALE: g_value_set_enum(value, st.upscale); break;
    case PROP_PRECISION: g_value_set_enum(value, st.precision); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

// --- start / stop -----------------------------------------------------------

static gboolean gst_i2sbseg_start(GstBaseTransform* trans) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  State& st = *self->state;
  std::string path, device, precision;
  {
    std::lock_guard<std::mutex> lock(st.lock);
    path = st.model_path;
    device = st.device;
    GEnumValue* v = g_enum_get_value(static_cast<GEnumClass*>(g_type_class_peek(GST_TYPE_I2SBSEG_PRECISION)),
                                     st.precision);
    precision = v ? v->value_nick : "auto";
  }
  if (path.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No model set: set the 'model' property to a model bundle file"),
                      (nullptr));
    return FALSE;
  }
  try {
    bool fell_back = false;
    auto segmenter = i2sbseg::Segmenter::open(path, device, &fell_back, precision);
    if (fell_back) GST_INFO_OBJECT(self, "device=auto: no usable CUDA GPU, running on the CPU");
    GST_INFO_OBJECT(self, "model '%s' on %s in %s: x%d, %d classes, %s, default %d steps", path.c_str(),
                    segmenter->device().c_str(), segmenter->precision().c_str(), segmenter->scale_factor(),
                    segmenter->num_classes(),
                    segmenter->has_bridge() ? "bridge" : "no bridge", segmenter->default_nfe());
    std::lock_guard<std::mutex> lock(st.lock);
    st.segmenter = std::move(segmenter);
    st.reset_map_locked();
    return TRUE;
  } catch (const std::exception& e) {
    std::error_code ec;
    const bool missing = !std::filesystem::exists(path, ec);
    // Library errors start with the path; the message names it once.
    std::string problem = e.what();
    if (problem.rfind(path + ": ", 0) == 0) problem.erase(0, path.size() + 2);
    if (missing)
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Could not load model '%s': %s", path.c_str(), problem.c_str()),
                        ("device '%s', precision '%s'", device.c_str(), precision.c_str()));
    else
      GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Could not load model '%s': %s", path.c_str(), problem.c_str()),
                        ("device '%s', precision '%s'", device.c_str(), precision.c_str()));
    return FALSE;
  }
}

static gboolean gst_i2sbseg_stop(GstBaseTransform* trans) {
  State& st = *GST_I2SBSEG(trans)->state;
  std::lock_guard<std::mutex> lock(st.lock);
  st.segmenter.reset();  // the shared model goes with its last user
  st.class_map.clear();
  st.reset_map_locked();
  st.latency = 0;
  return TRUE;
}

// --- caps -------------------------------------------------------------------

static GstCaps* gst_i2sbseg_transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                           GstCaps* filter) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  State& st = *self->state;
  int factor;
  GstI2sbSegMode mode;
  {
    std::lock_guard<std::mutex> lock(st.lock);
    factor = st.factor_locked();
    mode = st.mode;
  }
  const bool to_src = direction == GST_PAD_SINK;

  GstCaps* result = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    const GstStructure* in = gst_caps_get_structure(caps, i);
    if (mode == GST_I2SBSEG_MODE_MASK && !to_src) {
      const char* format = gst_structure_get_string(in, "format");
      if (format && g_strcmp0(format, "GRAY8") != 0) {
        GST_DEBUG_OBJECT(self, "mode=mask outputs GRAY8 only, not %s", format);
        continue;
      }
    }
    GstStructure* out = gst_structure_copy(in);
    bool ok = true;
    for (const char* field : {"width", "height"}) {
      const GValue* v = gst_structure_get_value(in, field);
      if (!v) continue;  // unconstrained stays unconstrained
      GValue mapped = G_VALUE_INIT;
      if (!i2sbseg_gst::map_dimension(v, &mapped, factor, to_src)) {
        gchar* s = gst_value_serialize(v);
        GST_DEBUG_OBJECT(self, "%s %s cannot map across a x%d element (%s pad side needs a multiple of %d)",
                         field, s ? s : "?", factor, to_src ? "sink" : "source", factor);
        g_free(s);
        ok = false;
        break;
      }
      gst_structure_take_value(out, field, &mapped);
    }
    if (!ok) {
      gst_structure_free(out);
      continue;
    }
    if (mode == GST_I2SBSEG_MODE_MASK) {
      // Class indices have no colorimetry; the other side takes any of ours.
      gst_structure_remove_fields(out, "colorimetry", "chroma-site", nullptr);
      if (to_src) {
        gst_structure_set(out, "format", G_TYPE_STRING, "GRAY8", nullptr);
      } else {
        GValue formats = G_VALUE_INIT;
        g_value_init(&formats, GST_TYPE_LIST);
        gst_value_deserialize(&formats, kFormats);
        gst_structure_take_value(out, "format", &formats);
      }
    }
    const GstCapsFeatures* features = gst_caps_get_features(caps, i);
    result = gst_caps_merge_structure_full(result, out, features ? gst_caps_features_copy(features) : nullptr);
  }
  if (filter) {
    GstCaps* filtered = gst_caps_intersect_full(filter, result, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(result);
    result = filtered;
  }
  GST_DEBUG_OBJECT(self, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, to_src ? "sink->src" : "src->sink", caps,
                   result);
  return result;
}

static GstCaps* gst_i2sbseg_fixate_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                        GstCaps* othercaps) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  int factor;
  {
    std::lock_guard<std::mutex> lock(self->state->lock);
    factor = self->state->factor_locked();
  }
  othercaps = gst_caps_make_writable(gst_caps_truncate(othercaps));
  if (gst_caps_is_empty(othercaps)) return othercaps;
  const GstStructure* in = gst_caps_get_structure(caps, 0);
  GstStructure* out = gst_caps_get_structure(othercaps, 0);
  int w = 0, h = 0;
  if (factor > 0 && gst_structure_get_int(in, "width", &w) && gst_structure_get_int(in, "height", &h)) {
    const bool to_src = direction == GST_PAD_SINK;
    gst_structure_fixate_field_nearest_int(out, "width", to_src ? w * factor : w / factor);
    gst_structure_fixate_field_nearest_int(out, "height", to_src ? h * factor : h / factor);
  }
  // Same pixel format on both sides where both allow it.
  if (const char* format = gst_structure_get_string(in, "format"))
    gst_structure_fixate_field_string(out, "format", format);
  othercaps = gst_caps_fixate(othercaps);
  GST_DEBUG_OBJECT(self, "fixated to %" GST_PTR_FORMAT, othercaps);
  return othercaps;
}

static gboolean gst_i2sbseg_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps* outcaps) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  State& st = *self->state;
  GstVideoInfo in, out;
  if (!gst_video_info_from_caps(&in, incaps)) {
    GST_WARNING_OBJECT(self, "not video caps: %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  std::lock_guard<std::mutex> lock(st.lock);
  if (!st.segmenter) {
    GST_WARNING_OBJECT(self, "caps set before a model was loaded");
    return FALSE;
  }
  // Before the output caps: a frame too large for memory is often too large
  // for GstVideoInfo as well, and this says why in numbers.
  try {
    st.segmenter->check_frame_size(GST_VIDEO_INFO_WIDTH(&in), GST_VIDEO_INFO_HEIGHT(&in));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", e.what()), ("input caps %" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  if (!gst_video_info_from_caps(&out, outcaps)) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The output frame for a %dx%d input is too large for GStreamer",
                                             GST_VIDEO_INFO_WIDTH(&in), GST_VIDEO_INFO_HEIGHT(&in)),
                      ("output caps %" GST_PTR_FORMAT, outcaps));
    return FALSE;
  }
  i2sbseg::PixelLayout layout;
  if (!layout_for(GST_VIDEO_INFO_FORMAT(&in), layout)) {
    GST_WARNING_OBJECT(self, "input format %s is not one of %s", GST_VIDEO_INFO_NAME(&in), kFormats);
    return FALSE;
  }
  const GstVideoFormat want_format =
      st.mode == GST_I2SBSEG_MODE_MASK ? GST_VIDEO_FORMAT_GRAY8 : GST_VIDEO_INFO_FORMAT(&in);
  if (GST_VIDEO_INFO_FORMAT(&out) != want_format) {
    GST_WARNING_OBJECT(self, "output format %s: mode=%s needs %s", GST_VIDEO_INFO_NAME(&out),
                       st.mode == GST_I2SBSEG_MODE_MASK ? "mask" : "overlay",
                       gst_video_format_to_string(want_format));
    return FALSE;
  }
  const int f = st.factor_locked();
  if (GST_VIDEO_INFO_WIDTH(&out) != GST_VIDEO_INFO_WIDTH(&in) * f ||
      GST_VIDEO_INFO_HEIGHT(&out) != GST_VIDEO_INFO_HEIGHT(&in) * f) {
    GST_WARNING_OBJECT(self, "output size %dx%d is not %d x the input size %dx%d", GST_VIDEO_INFO_WIDTH(&out),
                       GST_VIDEO_INFO_HEIGHT(&out), f, GST_VIDEO_INFO_WIDTH(&in), GST_VIDEO_INFO_HEIGHT(&in));
    return FALSE;
  }
  st.in_info = in;
  st.out_info = out;
  st.warned_size = false;
  st.neg_mode = st.mode;
  st.neg_size = st.output_size == GST_I2SBSEG_OUTPUT_SIZE_INPUT ? i2sbseg::OutputSize::kInput
                                                                 : i2sbseg::OutputSize::kScaled;
  st.reset_map_locked();
  GST_INFO_OBJECT(self, "%" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, incaps, outcaps);
  return TRUE;
}

// One frame in, one frame out: the output buffer is a frame of the other
// caps whatever the input buffer's size (a short or padded input buffer is
// reported by transform, which knows whether it has a GstVideoMeta).
static gboolean gst_i2sbseg_transform_size(GstBaseTransform* trans, GstPadDirection, GstCaps*, gsize,
                                           GstCaps* othercaps, gsize* othersize) {
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, othercaps)) {
    GST_WARNING_OBJECT(trans, "cannot size a frame of %" GST_PTR_FORMAT, othercaps);
    return FALSE;
  }
  *othersize = GST_VIDEO_INFO_SIZE(&info);
  return TRUE;
}

// Upstream may send frames with any stride: we read them through GstVideoMeta.
static gboolean gst_i2sbseg_propose_allocation(GstBaseTransform* trans, GstQuery* decide_query, GstQuery* query) {
  gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
  return GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class)->propose_allocation(trans, decide_query, query);
}

static gboolean gst_i2sbseg_sink_event(GstBaseTransform* trans, GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    State& st = *GST_I2SBSEG(trans)->state;
    std::lock_guard<std::mutex> lock(st.lock);
    st.reset_map_locked();  // a seek: do not reuse a map from before it
  }
  return GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class)->sink_event(trans, event);
}

// Adds the slowest measured inference to upstream's latency, so that live
// pipelines (a webcam) schedule frames late enough.
static gboolean gst_i2sbseg_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class)->query(trans, direction, query);
  if (!gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(trans), query)) return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  GstClockTime ours;
  {
    State& st = *GST_I2SBSEG(trans)->state;
    std::lock_guard<std::mutex> lock(st.lock);
    ours = st.latency;
  }
  GST_DEBUG_OBJECT(trans, "adding %" GST_TIME_FORMAT " to the latency", GST_TIME_ARGS(ours));
  gst_query_set_latency(query, live, min + ours, GST_CLOCK_TIME_IS_VALID(max) ? max + ours : max);
  return TRUE;
}

// --- the frame --------------------------------------------------------------

static GstFlowReturn gst_i2sbseg_transform(GstBaseTransform* trans, GstBuffer* inbuf, GstBuffer* outbuf) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  State& st = *self->state;

  // Snapshot what may change while PLAYING; the stream state below is only
  // touched here and in set_caps/start/stop, which the streaming thread orders.
  std::shared_ptr<i2sbseg::Segmenter> segmenter;
  i2sbseg::SegmentParams params;
  double alpha;
  i2sbseg::Upscale upscale;
  guint interval;
  GstVideoInfo in_info, out_info;
  GstI2sbSegMode mode;
  bool run;
  bool post, roi, map_meta;
  {
    std::lock_guard<std::mutex> lock(st.lock);
    segmenter = st.segmenter;
    params.nfe = static_cast<int>(st.steps);
    params.ot_ode = st.ot_ode;
    params.seed = st.seed;
    params.output_size = st.neg_size;
    params.threads = static_cast<int>(st.threads);
    alpha = st.alpha;
    upscale = st.upscale == GST_I2SBSEG_UPSCALE_BILINEAR ? i2sbseg::Upscale::kBilinear : i2sbseg::Upscale::kNearest;
    interval = std::max(1u, st.interval);
    in_info = st.in_info;
    out_info = st.out_info;
    mode = st.neg_mode;
    run = !st.have_map || st.frame_index % interval == 0;
    post = st.post_messages;
    roi = st.roi_meta;
    map_meta = st.class_map_meta;
  }
  if (!segmenter) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No model loaded"), ("transform called before start"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  // Frames are read through their GstVideoMeta when they have one; without
  // it the caps' default strides apply, and the buffer must hold them.
  const std::string problem = i2sbseg_gst::input_buffer_problem(inbuf, &in_info);
  if (!problem.empty()) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", problem.c_str()), ("buffer %" GST_PTR_FORMAT, inbuf));
    return GST_FLOW_ERROR;
  }
  const gsize in_size = gst_buffer_get_size(inbuf);
  if (!gst_buffer_get_video_meta(inbuf) && in_size > GST_VIDEO_INFO_SIZE(&in_info)) {
    bool first;
    {
      std::lock_guard<std::mutex> lock(st.lock);
      first = !st.warned_size;
      st.warned_size = true;
    }
    if (first)
      GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                          ("Input buffers of %" G_GSIZE_FORMAT " bytes are larger than a %dx%d %s frame (%" G_GSIZE_FORMAT
                           " bytes) and carry no GstVideoMeta: reading them with the default row stride of %d bytes; "
                           "if upstream pads its rows, it must attach a GstVideoMeta",
                           in_size, GST_VIDEO_INFO_WIDTH(&in_info), GST_VIDEO_INFO_HEIGHT(&in_info),
                           GST_VIDEO_INFO_NAME(&in_info), GST_VIDEO_INFO_SIZE(&in_info),
                           GST_VIDEO_INFO_PLANE_STRIDE(&in_info, 0)),
                          (nullptr));
  }
  GstVideoFrame in, out;
  if (!gst_video_frame_map(&in, &in_info, inbuf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                      ("Could not read a %dx%d %s frame from an input buffer of %" G_GSIZE_FORMAT " bytes",
                       GST_VIDEO_INFO_WIDTH(&in_info), GST_VIDEO_INFO_HEIGHT(&in_info), GST_VIDEO_INFO_NAME(&in_info),
                       in_size),
                      ("gst_video_frame_map failed"));
    return GST_FLOW_ERROR;
  }
  if (!gst_video_frame_map(&out, &out_info, outbuf, GST_MAP_WRITE)) {
    gst_video_frame_unmap(&in);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map the output frame"), (nullptr));
    return GST_FLOW_ERROR;
  }
  const int in_w = GST_VIDEO_FRAME_WIDTH(&in), in_h = GST_VIDEO_FRAME_HEIGHT(&in);
  const int in_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&in, 0);
  const auto* in_px = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&in, 0));
  const int out_w = GST_VIDEO_FRAME_WIDTH(&out), out_h = GST_VIDEO_FRAME_HEIGHT(&out);
  const int out_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&out, 0);
  auto* out_px = static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&out, 0));
  i2sbseg::PixelLayout layout{};
  layout_for(GST_VIDEO_FRAME_FORMAT(&in), layout);

  GstFlowReturn ret = GST_FLOW_OK;
  GstClockTime took = 0;
  try {
    int map_w = 0, map_h = 0;
    segmenter->output_size(in_w, in_h, params.output_size, map_w, map_h);
    if (map_w != out_w || map_h != out_h)
      throw i2sbseg::Error("the class map would be " + std::to_string(map_w) + "x" + std::to_string(map_h) +
                           ", the output is " + std::to_string(out_w) + "x" + std::to_string(out_h));
    bool drawn = false;
    if (run || st.map_w != out_w || st.map_h != out_h) {
      run = true;
      // Overlay mode: argmax and blend in one pass inside the library.
      const i2sbseg::OverlayTarget target{out_px, out_stride, static_cast<float>(alpha), upscale};
      const GstClockTime t0 = gst_util_get_timestamp();
      segmenter->segment(in_px, in_w, in_h, in_stride, layout, params, st.class_map, st.map_w, st.map_h,
                         mode == GST_I2SBSEG_MODE_MASK ? nullptr : &target);
      took = gst_util_get_timestamp() - t0;
      st.have_map = true;
      drawn = mode != GST_I2SBSEG_MODE_MASK;
    }
    if (mode == GST_I2SBSEG_MODE_MASK) {
      for (int y = 0; y < out_h; ++y)
        std::copy_n(st.class_map.data() + static_cast<std::size_t>(y) * out_w, out_w,
                    out_px + static_cast<std::size_t>(y) * out_stride);
    } else if (!drawn) {  // a reused class map (interval): draw the new frame under it
      segmenter->draw_overlay(st.class_map.data(), out_w, out_h, in_px, in_w, in_h, in_stride, layout,
                              static_cast<float>(alpha), out_px, out_stride, upscale);
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Segmentation failed: %s", e.what()), (nullptr));
    ret = GST_FLOW_ERROR;
  }
  gst_video_frame_unmap(&out);
  gst_video_frame_unmap(&in);
  bool latency_grew = false;
  {
    std::lock_guard<std::mutex> lock(st.lock);
    ++st.frame_index;
    if (ret == GST_FLOW_OK && run && took > st.latency + st.latency / 5) {
      st.latency = took;
      latency_grew = true;
    }
  }
  if (latency_grew) gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  if (ret == GST_FLOW_OK && map_meta)
    i2sbseg_gst::attach_class_map_meta(outbuf, *segmenter, st.class_map, st.map_w, st.map_h);
  if (ret == GST_FLOW_OK && roi)
    i2sbseg_gst::attach_roi_metas(outbuf, *segmenter, st.class_map, st.map_w, st.map_h);
  if (ret == GST_FLOW_OK && post)
    i2sbseg_gst::post_frame_message(GST_ELEMENT(self), inbuf, run, took, *segmenter, st.class_map);
  return ret;
}

// --- GObject ----------------------------------------------------------------

static void gst_i2sbseg_init(GstI2sbSeg* self) {
  self->state = new State();
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_i2sbseg_finalize(GObject* object) {
  delete GST_I2SBSEG(object)->state;
  G_OBJECT_CLASS(gst_i2sbseg_parent_class)->finalize(object);
}

static void gst_i2sbseg_class_init(GstI2sbSegClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  gobject_class->set_property = gst_i2sbseg_set_property;
  gobject_class->get_property = gst_i2sbseg_get_property;
  gobject_class->finalize = gst_i2sbseg_finalize;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto ready_only = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY);
  const auto live = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING);

  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model", "Path of the model bundle to load (written by 'i2sbseg train')", nullptr,
                          ready_only));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the model runs: auto (a CUDA GPU when usable, else the CPU), cpu, cuda or cuda:N",
                          kDefaultDevice, ready_only));
  g_object_class_install_property(
      gobject_class, PROP_STEPS,
      g_param_spec_uint("steps", "Steps",
                        "Bridge steps (network evaluations) per frame; 0 uses the model's default", 0, 999, 0,
                        live));
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
      g_param_spec_double("alpha", "Alpha", "Opacity of the class colours in overlay mode (0: the upscaled frame)",
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
      g_param_spec_uint("threads", "Threads", "CPU threads for inference (0: $OMP_NUM_THREADS if set, else one per CPU core)", 0, 1024, 0, live));
  g_object_class_install_property(
      gobject_class, PROP_OUTPUT_SIZE,
      g_param_spec_enum("output-size", "Output size", "Size of the source pad's frames",
                        GST_TYPE_I2SBSEG_OUTPUT_SIZE, GST_I2SBSEG_OUTPUT_SIZE_SCALED, ready_only));

  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post an element message named 'i2sbseg' per frame: timestamp, model-ran, "
                           "inference-time (ns), class-names and class-shares (fraction of pixels per class)",
                           FALSE, live));

  g_object_class_install_property(
      gobject_class, PROP_ROI_META,
      g_param_spec_boolean("roi-meta", "ROI meta",
                           "Attach a GstVideoRegionOfInterestMeta per class present (class 0, the background, "
                           "excepted): the bounding box of its pixels, typed with the class name, with an "
                           "'i2sbseg/class' param holding class-index, class-name and pixel-share",
                           TRUE, live));

  g_object_class_install_property(
      gobject_class, PROP_CLASS_MAP_META,
      g_param_spec_boolean("class-map-meta", "Class map meta",
                           "Attach a GstI2sbSegMeta (i2sbseg/i2sbsegmeta.h) with the class map, class names and "
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

  GstCaps* sink_caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, BGRA, RGBx, BGRx }"));
  GstCaps* src_caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, GRAY8 }"));
  gst_element_class_add_pad_template(element_class,
                                     gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, sink_caps));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, src_caps));
  gst_caps_unref(sink_caps);
  gst_caps_unref(src_caps);

  gst_element_class_set_static_metadata(
      element_class, "I2SB super-resolution segmentation", "Filter/Analyzer/Video",
      "Segments each frame at the model's scale factor x its size with an image-to-image Schroedinger bridge; "
      "outputs the upscaled frame with the classes drawn over it, or the class map",
      "i2sbseg developers");

  trans_class->start = GST_DEBUG_FUNCPTR(gst_i2sbseg_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_i2sbseg_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_i2sbseg_transform_caps);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR(gst_i2sbseg_fixate_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_i2sbseg_set_caps);
  trans_class->transform_size = GST_DEBUG_FUNCPTR(gst_i2sbseg_transform_size);
  trans_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_i2sbseg_propose_allocation);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_i2sbseg_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_i2sbseg_query);
  trans_class->transform = GST_DEBUG_FUNCPTR(gst_i2sbseg_transform);

  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_MODE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_OUTPUT_SIZE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_UPSCALE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_PRECISION, static_cast<GstPluginAPIFlags>(0));
}
