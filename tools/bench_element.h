// SPDX-License-Identifier: MIT
// Per-frame time of a GStreamer pipeline appsrc ! <element> ! appsink on
// packed RGB frames, for `i2sbseg bench` (element_ms, passthrough_ms).
#pragma once

#include <string>

namespace i2sbseg::tools {

struct PipelineTiming {
  bool available = false;  // false: no GStreamer in this build, or no i2sbseg element
  std::string why;         // when not available
  double element_ms = 0, passthrough_ms = 0;
};

// `element_props` are appended to "i2sbseg" (e.g. "model=m.i2sb steps=4").
// `plugin`: the plugin file to load first; empty: the element must be in
// GStreamer's registry (GST_PLUGIN_PATH, the system plugin folder).
PipelineTiming time_pipelines(const std::string& element_props, const std::string& plugin, int width, int height,
                              int frames, int warmup);

}  // namespace i2sbseg::tools
