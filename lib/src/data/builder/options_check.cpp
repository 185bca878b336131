// SPDX-License-Identifier: MIT
#include "data/builder/options_check.h"

#include <filesystem>
#include <sstream>

#include <i2sbseg/error.h>

namespace i2sbseg::builder {
namespace fs = std::filesystem;
namespace {

void require(bool ok, const std::string& message, const char* field) {
  if (!ok) throw Error(ErrorKind::kInvalidOption, message, field);
}

}  // namespace

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void require_folder(const std::string& dir, const char* what, const char* field) {
  std::error_code ec;
  require(!dir.empty(), std::string("no ") + what + " given", field);
  if (!fs::exists(dir, ec)) throw Error(ErrorKind::kNotFound, std::string(what) + " " + dir + ": no such folder", field);
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorKind::kNotFound, std::string(what) + " " + dir + ": not a folder", field);
}

void validate(const DatasetOptions& o) {
  require(o.size >= 16 && o.size <= 8192, "image size " + std::to_string(o.size) + ": must be 16..8192 pixels",
          "size");
  require(o.count >= 1 && o.count <= 10000000, "image count " + std::to_string(o.count) + ": must be 1..10000000",
          "count");
  require(o.val_fraction >= 0 && o.val_fraction < 1,
          "validation fraction " + format_number(o.val_fraction) + ": must be in [0, 1)", "val_fraction");
  require(o.min_cutouts >= 0, "fewest cutouts per image " + std::to_string(o.min_cutouts) + ": must be >= 0",
          "min_cutouts");
  require(o.max_cutouts >= o.min_cutouts && o.max_cutouts <= 64,
          "most cutouts per image " + std::to_string(o.max_cutouts) + ": must be the fewest (" +
              std::to_string(o.min_cutouts) + ") to 64",
          "max_cutouts");
  require(o.distractors >= 0 && o.distractors <= 16,
          "distractors per image " + std::to_string(o.distractors) + ": must be 0..16", "distractors");
  require(o.min_colours >= 0, "minimum colour count " + std::to_string(o.min_colours) + ": must be >= 0",
          "min_colours");
  require(o.paste_scale_min > 0 && o.paste_scale_min <= o.paste_scale_max && o.paste_scale_max <= 2,
          "paste scale " + format_number(o.paste_scale_min) + ".." + format_number(o.paste_scale_max) +
              ": must be 0 < MIN <= MAX <= 2 (the paste's longest side as a share of the image side)",
          "paste_scale");
  require(!o.out_dir.empty(), "no output folder given", "out_dir");
  require(!o.backgrounds_dirs.empty() || !o.labelled_backgrounds_dirs.empty(), "no backgrounds folder given",
          "backgrounds_dirs");
  require_folder(o.cutouts_dir, "cutouts folder", "cutouts_dir");
  for (const std::string& d : o.backgrounds_dirs) require_folder(d, "backgrounds folder", "backgrounds_dirs");
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);  // fail before the slow loading
  if (ec || !fs::is_directory(o.out_dir))
    throw Error(ErrorKind::kWriteFailed, "output folder " + o.out_dir + ": cannot create the folder", "out_dir");
}

}  // namespace i2sbseg::builder
