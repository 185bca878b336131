// SPDX-License-Identifier: MIT
#include "data/builder/image_files.h"

#include <algorithm>
#include <cctype>

#include <i2sbseg/error.h>

namespace i2sbseg::builder {
namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

fs::path clean_dir(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return fs::path(d);
}

std::vector<fs::path> list_images(const fs::path& dir, const std::set<std::string>& exts, const char* field) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && exts.count(lower(it->path().extension().string()))) out.push_back(it->path());
  }
  if (ec) throw Error(ErrorKind::kBadFile, dir.string() + ": cannot list (" + ec.message() + ")", field);
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
  return out;
}

cv::Mat to_8bit(const cv::Mat& m) {
  if (m.depth() == CV_8U) return m;
  cv::Mat out;
  m.convertTo(out, CV_8U, m.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
  return out;
}

}  // namespace i2sbseg::builder
