// SPDX-License-Identifier: MIT
#include "results_file.h"

#include <cerrno>
#include <cstring>

namespace i2sbseg_gst {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

ResultsFile::~ResultsFile() { close(); }

std::string ResultsFile::open(const std::string& location, const std::string& model) {
  close();
  if (location == "-") {
    file_ = stdout;
  } else {
    file_ = std::fopen(location.c_str(), "a");
    if (!file_) return std::strerror(errno);
  }
  model_ = json_string(model);
  return "";
}

void ResultsFile::close() {
  if (file_ && file_ != stdout) std::fclose(file_);
  if (file_ == stdout) std::fflush(stdout);
  file_ = nullptr;
}

bool ResultsFile::write(const FrameResult& r, std::string& error) {
  const double pixels = static_cast<double>(r.width) * r.height;
  std::string line = "{\"pts\":" + (r.has_pts ? std::to_string(r.pts) : std::string("null")) +
                     ",\"width\":" + std::to_string(r.width) + ",\"height\":" + std::to_string(r.height) +
                     ",\"model\":" + model_ + ",\"steps\":" + std::to_string(r.steps) +
                     ",\"model_ran\":" + (r.model_ran ? "true" : "false");
  char num[64];
  std::snprintf(num, sizeof num, "%.3f", r.inference_ms);
  line += std::string(",\"inference_ms\":") + num + ",\"class_shares\":{";
  for (std::size_t k = 0; k < r.class_names.size(); ++k) {
    std::snprintf(num, sizeof num, "%.17g", pixels > 0 ? r.class_pixels[k] / pixels : 0.0);
    line += (k ? "," : "") + json_string(r.class_names[k]) + ":" + num;
  }
  line += "},\"regions\":[";
  for (std::size_t i = 0; i < r.regions.size(); ++i) {
    const Region& g = r.regions[i];
    const std::string name = g.class_index < r.class_names.size() ? r.class_names[g.class_index] : "";
    line += std::string(i ? "," : "") + "{\"class\":" + json_string(name) +
            ",\"class_index\":" + std::to_string(g.class_index) + ",\"x\":" + std::to_string(g.x) +
            ",\"y\":" + std::to_string(g.y) + ",\"w\":" + std::to_string(g.w) + ",\"h\":" + std::to_string(g.h) +
            ",\"pixels\":" + std::to_string(g.pixels) + "}";
  }
  line += "]}\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    error = std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace i2sbseg_gst
