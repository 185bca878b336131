// SPDX-License-Identifier: MIT
#include "frame_path.h"

#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>

#include <i2sbseg/error.h>

#include "cuda_memory.h"
#include "element_state.h"
#include "frame_checks.h"
#include "frame_results.h"

#define GST_CAT_DEFAULT gst_i2sbseg_debug

namespace i2sbseg_gst {
namespace {

// The input and output frames of one transform; unmapped on destruction.
struct MappedFrames {
  GstVideoFrame in{}, out{};
  bool in_mapped = false, out_mapped = false;

  ~MappedFrames() {
    if (out_mapped) gst_video_frame_unmap(&out);
    if (in_mapped) gst_video_frame_unmap(&in);
  }

  // Maps both frames (`device`: as CUDA device pointers), or posts why not
  // and returns false.
  bool map(GstI2sbSeg* self, StreamState& s, GstBuffer* inbuf, GstBuffer* outbuf, bool device) {
    const GstMapFlags flag = device ? cuda_map_flag() : static_cast<GstMapFlags>(0);
    in_mapped = gst_video_frame_map(&in, &s.in_info, inbuf, static_cast<GstMapFlags>(GST_MAP_READ | flag));
    if (!in_mapped) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                        ("Could not read a %dx%d %s frame from an input buffer of %" G_GSIZE_FORMAT " bytes",
                         GST_VIDEO_INFO_WIDTH(&s.in_info), GST_VIDEO_INFO_HEIGHT(&s.in_info),
                         GST_VIDEO_INFO_NAME(&s.in_info), gst_buffer_get_size(inbuf)),
                        ("gst_video_frame_map failed on %" GST_PTR_FORMAT, inbuf));
      return false;
    }
    out_mapped = gst_video_frame_map(&out, &s.out_info, outbuf, static_cast<GstMapFlags>(GST_MAP_WRITE | flag));
    if (!out_mapped)
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not write to an output buffer"),
                        ("gst_video_frame_map failed on %" GST_PTR_FORMAT, outbuf));
    return out_mapped;
  }
};

// Frames are read through their GstVideoMeta when they have one; without it
// the caps' default strides apply, and the buffer must hold them. Posts an
// error and returns false when `inbuf` cannot be read; warns once per caps
// about buffers larger than a frame without a meta.
bool check_input(GstI2sbSeg* self, StreamState& s, GstBuffer* inbuf) {
  const std::string problem = input_buffer_problem(inbuf, &s.in_info);
  if (!problem.empty()) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", problem.c_str()), ("buffer %" GST_PTR_FORMAT, inbuf));
    return false;
  }
  const gsize size = gst_buffer_get_size(inbuf);
  const GstVideoInfo* info = &s.in_info;
  if (gst_buffer_get_video_meta(inbuf) || size <= GST_VIDEO_INFO_SIZE(info) || s.warned_size) return true;
  s.warned_size = true;
  GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                      ("Input buffers of %" G_GSIZE_FORMAT " bytes are larger than a %dx%d %s frame (%" G_GSIZE_FORMAT
                       " bytes) and carry no GstVideoMeta: reading them with the default row stride of %d bytes; "
                       "if upstream pads its rows, it must attach a GstVideoMeta",
                       size, GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info), GST_VIDEO_INFO_NAME(info),
                       GST_VIDEO_INFO_SIZE(info), GST_VIDEO_INFO_PLANE_STRIDE(info, 0)),
                      ("buffer %" GST_PTR_FORMAT, inbuf));
  return true;
}

i2sbseg::SegmentParams segment_params(const Properties& p, i2sbseg::OutputSize size, bool device) {
  i2sbseg::SegmentParams params;
  params.memory = device ? i2sbseg::FrameMemory::kDevice : i2sbseg::FrameMemory::kHost;
  params.nfe = static_cast<int>(p.steps);
  params.ot_ode = p.ot_ode;
  params.seed = p.seed;
  params.output_size = size;
  params.threads = static_cast<int>(p.threads);
  return params;
}

// Runs the model on one frame: alone, or (batch-size > 1) in a batch with
// other elements' frames on the same model. False when a flush or stop
// withdrew the frame before its batch ran.
bool run_model(GstI2sbSeg* self, StreamState& s, const Properties& p, const std::uint8_t* px, int w, int h,
               int stride, const i2sbseg::OverlayTarget* overlay, bool device) {
  const i2sbseg::SegmentParams params = segment_params(p, s.size, device);
  if (!s.batcher) {
    const PrimaryContextScope primary(s.segmenter->device().cuda_index());
    s.segmenter->segment(px, w, h, stride, s.layout, params, s.class_map, s.map_w, s.map_h, overlay);
    return true;
  }
  BatchRequest r;
  r.owner = self->state;
  r.key = {w, h, s.layout, params.nfe, params.ot_ode, params.output_size, params.threads, params.memory};
  r.frame = {px, stride, params.seed, &s.class_map, overlay};
  r.batch_size = p.batch_size;
  r.timeout = std::chrono::milliseconds(p.batch_timeout);
  std::string error;
  unsigned ran_with = 0;
  const BatchOutcome outcome = s.batcher->submit(r, error, &ran_with);
  GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": batch of %u", s.frame_index, ran_with);
  if (outcome == BatchOutcome::kFailed) throw i2sbseg::Error(error);
  if (outcome == BatchOutcome::kCancelled) return false;
  s.segmenter->output_size(w, h, s.size, s.map_w, s.map_h);
  return true;
}

// Whether the model runs on this frame: every `interval` frames, and when
// there is no class map of the output's size to reuse.
bool model_due(const StreamState& s, const Properties& p) {
  return !s.have_map || s.frame_index % std::max(1u, p.interval) == 0 ||
         s.map_w != GST_VIDEO_INFO_WIDTH(&s.out_info) || s.map_h != GST_VIDEO_INFO_HEIGHT(&s.out_info);
}

// Writes the output frame: runs the model when `ran` (model_due), else draws
// the new frame under the last class map; `device`: both frames are mapped
// as CUDA device pointers. Sets `took` (ns) when it ran.
GstFlowReturn segment_frame(GstI2sbSeg* self, StreamState& s, const Properties& p, MappedFrames& f, bool ran,
                            bool device, GstClockTime& took) {
  const int in_w = GST_VIDEO_FRAME_WIDTH(&f.in), in_h = GST_VIDEO_FRAME_HEIGHT(&f.in);
  const int in_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f.in, 0);
  const auto* in_px = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&f.in, 0));
  const int out_w = GST_VIDEO_FRAME_WIDTH(&f.out), out_h = GST_VIDEO_FRAME_HEIGHT(&f.out);
  const int out_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f.out, 0);
  auto* out_px = static_cast<std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&f.out, 0));
  const bool mask = s.mode == GST_I2SBSEG_MODE_MASK;
  const auto alpha = static_cast<float>(p.alpha);
  const auto upscale =
      p.upscale == GST_I2SBSEG_UPSCALE_BILINEAR ? i2sbseg::Upscale::kBilinear : i2sbseg::Upscale::kNearest;
  try {
    int map_w = 0, map_h = 0;
    s.segmenter->output_size(in_w, in_h, s.size, map_w, map_h);
    if (map_w != out_w || map_h != out_h)  // segment() would draw past the output frame
      throw i2sbseg::Error("the class map would be " + std::to_string(map_w) + "x" + std::to_string(map_h) +
                           ", the output frame is " + std::to_string(out_w) + "x" + std::to_string(out_h));
    if (ran) {
      // Overlay mode: argmax and blend in one pass inside the library.
      const i2sbseg::OverlayTarget target{out_px, out_stride, alpha, upscale};
      const GstClockTime t0 = gst_util_get_timestamp();
      if (!run_model(self, s, p, in_px, in_w, in_h, in_stride, mask ? nullptr : &target, device)) {
        GST_DEBUG_OBJECT(self, "frame withdrawn from its batch (flushing)");
        return GST_FLOW_FLUSHING;
      }
      took = gst_util_get_timestamp() - t0;
      s.have_map = true;
    }
    if (mask) {
      for (int y = 0; y < out_h; ++y)
        std::copy_n(s.class_map.data() + static_cast<std::size_t>(y) * out_w, out_w,
                    out_px + static_cast<std::size_t>(y) * out_stride);
    } else if (!ran) {  // a reused class map (interval): draw the new frame under it
      s.segmenter->draw_overlay(s.class_map.data(), out_w, out_h, in_px, in_w, in_h, in_stride, s.layout, alpha,
                                out_px, out_stride, upscale);
    }
  } catch (const std::exception& e) {
    // The library's first line is written for people (e.g. out of GPU
    // memory, with the sizes and what to change); the rest is detail.
    const std::string what = e.what();
    GST_ELEMENT_ERROR(self, STREAM, FAILED,
                      ("Could not segment a %dx%d frame into %dx%d: %s", in_w, in_h, out_w, out_h,
                       what.substr(0, what.find('\n')).c_str()),
                      ("%s", what.c_str()));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

// One line of results-location; false after posting the error when the
// file cannot be written (no data is lost silently).
bool write_results(GstI2sbSeg* self, const StreamState& s, const Properties& p, GstBuffer* inbuf, bool ran,
                   GstClockTime took, std::vector<std::uint64_t> counts, std::vector<Region> regions) {
  FrameResult r;
  r.has_pts = GST_BUFFER_PTS_IS_VALID(inbuf);
  r.pts = r.has_pts ? GST_BUFFER_PTS(inbuf) : 0;
  r.width = s.map_w;
  r.height = s.map_h;
  r.steps = !s.segmenter->has_bridge() ? 0 : p.steps ? static_cast<int>(p.steps) : s.segmenter->default_nfe();
  r.model_ran = ran;
  r.inference_ms = ran ? static_cast<double>(took) / 1e6 : 0.0;
  r.class_pixels = std::move(counts);
  r.regions = std::move(regions);
  std::string why;
  if (s.results->write(r, why)) return true;
  GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Could not write to property 'results-location' '%s': %s",
                                            p.results_location.c_str(), why.c_str()),
                    ("frame %" G_GUINT64_FORMAT, s.frame_index));
  return false;
}

// Raising the slowest inference by more than a fifth posts a latency
// message, so that live pipelines requery (gst_i2sbseg_query adds it).
void record_latency(GstI2sbSeg* self, GstClockTime took) {
  const GstClockTime slowest = self->state->latency.load();
  if (took <= slowest + slowest / 5) return;
  self->state->latency = took;
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

}  // namespace

GstFlowReturn transform(GstBaseTransform* trans, GstBuffer* inbuf, GstBuffer* outbuf) {
  GstI2sbSeg* self = GST_I2SBSEG(trans);
  StreamState& s = self->state->stream;
  if (!s.segmenter) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No model loaded"), ("transform called before start"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const Properties p = self->state->settings.get();  // steps: checked where set (steps_range.h)
  if (!check_input(self, s, inbuf)) return GST_FLOW_ERROR;
  const bool ran = model_due(s, p);
  // In place on the GPU: an overlay frame whose input and output are CUDA
  // memory of the context we share with the model. Anything else (mask
  // mode, frames that reuse a class map, another context's memory) is
  // mapped through host memory, which GStreamer's CUDA memory provides.
  const bool on_gpu_wanted = ran && s.cuda_caps && s.mode != GST_I2SBSEG_MODE_MASK;
  const bool device =
      on_gpu_wanted && self->state->cuda.in_our_context(inbuf) && self->state->cuda.in_our_context(outbuf);
  if (on_gpu_wanted && !device && !s.warned_cuda_copy) {
    s.warned_cuda_copy = true;  // correct but slower: say so once per caps
    GST_WARNING_OBJECT(self, "CUDA frames not in the CUDA context shared with the model (or not one memory "
                             "block each): they go through host memory");
  }
  GstClockTime took = 0;
  GstFlowReturn ret;
  {
    MappedFrames frames;
    if (!frames.map(self, s, inbuf, outbuf, device)) return GST_FLOW_ERROR;
    ret = segment_frame(self, s, p, frames, ran, device, took);
  }
  ++s.frame_index;
  if (ret != GST_FLOW_OK) return ret;
  if (ran) record_latency(self, took);
  if (p.class_map_meta) attach_class_map_meta(outbuf, *s.segmenter, s.class_map, s.map_w, s.map_h);
  std::vector<Region> regions;  // found once for the metas and the results file
  if (p.roi_meta || s.results) {
    std::size_t left_out = 0;
    regions = reported_regions(s.segmenter->classes(), s.class_map, s.map_w, s.map_h, p.roi_min_area, p.roi_max,
                               left_out);
    if (left_out > 0) GST_LOG_OBJECT(self, "roi-max %u: %zu smaller regions not reported", p.roi_max, left_out);
  }
  if (p.roi_meta) attach_roi_metas(outbuf, s.segmenter->classes(), regions, s.class_map.size());
  std::vector<std::uint64_t> counts;  // counted once for the message and the results file
  if (p.post_messages || s.results) counts = class_pixel_counts(s.class_map, s.segmenter->classes().size());
  if (p.post_messages)
    post_frame_message(GST_ELEMENT(self), inbuf, ran, took, *s.segmenter, counts, s.class_map.size());
  if (s.results && !write_results(self, s, p, inbuf, ran, took, std::move(counts), std::move(regions)))
    return GST_FLOW_ERROR;
  return GST_FLOW_OK;
}

}  // namespace i2sbseg_gst
