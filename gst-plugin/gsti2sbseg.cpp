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
 * goes to PAUSED: the `model` property, or when it is unset
 * `$I2SBSEG_DEFAULT_MODEL`, or else the model `meson install` put in
 * `<datadir>/i2sbseg/default.i2sb`. A missing model (RESOURCE NOT_FOUND), an
 * unreadable or malformed one (RESOURCE OPEN_READ), or a `device`,
 * `precision` or `steps` the model cannot run with (RESOURCE SETTINGS, naming
 * the property) fails that state change.
 * Elements in one process with the same model file, device and precision
 * share it. precision=auto runs fp16 on a GPU and fp32 on the CPU; on a GPU
 * the frame is converted, segmented and drawn there (CUDA kernels, one
 * captured CUDA graph, re-captured when the frame size changes).
 *
 * Besides pixels, each output buffer carries a GstI2sbSegMeta with the class
 * map (`i2sbseg/i2sbsegmeta.h`, library gsti2sbsegmeta) and a
 * GstVideoRegionOfInterestMeta per class present; post-messages=true posts
 * an element message "i2sbseg" per frame with the inference time and the
 * share of each class. With interval=N the model runs on every Nth frame and
 * the frames between reuse its class map. `alpha` is controllable: a control
 * binding on it is synced with each frame's stream time.
 *
 * Where the build has GStreamer's CUDA library, both pads also take
 * `video/x-raw(memory:CUDAMemory)`: with the model on a CUDA device the
 * frame goes into the model and the overlay comes out in GPU memory, with
 * no host copy, on the CUDA context the element shares with the pipeline
 * (the device's primary context, the model's, unless the pipeline or the
 * application set one). With the model on the CPU, system memory is
 * negotiated.
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
 *
 * |[
 * I2SBSEG_DEFAULT_MODEL=models/default.i2sb gst-launch-1.0 videotestsrc num-buffers=30 ! \
 *     video/x-raw,width=96,height=64 ! videoconvert ! i2sbseg ! videoconvert ! autovideosink
 * ]| Without a `model` property: the model that `$I2SBSEG_DEFAULT_MODEL` names
 * (`meson devenv` sets it to the source tree's), or else the installed default.
 *
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=RGBA,width=320,height=180 ! cudaupload ! \
 *     i2sbseg model=models/default.i2sb device=cuda ! cudadownload ! videoconvert ! autovideosink
 * ]| Frames in CUDA memory through the model on the GPU.
 */
#include "gsti2sbseg.h"

#include <i2sbseg/device_id.h>
#include <i2sbseg/error.h>

#include "caps_negotiation.h"
#include "element_state.h"
#include "frame_path.h"
#include "gsti2sbseg_props.h"
#include "model_loading.h"
#include "video_formats.h"

GST_DEBUG_CATEGORY(gst_i2sbseg_debug);
#define GST_CAT_DEFAULT gst_i2sbseg_debug

G_DEFINE_TYPE_WITH_CODE(GstI2sbSeg, gst_i2sbseg, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_i2sbseg_debug, "i2sbseg", 0, "I2SB segmentation element"))
GST_ELEMENT_REGISTER_DEFINE(i2sbseg, "i2sbseg", GST_RANK_NONE, GST_TYPE_I2SBSEG);

GstBaseTransformClass* i2sbseg_gst::parent_class() { return GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class); }

// Control bindings (on `alpha`) take their value at the frame's stream time,
// as GStreamer's own filters do.
static void gst_i2sbseg_before_transform(GstBaseTransform* trans, GstBuffer* buffer) {
  const GstClockTime stream_time =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_TIMESTAMP(buffer));
  GST_LOG_OBJECT(trans, "sync to %" GST_TIME_FORMAT, GST_TIME_ARGS(stream_time));
  if (GST_CLOCK_TIME_IS_VALID(stream_time)) gst_object_sync_values(GST_OBJECT(trans), stream_time);
}

// The CUDA device of the context the element shares with the pipeline: the
// loaded model's, else the one the `device` property resolves to with the
// library's meaning of auto (a GPU LibTorch can use); -1 for none (the CPU,
// or a value start() will refuse, naming it).
static int cuda_device(const i2sbseg_gst::ElementState& state) {
  if (state.model_scale.load() > 0) return state.model_cuda_device.load();
  try {
    return i2sbseg::resolve_device(state.settings.get().device).cuda_index();
  } catch (const i2sbseg::Error&) {
    return -1;
  }
}

// Upstream may send frames with any stride: we read them through GstVideoMeta.
// In CUDA memory we offer a pool on the context we share with the pipeline.
static gboolean gst_i2sbseg_propose_allocation(GstBaseTransform* trans, GstQuery* decide_query, GstQuery* query) {
  gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
  GstCaps* caps = nullptr;
  gst_query_parse_allocation(query, &caps, nullptr);
  if (i2sbseg_gst::is_cuda_memory(caps) && GST_I2SBSEG(trans)->state->cuda.propose_pool(query, caps)) return TRUE;
  return GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class)->propose_allocation(trans, decide_query, query);
}

// Output frames in CUDA memory come from a pool on our context, where the
// model writes the overlay in place.
static gboolean gst_i2sbseg_decide_allocation(GstBaseTransform* trans, GstQuery* query) {
  if (!GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class)->decide_allocation(trans, query)) return FALSE;
  GstCaps* caps = nullptr;
  gst_query_parse_allocation(query, &caps, nullptr);
  if (!i2sbseg_gst::is_cuda_memory(caps) || GST_I2SBSEG(trans)->state->cuda.decide_pool(query, caps)) return TRUE;
  GST_ELEMENT_ERROR(trans, RESOURCE, SETTINGS, ("Could not make a CUDA buffer pool for %" GST_PTR_FORMAT, caps),
                    ("no CUDA context, or the pool refused the caps"));
  return FALSE;
}

// FLUSH_STOP is serialized (under the sink pad's stream lock), like transform.
// FLUSH_START is not: it withdraws a frame waiting for its batch (batch-size
// > 1), whose transform then returns FLUSHING at once.
static gboolean gst_i2sbseg_sink_event(GstBaseTransform* trans, GstEvent* event) {
  i2sbseg_gst::ElementState* state = GST_I2SBSEG(trans)->state;
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_START && state->stream.batcher)
    state->stream.batcher->set_flushing(state, true);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    if (state->stream.batcher) state->stream.batcher->set_flushing(state, false);
    state->stream.reset_map();  // a seek: do not reuse a map from before it
  }
  return GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class)->sink_event(trans, event);
}

// Adds the slowest measured inference to upstream's latency, so that live
// pipelines (a webcam) schedule frames late enough.
// Context queries (either pad) get the CUDA context we share, when the
// `device` property names a CUDA device.
static gboolean gst_i2sbseg_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  i2sbseg_gst::ElementState* state = GST_I2SBSEG(trans)->state;
  if (GST_QUERY_TYPE(query) == GST_QUERY_CONTEXT &&
      state->cuda.answer_query(GST_ELEMENT(trans), query, cuda_device(*state)))
    return TRUE;
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(gst_i2sbseg_parent_class)->query(trans, direction, query);
  if (!gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(trans), query)) return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  const GstClockTime ours = GST_I2SBSEG(trans)->state->latency.load();
  GST_DEBUG_OBJECT(trans, "adding %" GST_TIME_FORMAT " to the latency", GST_TIME_ARGS(ours));
  gst_query_set_latency(query, live, min + ours, GST_CLOCK_TIME_IS_VALID(max) ? max + ours : max);
  return TRUE;
}

// PAUSED -> READY takes the streaming thread's lock to stop it: a frame
// waiting for its batch is withdrawn first rather than waiting out its
// batch-timeout. stop() clears the mark.
// NULL -> READY finds or makes the CUDA context (before upstream elements
// go READY and ask for one); READY -> NULL lets it go.
static GstStateChangeReturn gst_i2sbseg_change_state(GstElement* element, GstStateChange transition) {
  i2sbseg_gst::ElementState* state = GST_I2SBSEG(element)->state;
  if (transition == GST_STATE_CHANGE_NULL_TO_READY)
    state->cuda.ensure(element, cuda_device(*state));
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY && state->stream.batcher)
    state->stream.batcher->set_flushing(state, true);
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_i2sbseg_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL) state->cuda.reset();
  return ret;
}

static void gst_i2sbseg_set_context(GstElement* element, GstContext* context) {
  i2sbseg_gst::ElementState* state = GST_I2SBSEG(element)->state;
  state->cuda.set_context(element, context, cuda_device(*state));
  GST_ELEMENT_CLASS(gst_i2sbseg_parent_class)->set_context(element, context);
}

static void gst_i2sbseg_init(GstI2sbSeg* self) {
  self->state = new i2sbseg_gst::ElementState();
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

  gobject_class->set_property = i2sbseg_gst::set_property;
  gobject_class->get_property = i2sbseg_gst::get_property;
  gobject_class->finalize = gst_i2sbseg_finalize;
  i2sbseg_gst::install_properties(gobject_class);

  for (const bool src : {false, true}) {
    // The source pad adds GRAY8 (mode=mask); both add memory:CUDAMemory
    // where the build has GStreamer's CUDA library.
    GstCaps* caps = i2sbseg_gst::add_cuda_memory(i2sbseg_gst::template_caps(src));
    gst_element_class_add_pad_template(
        element_class, gst_pad_template_new(src ? "src" : "sink", src ? GST_PAD_SRC : GST_PAD_SINK, GST_PAD_ALWAYS, caps));
    gst_caps_unref(caps);
  }
  gst_element_class_set_static_metadata(
      element_class, "I2SB super-resolution segmentation", "Filter/Analyzer/Video",
      "Segments each frame at the model's scale factor x its size with an image-to-image Schroedinger bridge; "
      "outputs the upscaled frame with the classes drawn over it, or the class map",
      "i2sbseg developers");

  element_class->change_state = GST_DEBUG_FUNCPTR(gst_i2sbseg_change_state);
  element_class->set_context = GST_DEBUG_FUNCPTR(gst_i2sbseg_set_context);
  trans_class->start = GST_DEBUG_FUNCPTR(i2sbseg_gst::start);
  trans_class->stop = GST_DEBUG_FUNCPTR(i2sbseg_gst::stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(i2sbseg_gst::transform_caps);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR(i2sbseg_gst::fixate_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(i2sbseg_gst::set_caps);
  trans_class->transform_size = GST_DEBUG_FUNCPTR(i2sbseg_gst::transform_size);
  trans_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_i2sbseg_propose_allocation);
  trans_class->decide_allocation = GST_DEBUG_FUNCPTR(gst_i2sbseg_decide_allocation);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_i2sbseg_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_i2sbseg_query);
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_i2sbseg_before_transform);
  trans_class->transform = GST_DEBUG_FUNCPTR(i2sbseg_gst::transform);

  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_MODE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_OUTPUT_SIZE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_UPSCALE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_I2SBSEG_PRECISION, static_cast<GstPluginAPIFlags>(0));
}
