// SPDX-License-Identifier: MIT
// The results-location property's output: one JSON object per output frame
// on a line of its own (JSON lines, schema in docs/design.md §5), flushed per
// frame so that a reader following the file sees each frame as it leaves.
// Plain C++ (no GStreamer, no LibTorch) so that it is tested on its own.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "regions.h"

namespace i2sbseg_gst {

// What one line says about a frame.
struct FrameResult {
  bool has_pts = false;
  std::uint64_t pts = 0;  // ns
  int width = 0, height = 0;  // the class map's (the output frame's) size
  int steps = 0;  // bridge steps (NFE) it ran with: `steps`, or the model's default; 0 without a bridge
  bool model_ran = false;
  double inference_ms = 0;  // 0 when the map was reused
  std::vector<std::uint64_t> class_pixels;  // per class of the open() names, of width x height
  std::vector<Region> regions;              // as the ROI metas: roi-min-area, roi-max
};

class ResultsFile {
 public:
  ResultsFile() = default;
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;
  ~ResultsFile();

  // Opens `location` ("-": standard output) for appending lines, after
  // closing any file open before; "" on success, else why not (errno's
  // text). `model` (the bundle's path) goes on every line; `class_names`
  // name the shares and regions (a stream's classes are its model's).
  std::string open(const std::string& location, const std::string& model, const std::vector<std::string>& class_names);
  void close();
  bool is_open() const { return file_ != nullptr; }
  // Writes and flushes one line; false (errno's text in `error`) when the
  // write fails.
  bool write(const FrameResult& r, std::string& error);

 private:
  std::FILE* file_ = nullptr;  // stdout for "-"
  std::string model_;                // JSON-escaped, once
  std::vector<std::string> classes_;  // JSON-escaped, once
};

// `s` as a JSON string literal (quotes, backslashes and control characters
// escaped; other bytes as they are: UTF-8 passes through).
std::string json_string(const std::string& s);

}  // namespace i2sbseg_gst
