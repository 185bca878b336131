// SPDX-License-Identifier: MIT
// The GstHarness fixture shared by the element's test files: a small x2
// model written once per suite, buffers with or without a GstVideoMeta,
// output readers and the library's own class map to compare against.
#pragma once

#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <i2sbseg/model.h>
#include <i2sbseg/segmenter.h>
#include <i2sbseg/i2sbsegmeta.h>  // via gst_meta_dep, as applications include it

#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::TempDir;

namespace element_test {

constexpr int kScale = 2;
using Props = std::vector<std::pair<std::string, std::string>>;
using Bytes = std::vector<std::uint8_t>;

ModelConfig small_config() {
  ModelConfig c = ModelConfig::make_default(3);
  c.classifier.widths = {8, 16};
  c.classifier.latent_channels = 4;
  c.latent_mean.assign(4, 0.0f);
  c.latent_std.assign(4, 1.0f);
  c.bridge = BridgeArch{8, 1, 8};
  c.default_nfe = 2;
  c.scale_factor = kScale;
  c.schedule.steps = 100;  // so that steps=500 is out of range
  return c;
}

struct FormatCase {
  const char* name;
  GstVideoFormat format;
  PixelLayout layout;
};
const FormatCase kFormats[] = {
    {"RGB", GST_VIDEO_FORMAT_RGB, {3, 0, 1, 2}},   {"BGR", GST_VIDEO_FORMAT_BGR, {3, 2, 1, 0}},
    {"RGBA", GST_VIDEO_FORMAT_RGBA, {4, 0, 1, 2}}, {"BGRA", GST_VIDEO_FORMAT_BGRA, {4, 2, 1, 0}},
    {"RGBx", GST_VIDEO_FORMAT_RGBx, {4, 0, 1, 2}}, {"BGRx", GST_VIDEO_FORMAT_BGRx, {4, 2, 1, 0}},
};
const FormatCase& rgb() { return kFormats[0]; }

// Tightly packed pixels of a w x h frame, from a seeded generator.
Bytes random_pixels(int w, int h, int bpp, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(static_cast<std::size_t>(w) * h * bpp);
  for (auto& v : b) v = static_cast<std::uint8_t>(rng() & 0xff);
  return b;
}

std::string caps_string(const char* format, int w, int h) {
  return std::string("video/x-raw,format=") + format + ",width=" + std::to_string(w) +
         ",height=" + std::to_string(h) + ",framerate=30/1";
}

// A buffer holding `tight` rows at `stride` bytes (0: GStreamer's default
// stride for the format, without a meta; else with a GstVideoMeta).
// Padding bytes are 0xAB so that reading them shows in the output.
GstBuffer* make_buffer(GstVideoFormat format, int w, int h, const Bytes& tight, int stride = 0) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, w, h);
  const int row = w * static_cast<int>(GST_VIDEO_INFO_COMP_PSTRIDE(&info, 0));
  const int s = stride ? stride : GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, static_cast<gsize>(s) * h, nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  std::memset(map.data, 0xAB, map.size);
  for (int y = 0; y < h; ++y) std::memcpy(map.data + static_cast<std::size_t>(y) * s, tight.data() + y * row, row);
  gst_buffer_unmap(buf, &map);
  if (stride) {
    gsize offset[GST_VIDEO_MAX_PLANES] = {0};
    gint strides[GST_VIDEO_MAX_PLANES] = {stride};
    gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, format, w, h, 1, offset, strides);
  }
  return buf;
}

// The text of an error or warning message ("" for any other); unrefs it.
inline std::string take_message_text(GstMessage* msg) {
  if (!msg) return "";
  GError* err = nullptr;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error(msg, &err, nullptr);
  else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING)
    gst_message_parse_warning(msg, &err, nullptr);
  std::string text = err ? err->message : "";
  if (err) g_error_free(err);
  gst_message_unref(msg);
  return text;
}

// An error message as the bus carries it: the GError's domain and code, its
// text (for people) and the debug string (the library's detail).
struct BusError {
  GQuark domain = 0;
  int code = -1;
  std::string text;
  std::string debug;
  bool is(GQuark d, int c) const { return domain == d && code == c; }
};

// The first error waiting on `bus` (code -1 and empty text if none).
inline BusError pop_error(GstBus* bus) {
  BusError e;
  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (!msg) return e;
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  e.domain = err->domain;
  e.code = err->code;
  e.text = err->message;
  e.debug = debug ? debug : "";
  g_error_free(err);
  g_free(debug);
  gst_message_unref(msg);
  return e;
}

// The text of the first message of `type` (error or warning) waiting on `bus`; "" if none.
inline std::string pop_text(GstBus* bus, GstMessageType type) {
  return take_message_text(gst_bus_pop_filtered(bus, type));
}

// Whether GStreamer has the element `name` (a test machine may lack a plugin).
inline bool have_factory(const char* name) {
  GstElementFactory* f = gst_element_factory_find(name);
  if (f) gst_object_unref(f);
  return f != nullptr;
}

// Waits for EOS or an error on a pipeline's bus: "" at EOS, else the error's
// text, or a line saying EOS did not come within `seconds`.
inline std::string wait_eos(GstBus* bus, int seconds) {
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, seconds * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!msg) return "no EOS within " + std::to_string(seconds) + " s";
  return take_message_text(msg);
}

// An output frame, tightly packed, with its negotiated info.
struct Output {
  GstVideoInfo info;
  Bytes pixels;
  int width() const { return GST_VIDEO_INFO_WIDTH(&info); }
  int height() const { return GST_VIDEO_INFO_HEIGHT(&info); }
};

Output read_output(GstHarness* h, GstBuffer* buf) {
  Output out;
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  EXPECT_TRUE(caps != nullptr);
  EXPECT_TRUE(gst_video_info_from_caps(&out.info, caps));
  gst_caps_unref(caps);
  GstVideoFrame frame;
  EXPECT_TRUE(gst_video_frame_map(&frame, &out.info, buf, GST_MAP_READ));
  const int row = out.width() * GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
  const auto* data = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  for (int y = 0; y < out.height(); ++y) {
    const auto* r = data + static_cast<std::size_t>(y) * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    out.pixels.insert(out.pixels.end(), r, r + row);
  }
  gst_video_frame_unmap(&frame);
  gst_buffer_unref(buf);
  return out;
}

// The nearest-neighbour x`s` upscale of tightly packed pixels.
Bytes upscale(const Bytes& px, int w, int h, int bpp, int s) {
  Bytes out;
  for (int y = 0; y < h * s; ++y)
    for (int x = 0; x < w * s; ++x) {
      const auto* p = &px[(static_cast<std::size_t>(y / s) * w + x / s) * bpp];
      out.insert(out.end(), p, p + bpp);
    }
  return out;
}

class Element : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gst_init(nullptr, nullptr);
    g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_LEVEL_CRITICAL | G_LOG_FATAL_MASK));
    dir_ = new TempDir();
    torch::manual_seed(3);
    Model m(small_config());
    {
      torch::NoGradGuard g;
      // Large enough perturbations that the classes vary across a frame.
      for (auto& [name, t] : m.named_tensors()) t.add_(torch::randn_like(t) * 0.5);
    }
    save_model(m, model_path());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void TearDown() override {
    for (GstHarness* h : harnesses_) gst_harness_teardown(h);
    for (GstElement* e : elements_) {
      gst_element_set_state(e, GST_STATE_NULL);
      gst_element_set_bus(e, nullptr);
      gst_object_unref(e);
    }
    for (GstBus* b : buses_) gst_object_unref(b);
  }

  static std::string model_path() { return dir_->file("small.i2sb"); }
  static std::string temp_file(const std::string& name) { return dir_->file(name); }

  GstElement* make_element(const Props& props, bool with_model = true) {
    GstElement* e = gst_element_factory_make("i2sbseg", nullptr);
    EXPECT_TRUE(e != nullptr) << "i2sbseg not found: is GST_PLUGIN_PATH set to the build's gst-plugin dir?";
    if (!e) return nullptr;
    gst_object_ref_sink(e);
    elements_.push_back(e);
    if (with_model) g_object_set(e, "model", model_path().c_str(), nullptr);
    for (const auto& [k, v] : props) gst_util_set_object_arg(G_OBJECT(e), k.c_str(), v.c_str());
    return e;
  }

  // A harness around a new element, PLAYING, with input caps set.
  GstHarness* make_harness(const Props& props, const std::string& caps) {
    GstHarness* h = gst_harness_new_with_element(make_element(props), "sink", "src");
    harnesses_.push_back(h);
    gst_harness_set_src_caps_str(h, caps.c_str());
    return h;
  }

  // Pushes one frame and pulls the result.
  Output run_frame(GstHarness* h, GstBuffer* in) {
    EXPECT_EQ(gst_harness_push(h, in), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(h);
    EXPECT_TRUE(out != nullptr);
    return read_output(h, out);
  }

 public:
  // The class map the library computes for tightly packed pixels.
  static Bytes library_map(const Bytes& px, int w, int h, PixelLayout layout, const SegmentParams& params,
                           int& out_w, int& out_h) {
    auto seg = Segmenter::open(model_path(), {"cpu"});
    Bytes map;
    seg->segment(px.data(), w, h, w * layout.bytes_per_pixel, layout, params, map, out_w, out_h);
    return map;
  }

 protected:
  // A bus of the test's own on a harnessed element (the harness has none).
  GstBus* attach_bus(GstElement* e) {
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(e, bus);
    buses_.push_back(bus);
    return bus;
  }

  // Sets PAUSED, expects it to fail, returns the error posted.
  BusError start_failure(GstElement* e) {
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(e, bus);
    EXPECT_EQ(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    BusError error = pop_error(bus);
    gst_element_set_state(e, GST_STATE_NULL);
    gst_element_set_bus(e, nullptr);
    gst_object_unref(bus);
    return error;
  }

  static inline TempDir* dir_ = nullptr;
  std::vector<GstHarness*> harnesses_;
  std::vector<GstElement*> elements_;
  std::vector<GstBus*> buses_;
};

}  // namespace element_test

using namespace element_test;
