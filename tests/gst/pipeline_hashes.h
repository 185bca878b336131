// SPDX-License-Identifier: MIT
// Runs a gst-launch description to EOS and keeps an FNV-1a hash of each
// buffer its element named "sink" (a fakesink with signal-handoffs) hands
// off: frames compared across runs without keeping them.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../common/fnv1a.h"
#include "element_fixture.h"

namespace element_test {

// FNV-1a of each output frame, in order; `error` is "" after EOS.
struct Collected {
  std::vector<std::uint64_t> hashes;
  std::string error;
};

inline void on_handoff_hash(GstElement*, GstBuffer* buf, GstPad*, gpointer data) {
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return;
  const std::uint64_t h = i2sbseg::testing::fnv1a(map.data, map.size);
  gst_buffer_unmap(buf, &map);
  static_cast<Collected*>(data)->hashes.push_back(h);
}

// Runs `launch` until EOS or an error, for at most `seconds`.
inline Collected run_pipeline(const std::string& launch, int seconds = 300) {
  Collected out;
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!pipeline) {
    out.error = error ? error->message : "parse failed";
    if (error) g_error_free(error);
    return out;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff_hash), &out);
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  out.error = wait_eos(bus, seconds);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return out;
}

}  // namespace element_test
