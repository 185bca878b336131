// SPDX-License-Identifier: MIT
#include "bench_element.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "blob_frame.h"

namespace i2sbseg::tools {
namespace {

// Loads `plugin` when given, then finds the element in the registry.
bool ensure_element(const std::string& plugin, std::string& why) {
  if (!plugin.empty()) {
    GError* err = nullptr;
    GstPlugin* p = gst_plugin_load_file(plugin.c_str(), &err);
    if (!p) {
      why = "cannot load the plugin '" + plugin + "': " + (err ? err->message : "load failed");
      if (err) g_error_free(err);
      return false;
    }
    gst_object_unref(p);
  }
  if (GstElementFactory* f = gst_element_factory_find("i2sbseg")) {
    gst_object_unref(f);
    return true;
  }
  why = plugin.empty() ? "no i2sbseg element in the GStreamer registry (set GST_PLUGIN_PATH, pass --plugin, or run "
                         "in `meson devenv` for a build tree)"
                       : "'" + plugin + "' has no i2sbseg element";
  return false;
}

// Median per-frame time: push one frame, pull its result.
double time_one(const std::string& middle, int w, int h, int frames, int warmup, std::string& why) {
  const std::string desc = "appsrc name=src format=time caps=video/x-raw,format=RGB,width=" + std::to_string(w) +
                           ",height=" + std::to_string(h) + ",framerate=30/1 ! " + middle +
                           " ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipe = gst_parse_launch(desc.c_str(), &err);
  if (!pipe || err) {
    why = std::string("pipeline '") + desc + "': " + (err ? err->message : "failed");
    if (err) g_error_free(err);
    if (pipe) gst_object_unref(pipe);
    return -1;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  double result = -1;
  if (gst_element_set_state(pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    why = "'" + middle + "' failed to start (run gst-launch-1.0 with it to see the error)";
  } else {
    // Blobs, as the library benchmark's frames: noise would make the
    // element's ROI labelling of a fragmented class map the cost measured.
    std::vector<std::vector<std::uint8_t>> images;
    for (std::uint32_t k = 0; k < 4; ++k) images.push_back(blob_frame(w, h, 50 + k));
    const gsize stride = GST_ROUND_UP_4(w * 3);  // GStreamer's RGB rows are padded to 4 bytes
    std::vector<double> ms;
    for (int i = 0; i < warmup + frames; ++i) {
      GstBuffer* buf = gst_buffer_new_allocate(nullptr, stride * h, nullptr);
      GstMapInfo map;
      gst_buffer_map(buf, &map, GST_MAP_WRITE);
      const std::vector<std::uint8_t>& image = images[static_cast<std::size_t>(i) % images.size()];
      for (int y = 0; y < h; ++y)
        std::memcpy(map.data + y * stride, image.data() + static_cast<std::size_t>(y) * w * 3,
                    static_cast<std::size_t>(w) * 3);
      gst_buffer_unmap(buf, &map);
      GST_BUFFER_PTS(buf) = gst_util_uint64_scale(i, GST_SECOND, 30);
      GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
      const auto t0 = std::chrono::steady_clock::now();
      if (gst_app_src_push_buffer(GST_APP_SRC(src), buf) != GST_FLOW_OK) break;
      GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
      if (!sample) break;
      gst_sample_unref(sample);
      if (i >= warmup)
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    if (static_cast<int>(ms.size()) == frames) {
      std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
      result = ms[ms.size() / 2];
    } else {
      why = "'" + middle + "' stopped after " + std::to_string(ms.size()) + " frames";
    }
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  return result;
}

}  // namespace

PipelineTiming time_pipelines(const std::string& element_props, const std::string& plugin, int width, int height,
                              int frames, int warmup) {
  PipelineTiming t;
  if (!gst_init_check(nullptr, nullptr, nullptr)) {
    t.why = "GStreamer failed to initialise";
    return t;
  }
  if (!ensure_element(plugin, t.why)) return t;
  t.element_ms = time_one("i2sbseg " + element_props, width, height, frames, warmup, t.why);
  if (t.element_ms < 0) return t;
  t.passthrough_ms = time_one("identity", width, height, frames, warmup, t.why);
  t.available = t.passthrough_ms >= 0;
  return t;
}

}  // namespace i2sbseg::tools
