// SPDX-License-Identifier: MIT
#include "data/builder/output_folder.h"

#include <cstdio>
#include <fstream>
#include <regex>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include <i2sbseg/error.h>

namespace i2sbseg::builder {
namespace fs = std::filesystem;

void prepare_out_dir(const fs::path& out) {
  static const std::regex ours("(train|val)_[0-9]+\\.png");
  try {
    for (const char* sub : {"images", "masks"}) {
      fs::create_directories(out / sub);
      std::vector<fs::path> stale;
      for (const auto& e : fs::directory_iterator(out / sub))
        if (std::regex_match(e.path().filename().string(), ours)) stale.push_back(e.path());
      for (const fs::path& p : stale) fs::remove(p);
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(ErrorKind::kWriteFailed,
                "output folder " + out.string() + ": cannot create or clean (" + e.code().message() + ")", "out_dir");
  }
}

std::string stem_of(bool val, int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s_%05d", val ? "val" : "train", index);
  return buf;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f.flush()) throw Error(ErrorKind::kWriteFailed, path.string() + ": cannot write", "out_dir");
}

void write_png(const fs::path& path, const cv::Mat& m) {
  const std::vector<int> params{cv::IMWRITE_PNG_COMPRESSION, 6};
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), m, params);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw Error(ErrorKind::kWriteFailed, path.string() + ": cannot write", "out_dir");
}

}  // namespace i2sbseg::builder
