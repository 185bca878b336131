// SPDX-License-Identifier: MIT
// The make-dataset tests' fixture: a tiny synthetic cutout/background tree
// (noise cutouts pass the photo test) and helpers to build and read
// datasets from it (test_make_dataset*.cpp).
#pragma once

#include <gtest/gtest.h>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <i2sbseg/dataset_builder.h>
#include <i2sbseg/error.h>
#include "../common/run_tool.h"
#include "../common/temp_dir.h"

namespace make_dataset_test {

using i2sbseg::testing::all_files;
using i2sbseg::testing::read_text;
using i2sbseg::testing::run_tool;
using i2sbseg::testing::TempDir;
using i2sbseg::testing::ToolResult;
namespace fs = std::filesystem;
using nlohmann::json;


inline json read_json(const fs::path& p) { return json::parse(read_text(p.string())); }

inline std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream f(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

// An ellipse of random colours (a "photograph"), soft-edged so that the
// alpha > 127 threshold matters; `flat` makes it one colour (a "drawing").
inline cv::Mat make_cutout(int w, int h, unsigned seed, bool flat = false) {
  std::mt19937 rng(seed);
  cv::Mat m(h, w, CV_8UC4);
  const cv::Vec4b fill(40, 90, 200, 255);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dx = (x + 0.5 - w / 2.0) / (w / 2.0), dy = (y + 0.5 - h / 2.0) / (h / 2.0);
      const double r = std::sqrt(dx * dx + dy * dy);
      const int a = std::clamp(static_cast<int>((1.0 - r) * 6 * 255), 0, 255);
      cv::Vec4b px = flat ? fill : cv::Vec4b(rng() % 256, rng() % 256, rng() % 256, 0);
      px[3] = static_cast<uchar>(a);
      m.at<cv::Vec4b>(y, x) = px;
    }
  return m;
}

inline cv::Mat make_noise(int w, int h, unsigned seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::theRNG().state = seed;
  cv::randu(m, 0, 256);
  return m;
}

inline void write(const fs::path& p, const cv::Mat& m) {
  fs::create_directories(p.parent_path());
  ASSERT_TRUE(cv::imwrite(p.string(), m)) << p;
}

// cutouts/: animals (4 photos, a drawing, a _mirror), vehicles (2 photos in
// a subfolder, one under cartoon/), household (2, skipped: the default has no "object"), symbols (2,
// skipped). backgrounds/: 5 noise photos, one too small, one "screenshot".
class SourceTree {
 public:
  SourceTree() {
    const fs::path c = cutouts();
    for (int i = 0; i < 4; ++i)
      write(c / "animals" / ("a" + std::to_string(i) + ".png"), make_cutout(70 + 4 * i, 50, 10 + i));
    write(c / "animals" / "drawing.png", make_cutout(70, 50, 0, true));
    write(c / "animals" / "a0_mirror.png", make_cutout(70, 50, 30));
    write(c / "vehicles" / "cars" / "v0.png", make_cutout(90, 40, 20));
    write(c / "vehicles" / "cars" / "v1.png", make_cutout(60, 60, 21));
    write(c / "vehicles" / "cartoon" / "v2.png", make_cutout(60, 60, 22));
    write(c / "household" / "h0.png", make_cutout(40, 70, 40));
    write(c / "household" / "h1.png", make_cutout(50, 50, 41));
    write(c / "symbols" / "s0.png", make_cutout(50, 50, 50));
    write(c / "symbols" / "s1.png", make_cutout(50, 50, 51));
    for (int i = 0; i < 5; ++i)
      write(backgrounds() / ("bg" + std::to_string(i) + ".png"), make_noise(120 + 10 * i, 90, 60 + i));
    write(backgrounds() / "tiny.png", make_noise(20, 20, 70));
    write(backgrounds() / "sub" / "screenshot.png", make_noise(100, 100, 71));
  }
  fs::path cutouts() const { return dir_.path() / "cutouts"; }
  fs::path backgrounds() const { return dir_.path() / "backgrounds"; }
  fs::path out(const std::string& name) const { return dir_.path() / name; }
  std::string args(const std::string& out_name, const std::string& extra = "", int count = 24) const {
    return "make-dataset --cutouts " + cutouts().string() + " --backgrounds " + backgrounds().string() + " --out " +
           out(out_name).string() + " --size 48 --val-fraction 0.25 --count " + std::to_string(count) + " " + extra;
  }

 private:
  TempDir dir_;
};

// Builds a dataset with the tool (slower: the binary loads LibTorch).
inline json make(const SourceTree& t, const std::string& name, const std::string& extra = "", int count = 24) {
  const ToolResult r = run_tool(t.args(name, extra, count));
  EXPECT_EQ(r.status, 0) << r.err << r.out;
  return read_json(t.out(name) / "dataset.json");
}

// The same options as SourceTree::args, for in-process builds.
inline i2sbseg::DatasetOptions options(const SourceTree& t, const std::string& name) {
  i2sbseg::DatasetOptions o;
  o.cutouts_dir = t.cutouts().string();
  o.backgrounds_dirs = {t.backgrounds().string()};
  o.out_dir = t.out(name).string();
  o.size = 48;
  o.count = 24;
  o.val_fraction = 0.25;
  return o;
}

inline json build(const i2sbseg::DatasetOptions& o) {
  i2sbseg::build_dataset(o);
  return read_json(fs::path(o.out_dir) / "dataset.json");
}

// What build_dataset threw: the message ("" if nothing), kind and field.
struct Caught {
  std::string message;
  i2sbseg::ErrorKind kind = i2sbseg::ErrorKind::kRuntime;
  std::string field;
};

inline Caught error_of(const i2sbseg::DatasetOptions& o) {
  try {
    i2sbseg::build_dataset(o);
  } catch (const i2sbseg::Error& e) {
    return {e.what(), e.kind(), e.field()};
  }
  return {};
}

// The library names the options field and the value or path, in its own
// terms: no command-line flag.
inline void expect_error(const i2sbseg::DatasetOptions& o, i2sbseg::ErrorKind kind, const std::string& field,
                  const std::string& names) {
  const Caught c = error_of(o);
  ASSERT_FALSE(c.message.empty()) << "expected an error on " << field;
  EXPECT_EQ(c.kind, kind) << c.message;
  EXPECT_EQ(c.field, field) << c.message;
  EXPECT_NE(c.message.find(names), std::string::npos) << c.message;
  EXPECT_EQ(c.message.find("--"), std::string::npos) << c.message;
}

inline std::map<std::string, int> class_indices(const fs::path& out) {
  std::map<std::string, int> idx;
  const json classes = read_json(out / "classes.json")["classes"];
  for (size_t k = 0; k < classes.size(); ++k) idx[classes[k]["name"].get<std::string>()] = static_cast<int>(k);
  return idx;
}

// The cutout exactly as the builder pasted it, from its dataset.json record.
inline cv::Mat rerender_cutout(const fs::path& cutouts, const json& paste, int max_side) {
  const cv::Mat raw = cv::imread((cutouts / paste["cutout"].get<std::string>()).string(), cv::IMREAD_UNCHANGED);
  return i2sbseg::scale_cutout(i2sbseg::prepare_cutout(raw, max_side), paste["width"], paste["height"],
                               paste["flipped"]);
}

// The background crop an image record names, as cut (the fixture's backgrounds are kept unscaled).
inline cv::Mat background_crop(const json& bg, int size) {
  const cv::Mat full = cv::imread(bg["file"].get<std::string>(), cv::IMREAD_COLOR);
  const int side = bg["side"];
  cv::Mat out;
  cv::resize(full(cv::Rect(bg["x"], bg["y"], side, side)), out, cv::Size(size, size), 0, 0,
             side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  if (bg["flipped"].get<bool>()) cv::flip(out, out, 1);
  return out;
}


}  // namespace make_dataset_test
