// SPDX-License-Identifier: MIT
// The element against what a hostile or careless upstream sends: tiny, odd
// and prime sizes, a 4K frame, frames too large for memory, short and
// padded buffers, caps changing mid-stream, flushing seeks, and 200
// NULL <-> PLAYING cycles. Nothing may crash; invalid input gets an error
// (or, where GStreamer allows the input, a warning) that says what is wrong.
#include "element_fixture.h"

namespace {

class Hostile : public Element {
 protected:
  // A model like the fixture's with another scale factor (and classifier).
  static std::string write_model(const std::string& name, int scale, std::vector<int> widths) {
    ModelConfig c = small_config();
    c.scale_factor = scale;
    c.classifier.widths = std::move(widths);
    const std::string path = temp_file(name);
    save_model(Model(c), path);
    return path;
  }
};

}  // namespace

TEST_F(Hostile, TinyOddAndPrimeSizesGiveTheLibrarysMap) {
  const std::pair<int, int> sizes[] = {{1, 1}, {1, 2}, {2, 3}, {7, 5}, {13, 11}, {1, 31}, {97, 1}, {3, 41}};
  for (const auto& [w, h] : sizes) {
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
    const Bytes px = random_pixels(w, h, 3, static_cast<unsigned>(w * 100 + h));
    SegmentParams params;
    int mw = 0, mh = 0;
    const Bytes expected = library_map(px, w, h, rgb().layout, params, mw, mh);
    GstHarness* mask = make_harness({{"mode", "mask"}}, caps_string("RGB", w, h));
    const Output m = run_frame(mask, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px));
    EXPECT_EQ(m.width(), w * kScale);
    EXPECT_EQ(m.height(), h * kScale);
    EXPECT_EQ(m.pixels, expected);
    GstHarness* overlay = make_harness({{"alpha", "0"}}, caps_string("RGB", w, h));
    EXPECT_EQ(run_frame(overlay, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels, upscale(px, w, h, 3, kScale));
  }
}

TEST_F(Hostile, A4kFrameRunsAndMatchesTheLibrary) {
  // A x1 model keeps the output at 3840x2160 (the fixture's x2 would make 8K).
  const std::string model = write_model("x1.i2sb", 1, {2, 4, 8});
  const int w = 3840, h = 2160;
  const Bytes px = random_pixels(w, h, 4, 4);
  GstHarness* hn = make_harness({{"model", model}, {"mode", "mask"}}, caps_string("BGRx", w, h));
  const Output out = run_frame(hn, make_buffer(GST_VIDEO_FORMAT_BGRx, w, h, px));
  ASSERT_EQ(out.width(), w);
  ASSERT_EQ(out.height(), h);
  Bytes expected;
  int mw = 0, mh = 0;
  Segmenter::open(model, {"cpu"})->segment(px.data(), w, h, w * 4, kFormats[5].layout, {}, expected, mw, mh);
  EXPECT_EQ(out.pixels, expected);
}

TEST_F(Hostile, AFrameTooLargeForMemoryFailsNegotiationWithTheSizes) {
  // 3840x2160 into a x16 model: a 61440x34560 output, hundreds of GiB.
  const std::string model = write_model("x16.i2sb", 16, {8, 16});
  GstHarness* hn = gst_harness_new_with_element(make_element({{"model", model}}), "sink", "src");
  harnesses_.push_back(hn);
  GstBus* bus = attach_bus(hn->element);
  gst_harness_set_src_caps_str(hn, caps_string("RGB", 3840, 2160).c_str());
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, 3840 * 2160 * 3, nullptr);
  EXPECT_EQ(gst_harness_push(hn, buf), GST_FLOW_NOT_NEGOTIATED);
  const BusError e = pop_error(bus);
  EXPECT_TRUE(e.is(GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT)) << e.code << ": " << e.text;
  EXPECT_NE(e.text.find("3840x2160"), std::string::npos) << e.text;
  // The library's numbers, for whoever reads the debug text.
  EXPECT_NE(e.debug.find("61440x34560"), std::string::npos) << e.debug;
  EXPECT_NE(e.debug.find("GiB"), std::string::npos) << e.debug;
}

TEST_F(Hostile, AShortBufferIsAnErrorNamingBothSizes) {
  const int w = 6, h = 4;  // RGB rows of 18 bytes in 20-byte default strides: 80 bytes
  GstHarness* hn = make_harness({{"mode", "mask"}}, caps_string("RGB", w, h));
  GstBus* bus = attach_bus(hn->element);
  for (gsize size : {gsize{79}, gsize{1}, gsize{0}}) {
    SCOPED_TRACE(size);
    EXPECT_EQ(gst_harness_push(hn, gst_buffer_new_allocate(nullptr, size, nullptr)), GST_FLOW_ERROR);
    const std::string text = pop_text(bus, GST_MESSAGE_ERROR);
    EXPECT_NE(text.find("buffer of " + std::to_string(size) + " bytes"), std::string::npos) << text;
    EXPECT_NE(text.find("80 bytes"), std::string::npos) << text;
  }
  // A GstVideoMeta whose stride runs past the buffer's end is refused too.
  const Bytes px = random_pixels(w, h, 3, 5);
  GstBuffer* lying = make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px);  // 80 bytes
  gsize offset[GST_VIDEO_MAX_PLANES] = {0};
  gint strides[GST_VIDEO_MAX_PLANES] = {64};
  gst_buffer_add_video_meta_full(lying, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_RGB, w, h, 1, offset, strides);
  EXPECT_EQ(gst_harness_push(hn, lying), GST_FLOW_ERROR);
  const std::string text = pop_text(bus, GST_MESSAGE_ERROR);
  EXPECT_NE(text.find("Could not read a 6x4 RGB frame from an input buffer of 80 bytes"), std::string::npos) << text;
  EXPECT_NE(text.find("stride 64"), std::string::npos) << text;
  GstBuffer* other_format = make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px);
  gst_buffer_add_video_meta(other_format, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_BGRx, w, h / 2);
  EXPECT_EQ(gst_harness_push(hn, other_format), GST_FLOW_ERROR);
  const std::string other = pop_text(bus, GST_MESSAGE_ERROR);
  EXPECT_NE(other.find("its GstVideoMeta says BGRx"), std::string::npos) << other;
  // The stream goes on with good buffers.
  int mw = 0, mh = 0;
  EXPECT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels,
            library_map(px, w, h, rgb().layout, {}, mw, mh));
}

TEST_F(Hostile, PaddedRowsWithoutAMetaAreReadAtTheDefaultStrideWithOneWarning) {
  // Upstream pads rows to 32 bytes but attaches no GstVideoMeta: GStreamer
  // allows larger buffers, so the frame is read at the caps' stride (as any
  // element would) and the element says once why the picture may be wrong.
  const int w = 6, h = 4;
  const Bytes px = random_pixels(w, h, 3, 6);
  GstHarness* hn = make_harness({{"mode", "mask"}}, caps_string("RGB", w, h));
  GstBus* bus = attach_bus(hn->element);
  Bytes padded(32 * h, 0xAB);
  for (int y = 0; y < h; ++y) std::copy_n(&px[y * w * 3], w * 3, &padded[y * 32]);
  Bytes as_default_stride(padded.begin(), padded.begin() + 20 * h);
  int mw = 0, mh = 0;
  Bytes expected;
  Segmenter::open(model_path(), {"cpu"})->segment(as_default_stride.data(), w, h, 20, rgb().layout, {}, expected, mw, mh);
  for (int i = 0; i < 3; ++i) {
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, padded.size(), nullptr);
    gst_buffer_fill(buf, 0, padded.data(), padded.size());
    EXPECT_EQ(run_frame(hn, buf).pixels, expected);
  }
  const std::string text = pop_text(bus, GST_MESSAGE_WARNING);
  EXPECT_NE(text.find("GstVideoMeta"), std::string::npos) << text;
  EXPECT_NE(text.find("128 bytes"), std::string::npos) << text;
  EXPECT_EQ(pop_text(bus, GST_MESSAGE_WARNING), "") << "warned once, not per frame";
}

TEST_F(Hostile, CapsChangingMidStreamRenegotiateSizeAndFormat) {
  GstHarness* hn = make_harness({{"mode", "mask"}, {"interval", "10"}}, caps_string("RGB", 4, 4));
  struct Step {
    const FormatCase& f;
    int w, h;
  };
  const Step steps[] = {{kFormats[0], 4, 4}, {kFormats[5], 9, 7}, {kFormats[2], 1, 1}, {kFormats[0], 4, 4}};
  for (const Step& s : steps) {
    SCOPED_TRACE(std::string(s.f.name) + " " + std::to_string(s.w) + "x" + std::to_string(s.h));
    gst_harness_set_src_caps_str(hn, caps_string(s.f.name, s.w, s.h).c_str());
    const Bytes px = random_pixels(s.w, s.h, s.f.layout.bytes_per_pixel, static_cast<unsigned>(s.w + s.h));
    int mw = 0, mh = 0;
    const Output out = run_frame(hn, make_buffer(s.f.format, s.w, s.h, px));
    EXPECT_EQ(out.width(), s.w * kScale);
    // interval=10 must not reuse a map from before the caps changed.
    EXPECT_EQ(out.pixels, library_map(px, s.w, s.h, s.f.layout, {}, mw, mh));
  }
}

TEST_F(Hostile, FlushingSeeksWhilePlayingReachEosWithoutErrors) {
  for (const char* f : {"videotestsrc", "fakesink"})
    if (!element_test::have_factory(f)) GTEST_SKIP() << f << " is not available (GST_PLUGIN_SYSTEM_PATH_1_0)";
  GError* error = nullptr;
  const std::string launch = "videotestsrc num-buffers=120 ! video/x-raw,format=RGB,width=16,height=12,framerate=30/1"
                             " ! i2sbseg model=\"" + model_path() + "\" interval=3 ! fakesink sync=false";
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  ASSERT_TRUE(pipeline != nullptr) << (error ? error->message : "?");
  elements_.push_back(pipeline);
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipeline);
  buses_.push_back(bus);
  ASSERT_NE(gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND), GST_STATE_CHANGE_FAILURE);
  int seeks = 0;
  for (gint64 pos : std::vector<gint64>{GST_SECOND, 0, 3 * GST_SECOND / 2, GST_SECOND / 3, 2 * GST_SECOND}) {
    if (gst_element_seek_simple(pipeline, GST_FORMAT_TIME,
                                static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), pos))
      ++seeks;
    g_usleep(20000);
  }
  EXPECT_EQ(seeks, 5);
  EXPECT_EQ(wait_eos(bus, 60), "");
}

TEST_F(Hostile, TwoHundredNullPlayingCycles) {
  const int w = 5, h = 3;
  GstHarness* hn = make_harness({{"mode", "mask"}}, caps_string("RGB", w, h));
  const Bytes px = random_pixels(w, h, 3, 2);
  const Bytes first = run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels;
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(gst_element_set_state(hn->element, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS) << "cycle " << i;
    ASSERT_EQ(gst_element_set_state(hn->element, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS) << "cycle " << i;
    gst_harness_push_event(hn, gst_event_new_stream_start("cycle"));
    gst_harness_set_src_caps_str(hn, caps_string("RGB", w, h).c_str());
    ASSERT_EQ(run_frame(hn, make_buffer(GST_VIDEO_FORMAT_RGB, w, h, px)).pixels, first) << "cycle " << i;
  }
}
