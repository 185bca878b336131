// SPDX-License-Identifier: MIT
#include "data/builder/background_pool.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <i2sbseg/error.h>

#include "data/builder/image_files.h"
#include "data/builder/options_check.h"
#include "data/builder/work_pool.h"

namespace i2sbseg::builder {
namespace {

namespace fs = std::filesystem;

// Longest side down to ~4x size, shortest side kept >= size: crops at
// several scales stay possible while memory stays small.
cv::Mat shrink_background(const cv::Mat& bgr, int size) {
  const int longest = std::max(bgr.cols, bgr.rows), shortest = std::min(bgr.cols, bgr.rows);
  const double scale = std::min(1.0, std::max(4.0 * size / longest, static_cast<double>(size) / shortest));
  if (scale >= 1.0) return bgr;
  cv::Mat out;
  const cv::Size to(std::max(size, static_cast<int>(std::lround(bgr.cols * scale))),
                    std::max(size, static_cast<int>(std::lround(bgr.rows * scale))));
  cv::resize(bgr, out, to, 0, 0, cv::INTER_AREA);
  return out;
}

// The candidate files, each folder joined with its relative paths.
std::vector<std::string> list_backgrounds(const DatasetOptions& o, DatasetSummary& summary) {
  std::vector<std::string> files;
  for (const std::string& dir : o.backgrounds_dirs) {
    require_folder(dir, "backgrounds folder", "backgrounds_dirs");
    const fs::path root = clean_dir(dir);
    for (const fs::path& p : list_images(root, {".png", ".jpg", ".jpeg"}, "backgrounds_dirs")) {
      if (contains(lower(p.filename().string()), "screenshot")) {
        ++summary.skipped_backgrounds["screenshot"];
        continue;
      }
      files.push_back((root / p.lexically_relative(root)).generic_string());
    }
  }
  return files;
}

Error no_backgrounds(const DatasetOptions& o) {
  std::string dirs;
  for (const std::string& d : o.backgrounds_dirs) dirs += (dirs.empty() ? "" : ", ") + d;
  return Error(ErrorKind::kInvalidOption,
               "backgrounds folders " + dirs + ": no readable PNG/JPEG images of at least " + std::to_string(o.size) +
                   "x" + std::to_string(o.size),
               "backgrounds_dirs");
}

}  // namespace

std::vector<Background> load_backgrounds(const DatasetOptions& o, DatasetSummary& summary, Log& log) {
  const std::vector<std::string> files = list_backgrounds(o, summary);
  std::vector<cv::Mat> images(files.size());
  parallel_for(static_cast<int>(files.size()), o.threads, [&](int i) {
    try {
      images[i] = cv::imread(files[i], cv::IMREAD_COLOR);
    } catch (const cv::Exception&) {
    }
  });
  std::vector<Background> out;
  for (size_t i = 0; i < files.size(); ++i) {
    if (images[i].empty()) {
      log.warn(files[i] + ": cannot read, skipped");
      ++summary.skipped_backgrounds["unreadable"];
    } else if (images[i].cols < o.size || images[i].rows < o.size) {
      ++summary.skipped_backgrounds["smaller than the image size"];
    } else {
      out.push_back({files[i], shrink_background(images[i], o.size)});
    }
  }
  if (out.empty()) throw no_backgrounds(o);
  return out;
}

}  // namespace i2sbseg::builder
