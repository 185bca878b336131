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

std::string ResultsFile::open(const std::string& location, const std::string& model,
                              const std::vector<std::string>& class_names) {
  close();
  if (location == "-") {
    file_ = stdout;
  } else {
    file_ = std::fopen(location.c_str(), "a");
    if (!file_) return std::strerror(errno);
  }
  model_ = json_string(model);
  classes_.clear();
  for (const std::string& n : class_names) classes_.push_back(json_string(n));
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
  for (std::size_t k = 0; k < classes_.size(); ++k) {
    std::snprintf(num, sizeof num, "%.17g", pixels > 0 && k < r.class_pixels.size() ? r.class_pixels[k] / pixels : 0.0);
    line += (k ? "," : "") + classes_[k] + ":" + num;
  }
  line += "},\"regions\":[";
  for (std::size_t i = 0; i < r.regions.size(); ++i) {
    const Region& g = r.regions[i];
    line += std::string(i ? "," : "") + "{\"class\":" + (g.class_index < classes_.size() ? classes_[g.class_index] : "\"\"") +
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
