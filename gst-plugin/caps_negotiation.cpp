// SPDX-License-Identifier: MIT
#include "caps_negotiation.h"

#include <gst/video/video.h>

#include <exception>
#include <string>

#include "caps_scaling.h"
#include "element_state.h"
#include "video_formats.h"

#define GST_CAT_DEFAULT gst_i2sbseg_debug

namespace i2sbseg_gst {
namespace {

// Maps width and height of `out` (a copy of `in`) across the element; false
// when a value cannot map (e.g. a source-side width not a multiple of factor).
bool map_size_fields(GstI2sbSeg* self, const GstStructure* in, GstStructure* out, int factor, bool to_src) {
  for (const char* field : {"width", "height"}) {
    const GValue* v = gst_structure_get_value(in, field);
    if (!v) continue;  // unconstrained stays unconstrained
    GValue mapped = G_VALUE_INIT;
    if (!map_dimension(v, &mapped, factor, to_src)) {
      gchar* s = gst_value_serialize(v);
      GST_DEBUG_OBJECT(self, "%s %s cannot map across a x%d element (%s pad side needs a multiple of %d)", field,
                       s ? s : "?", factor, to_src ? "sink" : "source", factor);
      g_free(s);
      return false;
    }
    gst_structure_take_value(out, field, &mapped);
  }
  return true;
}

// Mask mode: GRAY8 class indices towards the source pad, any of our formats
// towards the sink pad; class indices have no colorimetry.
void set_mask_format(GstStructure* out, bool to_src) {
  gst_structure_remove_fields(out, "colorimetry", "chroma-site", nullptr);
  if (to_src) {
    gst_structure_set(out, "format", G_TYPE_STRING, "GRAY8", nullptr);
    return;
  }
  GValue formats = G_VALUE_INIT;
  g_value_init(&formats, GST_TYPE_LIST);
  gst_value_deserialize(&formats, format_list(false).c_str());
  gst_structure_take_value(out, "format", &formats);
}

}  // namespace

GstCaps* transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps, GstCaps* filter) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  const Properties p = self->state->settings.get();
  const int factor = size_factor(*self->state, p.output_size);
  const bool mask = p.mode == GST_I2SBSEG_MODE_MASK;
  const bool to_src = direction == GST_PAD_SINK;

  GstCaps* result = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    const GstStructure* in = gst_caps_get_structure(caps, i);
    if (mask && !to_src) {
      const char* format = gst_structure_get_string(in, "format");
      if (format && g_strcmp0(format, "GRAY8") != 0) {
        GST_DEBUG_OBJECT(self, "mode=mask outputs GRAY8 only, not %s", format);
        continue;
      }
    }
    GstStructure* out = gst_structure_copy(in);
    if (!map_size_fields(self, in, out, factor, to_src)) {
      gst_structure_free(out);
      continue;
    }
    if (mask) set_mask_format(out, to_src);
    const GstCapsFeatures* features = gst_caps_get_features(caps, i);
    result = gst_caps_merge_structure_full(result, out, features ? gst_caps_features_copy(features) : nullptr);
  }
  // CUDA memory only for a model on a CUDA device (unknown before start():
  // the templates' offer stands until then) with a context to share.
  const bool loaded = self->state->model_scale.load() > 0;
  if (loaded && !((self->state->model_cuda_device.load() >= 0) && self->state->cuda.has_context()))
    result = remove_cuda_memory(result);
  if (filter) {
    GstCaps* filtered = gst_caps_intersect_full(filter, result, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(result);
    result = filtered;
  }
  GST_DEBUG_OBJECT(self, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, to_src ? "sink->src" : "src->sink", caps,
                   result);
  return result;
}

GstCaps* fixate_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps, GstCaps* othercaps) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  const int factor = size_factor(*self->state, self->state->settings.get().output_size);
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

namespace {

// Whether `out` is what `in` gives with these properties (transform_caps
// offered nothing else, but a peer may force other caps through).
bool output_matches(GstI2sbSeg* self, const GstVideoInfo& in, const GstVideoInfo& out, const Properties& p,
                    int factor) {
  const bool mask = p.mode == GST_I2SBSEG_MODE_MASK;
  const GstVideoFormat want = mask ? GST_VIDEO_FORMAT_GRAY8 : GST_VIDEO_INFO_FORMAT(&in);
  if (GST_VIDEO_INFO_FORMAT(&out) != want) {
    GST_WARNING_OBJECT(self, "output format %s: mode=%s needs %s", GST_VIDEO_INFO_NAME(&out),
                       mask ? "mask" : "overlay", gst_video_format_to_string(want));
    return false;
  }
  if (GST_VIDEO_INFO_WIDTH(&out) != GST_VIDEO_INFO_WIDTH(&in) * factor ||
      GST_VIDEO_INFO_HEIGHT(&out) != GST_VIDEO_INFO_HEIGHT(&in) * factor) {
    GST_WARNING_OBJECT(self, "output size %dx%d is not %d x the input size %dx%d", GST_VIDEO_INFO_WIDTH(&out),
                       GST_VIDEO_INFO_HEIGHT(&out), factor, GST_VIDEO_INFO_WIDTH(&in), GST_VIDEO_INFO_HEIGHT(&in));
    return false;
  }
  return true;
}

// memory:CUDAMemory on both pads, or on neither, and only for a model on a
// CUDA device with a context shared with the pipeline; posts why not.
bool cuda_caps_usable(GstI2sbSeg* self, GstCaps* incaps, GstCaps* outcaps, const i2sbseg::Segmenter& model,
                      const Properties& p) {
  const bool in = is_cuda_memory(incaps), out = is_cuda_memory(outcaps);
  if (!in && !out) return true;
  if (in != out) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("Input and output must both be in CUDA memory (memory:CUDAMemory) or both in system memory"),
                      ("input caps %" GST_PTR_FORMAT ", output caps %" GST_PTR_FORMAT, incaps, outcaps));
    return false;
  }
  if (!(self->state->model_cuda_device.load() >= 0)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("Frames in CUDA memory (memory:CUDAMemory) need the model on a CUDA device, but model '%s' "
                       "runs on %s (property 'device' is '%s')",
                       model.model_path().c_str(), model.device().name().c_str(), p.device.c_str()),
                      ("input caps %" GST_PTR_FORMAT, incaps));
    return false;
  }
  if (!self->state->cuda.has_context()) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("Frames in CUDA memory (memory:CUDAMemory), but no CUDA context for device '%s' could be "
                       "shared with the pipeline",
                       model.device().name().c_str()),
                      ("input caps %" GST_PTR_FORMAT, incaps));
    return false;
  }
  return true;
}

}  // namespace

gboolean set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps* outcaps) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  StreamState& s = self->state->stream;
  GstVideoInfo in, out;
  i2sbseg::PixelLayout layout{};
  if (!gst_video_info_from_caps(&in, incaps) || !layout_for(GST_VIDEO_INFO_FORMAT(&in), layout)) {
    GST_WARNING_OBJECT(self, "not one of the video formats %s: %" GST_PTR_FORMAT, format_list(false).c_str(), incaps);
    return FALSE;
  }
  if (!s.segmenter) {
    GST_WARNING_OBJECT(self, "caps set before a model was loaded");
    return FALSE;
  }
  const int w = GST_VIDEO_INFO_WIDTH(&in), h = GST_VIDEO_INFO_HEIGHT(&in);
  // Before the output caps: a frame too large for memory is often too large
  // for GstVideoInfo as well, and this says why in numbers.
  try {
    s.segmenter->check_frame_size(w, h);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Frames of %dx%d are too large for this model on this machine", w, h),
                      ("%s; input caps %" GST_PTR_FORMAT, e.what(), incaps));
    return FALSE;
  }
  if (!gst_video_info_from_caps(&out, outcaps)) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The output frame for a %dx%d input is too large for GStreamer", w, h),
                      ("output caps %" GST_PTR_FORMAT, outcaps));
    return FALSE;
  }
  const Properties p = self->state->settings.get();
  if (!output_matches(self, in, out, p, size_factor(*self->state, p.output_size))) return FALSE;
  if (!cuda_caps_usable(self, incaps, outcaps, *s.segmenter, p)) return FALSE;
  s.in_info = in;
  s.out_info = out;
  s.layout = layout;
  s.cuda_caps = is_cuda_memory(incaps);
  s.warned_cuda_copy = false;
  s.warned_size = false;
  s.mode = p.mode;
  s.size = p.output_size == GST_I2SBSEG_OUTPUT_SIZE_INPUT ? i2sbseg::OutputSize::kInput : i2sbseg::OutputSize::kScaled;
  s.reset_map();
  GST_INFO_OBJECT(self, "%" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, incaps, outcaps);
  return TRUE;
}

// One frame in, one frame out: the output buffer is a frame of the other
// caps whatever the input buffer's size (a short or padded input buffer is
// reported by transform, which knows whether it has a GstVideoMeta).
gboolean transform_size(GstBaseTransform* trans, GstPadDirection, GstCaps*, gsize, GstCaps* othercaps,
                        gsize* othersize) {
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, othercaps)) {
    GST_WARNING_OBJECT(trans, "cannot size a frame of %" GST_PTR_FORMAT, othercaps);
    return FALSE;
  }
  *othersize = GST_VIDEO_INFO_SIZE(&info);
  return TRUE;
}

}  // namespace i2sbseg_gst
