// SPDX-License-Identifier: MIT
// The i2sbseg element through GstHarness: caps for every format, strides,
// mask values against the library, overlay alpha (set or controlled),
// interval reuse, property changes while PLAYING, ROI metas per region,
// model sharing, pipelines.
// The registry is isolated by tests/meson.build (GST_REGISTRY, GST_PLUGIN_PATH).
#include "element_fixture.h"

#include "../common/flood_fill.h"

#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>

#include <algorithm>

TEST_F(Element, EveryFormatNegotiatesAtScaleAndAlphaZeroIsTheUpscaledInput) {
  const int w = 6, h = 4;
  for (const FormatCase& f : kFormats) {
    SCOPED_TRACE(f.name);
    GstHarness* hn = make_harness({{"alpha", "0"}}, caps_string(f.name, w, h));
    const Bytes px = random_pixels(w, h, f.layout.bytes_per_pixel, 11);
    const Output out = run_frame(hn, make_buffer(f.format, w, h, px));
    EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&out.info), f.format);
    EXPECT_EQ(out.width(), w * kScale);
    EXPECT_EQ(out.height(), h * kScale);
    EXPECT_EQ(out.pixels, upscale(px, w, h, f.layout.bytes_per_pixel, kScale));
  }
}

TEST_F(Element, MaskIsGray8ClassIndicesEqualToTheLibrary) {
  const int w = 8, h = 6;
  for (bool ot_ode : {false, true}) {
    SCOPED_TRACE(ot_ode ? "ot-ode" : "seeded");
    GstHarness* hn = make_harness({{"mode", "mask"}, {"seed", "42"}, {"ot-ode", ot_ode ? "true" : "false"}},
                                  caps_string("RGB", w, h));
    const Bytes px = random_pixels(w, h, 3, 5);
    const Output out = run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px));
    EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&out.info), GST_VIDEO_FORMAT_GRAY8);
    ASSERT_EQ(out.width(), w * kScale);
    ASSERT_EQ(out.height(), h * kScale);
    for (std::uint8_t v : out.pixels) ASSERT_LT(v, 3);

    SegmentParams params;
    params.seed = 42;
    params.ot_ode = ot_ode;
    int mw = 0, mh = 0;
    EXPECT_EQ(out.pixels, library_map(px, w, h, rgb().layout, params, mw, mh));
    EXPECT_EQ(mw, w * kScale);
    EXPECT_EQ(mh, h * kScale);
  }
}

TEST_F(Element, OutputSizeInputKeepsTheInputSize) {
  const int w = 8, h = 6;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"output-size", "input"}}, caps_string("BGRx", w, h));
  const Bytes px = random_pixels(w, h, 4, 9);
  const Output out = run_frame(hn, make_buffer(GST_VIDEO_FORMAT_BGRx, w, h, px));
  EXPECT_EQ(out.width(), w);
  EXPECT_EQ(out.height(), h);
  SegmentParams params;
  params.output_size = OutputSize::kInput;
  int mw = 0, mh = 0;
  EXPECT_EQ(out.pixels, library_map(px, w, h, kFormats[5].layout, params, mw, mh));

  // Overlay at the input size with alpha 0: the input itself.
  GstHarness* overlay = make_harness({{"output-size", "input"}, {"alpha", "0"}}, caps_string("BGRx", w, h));
  EXPECT_EQ(run_frame(overlay, make_buffer(GST_VIDEO_FORMAT_BGRx, w, h, px)).pixels, px);
}

TEST_F(Element, PaddedStridesAreHonoured) {
  // RGB width 5: 15 bytes of pixels in GStreamer's default 16-byte rows;
  // then an explicit 32-byte stride through a GstVideoMeta.
  const int w = 5, h = 3;
  const Bytes px = random_pixels(w, h, 3, 21);
  SegmentParams params;
  int mw = 0, mh = 0;
  const Bytes expected = library_map(px, w, h, rgb().layout, params, mw, mh);
  {
    // The check means something: reading the padded rows as tight ones differs.
    const Bytes padded = [&] {
      Bytes b(16 * h, 0xAB);
      for (int y = 0; y < h; ++y) std::copy_n(&px[y * w * 3], w * 3, &b[y * 16]);
      return b;
    }();
    Bytes misread;
    Segmenter::open(model_path(), {"cpu"})->segment(padded.data(), w, h, w * 3, rgb().layout, params, misread, mw, mh);
    ASSERT_NE(misread, expected);
  }
  for (int stride : {0, 32}) {
    SCOPED_TRACE(stride);
    GstHarness* hn = make_harness({{"mode", "mask"}}, caps_string("RGB", w, h));
    EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px, stride)).pixels, expected);
  }
  // Overlay output of width 10 has 30-byte rows in 32-byte strides.
  GstHarness* hn = make_harness({{"alpha", "0"}}, caps_string("RGB", w, h));
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px, 32)).pixels, upscale(px, w, h, 3, kScale));
}

TEST_F(Element, IntervalReusesTheLastMask) {
  const int w = 8, h = 6;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"interval", "3"}}, caps_string("RGB", w, h));
  std::vector<Bytes> outs, frames;
  for (unsigned i = 0; i < 4; ++i) {
    frames.push_back(random_pixels(w, h, 3, 100 + i));
    outs.push_back(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, frames.back())).pixels);
  }
  SegmentParams params;
  int mw = 0, mh = 0;
  const Bytes map0 = library_map(frames[0], w, h, rgb().layout, params, mw, mh);
  const Bytes map1 = library_map(frames[1], w, h, rgb().layout, params, mw, mh);
  ASSERT_NE(map0, map1) << "the test model must tell these frames apart";
  EXPECT_EQ(outs[0], map0);
  EXPECT_EQ(outs[1], map0);
  EXPECT_EQ(outs[2], map0);
  EXPECT_EQ(outs[3], library_map(frames[3], w, h, rgb().layout, params, mw, mh));
}

TEST_F(Element, BilinearUpscaleIsSmoothAndExactAtInputSize) {
  const int w = 6, h = 4;
  // A flat frame stays flat; a horizontal ramp stays between its neighbours.
  Bytes flat(w * h * 3, 0);
  for (std::size_t i = 0; i < flat.size(); i += 3) flat[i] = 10, flat[i + 1] = 200, flat[i + 2] = 77;
  GstHarness* hn = make_harness({{"alpha", "0"}, {"upscale", "bilinear"}}, caps_string("RGB", w, h));
  const Bytes out = run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, flat)).pixels;
  EXPECT_EQ(out, upscale(flat, w, h, 3, kScale));

  Bytes ramp(w * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) ramp[(y * w + x) * 3 + c] = static_cast<std::uint8_t>(x * 40);
  const Bytes smooth = run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, ramp)).pixels;
  EXPECT_NE(smooth, upscale(ramp, w, h, 3, kScale));
  for (int x = 1; x < w * kScale; ++x) EXPECT_GE(smooth[x * 3], smooth[(x - 1) * 3]) << "monotonic at " << x;
  EXPECT_EQ(smooth[0], 0);                                  // edges clamp
  EXPECT_EQ(smooth[(w * kScale - 1) * 3], (w - 1) * 40);

  GstHarness* same = make_harness({{"alpha", "0"}, {"upscale", "bilinear"}, {"output-size", "input"}},
                                  caps_string("RGB", w, h));
  EXPECT_EQ(run_frame(same, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, ramp)).pixels, ramp);
}

namespace {

// The RGBA overlay at alpha 1: each pixel's class colour, its alpha byte kept
// from the nearest-neighbour upscale of `px` (w x h).
Bytes full_alpha_overlay(const Bytes& px, int w, int h) {
  SegmentParams params;
  int mw = 0, mh = 0;
  const Bytes map = Element::library_map(px, w, h, kFormats[2].layout, params, mw, mh);
  const Bytes up = upscale(px, w, h, 4, kScale);
  const ModelConfig c = small_config();
  Bytes out(up.size());
  for (std::size_t i = 0; i < map.size(); ++i) {
    const auto& col = c.classes[map[i]].color;
    std::copy(col.begin(), col.end(), &out[i * 4]);
    out[i * 4 + 3] = up[i * 4 + 3];
  }
  return out;
}

}  // namespace

TEST_F(Element, AlphaChangesWhilePlaying) {
  const int w = 6, h = 4;
  GstHarness* hn = make_harness({{"alpha", "0"}}, caps_string("RGBA", w, h));
  const Bytes px = random_pixels(w, h, 4, 31);
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGBA, w, h, px)).pixels, upscale(px, w, h, 4, kScale));
  g_object_set(hn->element, "alpha", 1.0, nullptr);
  const Bytes expected = full_alpha_overlay(px, w, h);
  ASSERT_NE(expected, upscale(px, w, h, 4, kScale));
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGBA, w, h, px)).pixels, expected);
}

TEST_F(Element, AControlBindingOnAlphaFollowsTheBuffersStreamTime) {
  const int w = 6, h = 4;
  GstHarness* hn = make_harness({}, caps_string("RGBA", w, h));  // alpha 0.5 until a frame syncs it
  GstControlSource* cs = gst_interpolation_control_source_new();
  g_object_set(cs, "mode", GST_INTERPOLATION_MODE_LINEAR, nullptr);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), 0, 0.0);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), GST_SECOND, 1.0);
  ASSERT_TRUE(gst_object_add_control_binding(GST_OBJECT(hn->element),
                                             gst_direct_control_binding_new(GST_OBJECT(hn->element), "alpha", cs)));
  gst_object_unref(cs);
  const Bytes px = random_pixels(w, h, 4, 33);
  auto frame_at = [&](GstClockTime pts) {
    GstBuffer* buf = make_buffer(GST_VIDEO_FORMAT_RGBA, w, h, px);
    GST_BUFFER_PTS(buf) = pts;
    return run_frame(hn, buf).pixels;
  };
  double alpha = -1;
  EXPECT_EQ(frame_at(0), upscale(px, w, h, 4, kScale)) << "alpha 0 at t=0";
  g_object_get(hn->element, "alpha", &alpha, nullptr);
  EXPECT_EQ(alpha, 0.0);
  EXPECT_EQ(frame_at(GST_SECOND), full_alpha_overlay(px, w, h)) << "alpha 1 at t=1s";
  g_object_get(hn->element, "alpha", &alpha, nullptr);
  EXPECT_EQ(alpha, 1.0);
  frame_at(GST_SECOND / 4);
  g_object_get(hn->element, "alpha", &alpha, nullptr);
  EXPECT_DOUBLE_EQ(alpha, 0.25) << "interpolated between the control points";
}

TEST_F(Element, StepsChangeWhilePlaying) {
  const int w = 8, h = 6;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"ot-ode", "true"}}, caps_string("RGB", w, h));
  const Bytes px = random_pixels(w, h, 3, 77);
  SegmentParams params;
  params.ot_ode = true;
  int mw = 0, mh = 0;
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels,
            library_map(px, w, h, rgb().layout, params, mw, mh));
  g_object_set(hn->element, "steps", 5u, nullptr);
  params.nfe = 5;
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels,
            library_map(px, w, h, rgb().layout, params, mw, mh));
}

TEST_F(Element, ThreadsSetsLibTorchThreadsInTheStreamingThread) {
  // The harness runs the element's transform in this thread, so LibTorch's
  // per-thread setting is visible here after each frame.
  const int w = 4, h = 4;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"threads", "2"}}, caps_string("RGB", w, h));
  const Bytes px = random_pixels(w, h, 3, 5);
  at::set_num_threads(1);
  run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px));
  EXPECT_EQ(at::get_num_threads(), 2);
  g_object_set(hn->element, "threads", 1u, nullptr);
  run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px));
  EXPECT_EQ(at::get_num_threads(), 1);
  guint threads = 99;
  g_object_get(hn->element, "threads", &threads, nullptr);
  EXPECT_EQ(threads, 1u);
}

TEST_F(Element, StepsBeyondTheScheduleSetWhilePlayingAreRefused) {
  // The model's schedule has 100 steps (small_config): steps 500 set before
  // start fails it (test_element_start.cpp); set while a model is loaded it
  // is refused with a warning, and the frames go on at the old 3 steps.
  const int w = 4, h = 4;
  GstHarness* hn = make_harness({{"steps", "3"}, {"mode", "mask"}, {"ot-ode", "true"}}, caps_string("RGB", w, h));
  GstBus* bus = attach_bus(hn->element);
  const Bytes px = random_pixels(w, h, 3, 1);
  SegmentParams params;
  params.ot_ode = true;
  params.nfe = 3;
  int mw = 0, mh = 0;
  const Bytes at3 = library_map(px, w, h, rgb().layout, params, mw, mh);
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels, at3);
  for (guint beyond : {100u, 500u}) {
    g_object_set(hn->element, "steps", beyond, nullptr);
    GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    ASSERT_NE(msg, nullptr) << beyond;
    GError* err = nullptr;
    gst_message_parse_warning(msg, &err, nullptr);
    EXPECT_TRUE(err->domain == GST_RESOURCE_ERROR && err->code == GST_RESOURCE_ERROR_SETTINGS) << err->message;
    const std::string text = err->message;
    g_error_free(err);
    gst_message_unref(msg);
    EXPECT_NE(text.find("'steps' is " + std::to_string(beyond)), std::string::npos) << text;
    EXPECT_NE(text.find("1 to 99"), std::string::npos) << text;
    EXPECT_NE(text.find("ignored"), std::string::npos) << text;
    guint steps = 0;
    g_object_get(hn->element, "steps", &steps, nullptr);
    EXPECT_EQ(steps, 3u);
    EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels, at3);
  }
  EXPECT_EQ(pop_error(bus).code, -1) << "no error: the stream went on";
  // The highest value the schedule allows is taken.
  g_object_set(hn->element, "steps", 99u, nullptr);
  EXPECT_EQ(pop_text(bus, GST_MESSAGE_WARNING), "");
  guint steps = 0;
  g_object_get(hn->element, "steps", &steps, nullptr);
  EXPECT_EQ(steps, 99u);
}

TEST_F(Element, FlushDropsTheReusedMaskAndEosPassesThrough) {
  const int w = 8, h = 6;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"interval", "5"}}, caps_string("RGB", w, h));
  const Bytes a = random_pixels(w, h, 3, 300), b = random_pixels(w, h, 3, 301);
  SegmentParams params;
  int mw = 0, mh = 0;
  const Bytes map_a = library_map(a, w, h, rgb().layout, params, mw, mh);
  const Bytes map_b = library_map(b, w, h, rgb().layout, params, mw, mh);
  ASSERT_NE(map_a, map_b);
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, a)).pixels, map_a);
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, b)).pixels, map_a) << "reused";

  EXPECT_TRUE(gst_harness_push_event(hn, gst_event_new_flush_start()));
  EXPECT_TRUE(gst_harness_push_event(hn, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  EXPECT_TRUE(gst_harness_push_event(hn, gst_event_new_segment(&segment)));
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, b)).pixels, map_b) << "run again after the flush";

  EXPECT_TRUE(gst_harness_push_event(hn, gst_event_new_eos()));
  bool eos = false;
  while (GstEvent* ev = gst_harness_try_pull_event(hn)) {
    eos = eos || GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
  }
  EXPECT_TRUE(eos);
}

TEST_F(Element, PostsPerFrameMessagesAndAnswersLatency) {
  const int w = 8, h = 6;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"interval", "2"}, {"post-messages", "true"}},
                                caps_string("RGB", w, h));
  GstBus* bus = attach_bus(hn->element);
  const Bytes px = random_pixels(w, h, 3, 8);
  const Bytes map = run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels;
  run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px));

  // Posted before the first frame's element message (popping discards what it skips).
  GstMessage* latency = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY);
  EXPECT_TRUE(latency != nullptr) << "the first measurement asks the pipeline to requery";
  if (latency) gst_message_unref(latency);
  for (bool expect_ran : {true, false}) {
    GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    ASSERT_TRUE(msg != nullptr);
    const GstStructure* s = gst_message_get_structure(msg);
    EXPECT_TRUE(gst_structure_has_name(s, "i2sbseg"));
    gboolean ran = !expect_ran;
    guint64 took = 0;
    EXPECT_TRUE(gst_structure_get_boolean(s, "model-ran", &ran));
    EXPECT_TRUE(gst_structure_get_uint64(s, "inference-time", &took));
    EXPECT_EQ(static_cast<bool>(ran), expect_ran);
    EXPECT_EQ(took > 0, expect_ran);
    const GValue* names = gst_structure_get_value(s, "class-names");
    const GValue* shares = gst_structure_get_value(s, "class-shares");
    ASSERT_TRUE(names && shares);
    ASSERT_EQ(gst_value_array_get_size(names), 3u);
    ASSERT_EQ(gst_value_array_get_size(shares), 3u);
    EXPECT_STREQ(g_value_get_string(gst_value_array_get_value(names, 0)), "background");
    for (guint k = 0; k < 3; ++k) {
      const double share = g_value_get_double(gst_value_array_get_value(shares, k));
      const double expected = static_cast<double>(std::count(map.begin(), map.end(), k)) / map.size();
      EXPECT_DOUBLE_EQ(share, expected) << "class " << k;
    }
    gst_message_unref(msg);
  }
  EXPECT_GT(gst_harness_query_latency(hn), 0u) << "the measured inference time is added";
}

TEST_F(Element, AttachesTheClassMapMeta) {
  const int w = 8, h = 6;
  GstHarness* hn = make_harness({{"seed", "9"}}, caps_string("BGR", w, h));
  const Bytes px = random_pixels(w, h, 3, 12);
  EXPECT_EQ(gst_harness_push(hn, make_buffer(GST_VIDEO_FORMAT_BGR, w, h, px)), GST_FLOW_OK);
  GstBuffer* buf = gst_harness_pull(hn);
  ASSERT_TRUE(buf != nullptr);
  GstBuffer* copy = gst_buffer_copy(buf);
  for (GstBuffer* b : {buf, copy}) {
    const GstI2sbSegMeta* meta = gst_buffer_get_i2sbseg_meta(b);
    ASSERT_TRUE(meta != nullptr);
    EXPECT_EQ(meta->width, guint(w * kScale));
    EXPECT_EQ(meta->height, guint(h * kScale));
    SegmentParams params;
    params.seed = 9;
    int mw = 0, mh = 0;
    const Bytes expected = library_map(px, w, h, kFormats[1].layout, params, mw, mh);
    EXPECT_EQ(Bytes(meta->class_map, meta->class_map + meta->width * meta->height), expected);
    const ModelConfig c = small_config();
    ASSERT_EQ(meta->num_classes, 3u);
    for (guint k = 0; k < 3; ++k) {
      EXPECT_EQ(std::string(meta->class_names[k]), c.classes[k].name);
      EXPECT_EQ(meta->class_colors[k * 3 + 1], c.classes[k].color[1]);
    }
    EXPECT_EQ(meta->class_names[3], nullptr);
  }
  gst_buffer_unref(copy);
  gst_buffer_unref(buf);
}

namespace {

// The ROI metas of a buffer as (class, x, y, w, h, pixels), in their order,
// each checked for its type and pixel share against `total` pixels.
std::vector<i2sbseg::testing::RegionTuple> roi_tuples(GstBuffer* buf, std::size_t total) {
  std::vector<i2sbseg::testing::RegionTuple> rois;
  gpointer state = nullptr;
  while (GstMeta* m = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    const GstStructure* p = gst_video_region_of_interest_meta_get_param(roi, "i2sbseg/class");
    EXPECT_TRUE(p != nullptr);
    guint k = 0;
    guint64 n = 0;
    double share = -1;
    EXPECT_TRUE(p && gst_structure_get_uint(p, "class-index", &k) && gst_structure_get_uint64(p, "pixels", &n) &&
                gst_structure_get_double(p, "pixel-share", &share));
    EXPECT_TRUE(k > 0 && k < 3) << k;
    if (k >= 3) continue;
    EXPECT_STREQ(g_quark_to_string(roi->roi_type), small_config().classes[k].name.c_str());
    EXPECT_DOUBLE_EQ(share, double(n) / total);
    rois.emplace_back(int(k), int(roi->x), int(roi->y), int(roi->w), int(roi->h), n);
  }
  return rois;
}

}  // namespace

TEST_F(Element, AttachesOneRoiMetaPerConnectedRegion) {
  const int w = 16, h = 12;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"seed", "4"}, {"roi-min-area", "0"}}, caps_string("RGB", w, h));
  const Bytes px = random_pixels(w, h, 3, 8);
  // Every region first; then, set while PLAYING, a minimum that drops some.
  std::uint64_t min_area = 0;
  for (int frame = 0; frame < 2; ++frame) {
    SCOPED_TRACE("roi-min-area " + std::to_string(min_area));
    EXPECT_EQ(gst_harness_push(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)), GST_FLOW_OK);
    GstBuffer* buf = gst_harness_pull(hn);
    ASSERT_TRUE(buf != nullptr);
    const Output out = read_output(hn, gst_buffer_ref(buf));  // the class map (mask mode)
    const auto rois = roi_tuples(buf, out.pixels.size());
    gst_buffer_unref(buf);
    const auto all = i2sbseg::testing::flood_fill_regions(out.pixels.data(), out.width(), out.height(), 0);
    const auto expected =
        i2sbseg::testing::flood_fill_regions(out.pixels.data(), out.width(), out.height(), min_area);
    EXPECT_EQ(rois, expected);
    if (frame == 0) {
      std::vector<int> per_class(3, 0);
      for (const auto& r : all) ++per_class[std::get<0>(r)];
      ASSERT_TRUE(per_class[1] > 1 || per_class[2] > 1) << "the test model should split some class";
      // The median region's size: some regions fall under it, some do not.
      std::vector<std::uint64_t> sizes;
      for (const auto& r : all) sizes.push_back(std::get<5>(r));
      std::sort(sizes.begin(), sizes.end());
      ASSERT_LT(sizes.front(), sizes.back()) << "regions of different sizes";
      min_area = std::max<std::uint64_t>(sizes[sizes.size() / 2], sizes.front() + 1);
      g_object_set(hn->element, "roi-min-area", guint(min_area), nullptr);
    } else {
      EXPECT_LT(rois.size(), all.size()) << "some regions are dropped";
      EXPECT_FALSE(rois.empty());
    }
  }
  guint read_back = 0;
  g_object_get(hn->element, "roi-min-area", &read_back, nullptr);
  EXPECT_EQ(read_back, min_area);
}

// roi-max: the largest regions only (ties: the earlier), in raster order.
TEST_F(Element, RoiMaxKeepsTheLargestRegions) {
  const int w = 16, h = 12;
  GstHarness* hn = make_harness({{"mode", "mask"}, {"seed", "4"}, {"roi-min-area", "0"}, {"roi-max", "2"}},
                                caps_string("RGB", w, h));
  EXPECT_EQ(gst_harness_push(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, random_pixels(w, h, 3, 8))), GST_FLOW_OK);
  GstBuffer* buf = gst_harness_pull(hn);
  ASSERT_TRUE(buf != nullptr);
  const Output out = read_output(hn, gst_buffer_ref(buf));
  const auto rois = roi_tuples(buf, out.pixels.size());
  gst_buffer_unref(buf);
  const auto all = i2sbseg::testing::flood_fill_regions(out.pixels.data(), out.width(), out.height(), 0);
  ASSERT_GT(all.size(), 2u) << "the test needs more regions than roi-max";
  std::vector<std::size_t> order(all.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return std::get<5>(all[a]) > std::get<5>(all[b]); });
  order.resize(2);
  std::sort(order.begin(), order.end());
  EXPECT_EQ(rois, decltype(all)({all[order[0]], all[order[1]]}));
}

TEST_F(Element, RoiMinAreaDefaultsTo16ClassMapPixels) {
  GstElement* e = make_element({}, false);
  guint area = 0, most = 0;
  g_object_get(e, "roi-min-area", &area, "roi-max", &most, nullptr);
  EXPECT_EQ(area, 16u);
  EXPECT_EQ(most, 64u);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "roi-min-area");
  ASSERT_TRUE(spec != nullptr);
  EXPECT_TRUE(spec->flags & GST_PARAM_MUTABLE_PLAYING);
  EXPECT_NE(std::string(g_param_spec_get_blurb(spec)).find("pixels of the class map"), std::string::npos);
}

TEST_F(Element, ModelAndModeRefuseChangesWhilePlaying) {
  GstHarness* hn = make_harness({}, caps_string("RGB", 4, 4));
  GstBus* bus = attach_bus(hn->element);
  g_object_set(hn->element, "model", "/elsewhere.i2sb", "mode", 1, nullptr);
  const std::string warning = pop_text(bus, GST_MESSAGE_WARNING);
  ASSERT_NE(warning, "") << "the refusal is reported";
  EXPECT_NE(warning.find("'model'"), std::string::npos) << warning;
  gchar* model = nullptr;
  gint mode = -1;
  g_object_get(hn->element, "model", &model, "mode", &mode, nullptr);
  EXPECT_EQ(std::string(model), model_path());
  EXPECT_EQ(mode, 0);
  g_free(model);
}

TEST_F(Element, ImpossibleCapsAreNotNegotiated) {
  // Downstream wants 7 pixels wide: not a multiple of the scale factor.
  GstHarness* hn = gst_harness_new_with_element(make_element({}), "sink", "src");
  harnesses_.push_back(hn);
  gst_harness_set_sink_caps_str(hn, "video/x-raw,format=RGB,width=7,height=8");
  gst_harness_set_src_caps_str(hn, caps_string("RGB", 4, 4).c_str());
  const Bytes px = random_pixels(4, 4, 3, 1);
  EXPECT_EQ(gst_harness_push(hn, make_buffer(GST_VIDEO_FORMAT_RGB, 4, 4, px)), GST_FLOW_NOT_NEGOTIATED);
}

TEST_F(Element, InstancesWithTheSameModelShareIt) {
  auto probe = Segmenter::open(model_path(), {"cpu"});
  EXPECT_EQ(probe.get(), Segmenter::open(model_path(), {"cpu"}).get());
  GstElement* a = make_element({{"device", "cpu"}});
  GstElement* b = make_element({{"device", "auto"}});  // resolves to the CPU here
  ASSERT_NE(gst_element_set_state(a, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(gst_element_set_state(b, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(probe.use_count(), 3) << "both elements hold the one loaded model";
  gst_element_set_state(a, GST_STATE_NULL);
  gst_element_set_state(b, GST_STATE_NULL);
  EXPECT_EQ(probe.use_count(), 1);
}

TEST_F(Element, RunsInPipelinesAndNegotiatesFromEitherSide) {
  for (const char* f : {"videotestsrc", "videoconvert", "videoscale", "fakesink"})
    if (!element_test::have_factory(f)) GTEST_SKIP() << f << " is not available (GST_PLUGIN_SYSTEM_PATH_1_0)";
  const std::string model = "i2sbseg model=\"" + model_path() + "\"";
  struct Case {
    std::string launch;
    int out_w, out_h;
  };
  const Case cases[] = {
      // Upstream fixes the size after videoconvert ! videoscale: the output is x scale.
      {"videotestsrc num-buffers=3 ! video/x-raw,format=I420,width=40,height=30 ! videoconvert ! videoscale ! "
       "video/x-raw,width=20,height=14 ! " + model + " ! fakesink name=sink",
       20 * kScale, 14 * kScale},
      // Downstream fixes the output size: upstream is asked for output / scale.
      {"videotestsrc num-buffers=3 ! videoconvert ! " + model + " ! video/x-raw,width=64,height=48 ! "
       "fakesink name=sink",
       64, 48},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.launch);
    GError* err = nullptr;
    GstElement* pipeline = gst_parse_launch(c.launch.c_str(), &err);
    ASSERT_TRUE(pipeline != nullptr) << (err ? err->message : "");
    elements_.push_back(GST_ELEMENT(gst_object_ref_sink(pipeline)));  // TearDown stops and frees it
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    ASSERT_TRUE(msg != nullptr) << "no EOS within 60 s";
    EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
    gst_message_unref(msg);
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    GstPad* pad = gst_element_get_static_pad(sink, "sink");
    GstCaps* caps = gst_pad_get_current_caps(pad);
    ASSERT_TRUE(caps != nullptr);
    GstVideoInfo info;
    ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
    EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), c.out_w);
    EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), c.out_h);
    gst_caps_unref(caps);
    gst_object_unref(pad);
    gst_object_unref(sink);
    gst_element_set_state(pipeline, GST_STATE_NULL);
  }
}

TEST_F(Element, DecodesAFileSegmentsItAndWritesOneBack) {
  for (const char* f : {"videotestsrc", "jpegenc", "avimux", "filesink", "filesrc", "decodebin", "videoconvert",
                        "videoscale"})
    if (!element_test::have_factory(f)) GTEST_SKIP() << f << " is not available (GST_PLUGIN_SYSTEM_PATH_1_0)";
  const std::string clip = dir_->file("clip.avi"), out = dir_->file("overlay.avi");
  const std::string make_clip = "videotestsrc num-buffers=4 pattern=ball ! video/x-raw,width=48,height=32 ! "
                                "jpegenc ! avimux ! filesink location=\"" + clip + "\"";
  const std::string segment = "filesrc location=\"" + clip + "\" ! decodebin ! videoconvert ! videoscale ! "
                              "video/x-raw,width=24,height=16 ! i2sbseg model=\"" + model_path() +
                              "\" ! videoconvert ! jpegenc ! avimux ! filesink location=\"" + out + "\"";
  for (const std::string& launch : {make_clip, segment}) {
    SCOPED_TRACE(launch);
    GError* err = nullptr;
    GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
    ASSERT_TRUE(pipeline != nullptr) << (err ? err->message : "");
    elements_.push_back(GST_ELEMENT(gst_object_ref_sink(pipeline)));
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    GstBus* bus = gst_element_get_bus(pipeline);
    const std::string error = wait_eos(bus, 60);
    gst_object_unref(bus);
    ASSERT_NE(error, "no EOS within 60 s");
    EXPECT_EQ(error, "");
    gst_element_set_state(pipeline, GST_STATE_NULL);
  }
  std::error_code ec;
  EXPECT_GT(std::filesystem::file_size(out, ec), 0u);
}
