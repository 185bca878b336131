// SPDX-License-Identifier: MIT
#include "data/builder/background_pool.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <i2sbseg/class_list.h>
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

// The labels shrunk as shrink_background shrank their image (nearest).
cv::Mat shrink_labels(const cv::Mat& labels, const cv::Size& to) {
  if (labels.size() == to) return labels;
  cv::Mat out;
  cv::resize(labels, out, to, 0, 0, cv::INTER_NEAREST);
  return out;
}

std::string read_text(const fs::path& p, const std::string& option) {
  std::ifstream in(p);
  if (!in) throw Error(ErrorKind::kNotFound, p.string() + ": cannot read", option);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A labelled folder's class indices (its classes.json, `file`) -> the
// mapping's, by name (255 stays).
cv::Mat class_lut(const std::vector<ClassInfo>& classes, const fs::path& file, const ClassMapping& mapping) {
  cv::Mat lut(1, 256, CV_8U, cv::Scalar(kIgnoreIndex));
  for (size_t k = 0; k < classes.size(); ++k) {
    const int to = mapping.class_index(classes[k].name);
    if (to < 0)
      throw Error(ErrorKind::kInvalidOption,
                  file.string() + ": class \"" + classes[k].name + "\" is not among the classes " +
                      class_names(mapping.classes) + " (add it to the --classes file)",
                  "labelled_backgrounds_dirs");
    lut.at<std::uint8_t>(static_cast<int>(k)) = static_cast<std::uint8_t>(to);
  }
  return lut;
}

// One labelled image: its photo and mask (checked), the mask mapped by `lut`.
Background load_labelled(const fs::path& dir, const std::string& stem, int split, const cv::Mat& lut, int num_classes,
                         int size) {
  fs::path image;
  for (const char* ext : {".jpg", ".png", ".jpeg"})
    if (fs::exists(dir / "images" / (stem + ext))) image = dir / "images" / (stem + ext);
  const fs::path mask_file = dir / "masks" / (stem + ".png");
  const std::string opt = "labelled_backgrounds_dirs";
  if (image.empty()) throw Error(ErrorKind::kNotFound, (dir / "images" / stem).string() + ".jpg|png: missing", opt);
  const cv::Mat bgr = cv::imread(image.string(), cv::IMREAD_COLOR);
  const cv::Mat mask = cv::imread(mask_file.string(), cv::IMREAD_UNCHANGED);
  if (bgr.empty()) throw Error(ErrorKind::kBadFile, image.string() + ": cannot be read as an image", opt);
  if (mask.empty() || mask.type() != CV_8UC1 || mask.size() != bgr.size())
    throw Error(ErrorKind::kBadFile, mask_file.string() + ": missing, not 8-bit single-channel, or not " +
                                         image.filename().string() + "'s size", opt);
  double hi = 0;
  cv::minMaxLoc(mask, nullptr, &hi, nullptr, nullptr, mask != kIgnoreIndex);
  if (hi >= num_classes)
    throw Error(ErrorKind::kBadFile, mask_file.string() + ": class " + std::to_string(static_cast<int>(hi)) +
                                         " beyond its classes.json's " + std::to_string(num_classes), opt);
  Background b{image.generic_string(), shrink_background(bgr, size), {}, split};
  cv::Mat mapped;
  cv::LUT(mask, lut, mapped);
  b.labels = shrink_labels(mapped, b.bgr.size());
  return b;
}

// Every image a labelled folder's train.txt and val.txt list, in that order.
void load_labelled_folder(const std::string& d, const DatasetOptions& o, const ClassMapping& mapping,
                          DatasetSummary& summary, std::vector<Background>& out) {
  require_folder(d, "labelled backgrounds folder", "labelled_backgrounds_dirs");
  const fs::path dir = clean_dir(d);
  const fs::path classes_file = dir / "classes.json";
  const std::vector<ClassInfo> classes =
      parse_class_list(read_text(classes_file, "labelled_backgrounds_dirs"), classes_file.string());
  const cv::Mat lut = class_lut(classes, classes_file, mapping);
  const int n = static_cast<int>(classes.size());
  int listed = 0;
  for (const auto& [list, split] : {std::pair<const char*, int>{"train.txt", 0}, {"val.txt", 1}}) {
    if (!fs::exists(dir / list)) continue;
    std::istringstream stems(read_text(dir / list, "labelled_backgrounds_dirs"));
    for (std::string stem; std::getline(stems, stem);) {
      if (stem.empty()) continue;
      Background b = load_labelled(dir, stem, split, lut, n, o.size);
      ++listed;
      if (b.bgr.cols < o.size || b.bgr.rows < o.size)
        ++summary.skipped_backgrounds["smaller than the image size"];
      else
        out.push_back(std::move(b));
    }
  }
  if (listed == 0)
    throw Error(ErrorKind::kInvalidOption, d + ": a labelled backgrounds folder needs train.txt or val.txt listing its images",
                "labelled_backgrounds_dirs");
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

std::vector<Background> load_backgrounds(const DatasetOptions& o, const ClassMapping& mapping, DatasetSummary& summary,
                                         Log& log) {
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
  for (const std::string& d : o.labelled_backgrounds_dirs) load_labelled_folder(d, o, mapping, summary, out);
  if (out.empty()) throw no_backgrounds(o);
  return out;
}

}  // namespace i2sbseg::builder
