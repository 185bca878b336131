// SPDX-License-Identifier: MIT
// pipelines/contact_sheet on a few synthetic frames: with --model, a legend
// strip under the frames shows each class colour of the bundle; the frames
// above it are unchanged.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <i2sbseg/bundle.h>
#include <i2sbseg/config.h>

#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::TempDir;

namespace {

// Runs the tool (path in $CONTACT_SHEET, set by meson test): exit status
// and what it printed, stderr included.
std::pair<int, std::string> run_sheet(const std::string& args) {
  const char* tool = std::getenv("CONTACT_SHEET");
  EXPECT_NE(tool, nullptr) << "CONTACT_SHEET is not set (run through meson test)";
  FILE* p = ::popen((std::string(tool ? tool : "contact_sheet") + " " + args + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// A bundle with a valid config and these classes; no weights (the sheet
// reads only the classes).
void write_classes_bundle(const std::string& path, const std::vector<ClassInfo>& classes) {
  ModelConfig c = ModelConfig::make_default_v2(static_cast<int>(classes.size()));
  c.classes = classes;
  BundleContents b;
  b.format_version = kFormatVersion;
  b.config_json = c.to_json();
  write_bundle_file(path, b);
}

int pixels_of(const cv::Mat& img, const std::array<std::uint8_t, 3>& rgb) {
  int n = 0;
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) n += img.at<cv::Vec3b>(y, x) == cv::Vec3b(rgb[2], rgb[1], rgb[0]);
  return n;
}

}  // namespace

TEST(ContactSheet, TheLegendStripShowsEveryClassColour) {
  TempDir dir;
  for (int i = 0; i < 3; ++i) {  // grey frames: no class colour in them
    char name[32];
    std::snprintf(name, sizeof name, "input_%05d.png", i);
    ASSERT_TRUE(cv::imwrite(dir.file(name), cv::Mat(18, 24, CV_8UC3, cv::Scalar::all(100))));
    std::snprintf(name, sizeof name, "overlay_%05d.png", i);
    ASSERT_TRUE(cv::imwrite(dir.file(name), cv::Mat(72, 96, CV_8UC3, cv::Scalar::all(150))));
  }
  const std::vector<ClassInfo> classes{
      {"background", {0, 0, 0}}, {"animal", {230, 25, 75}}, {"plant", {60, 180, 75}}, {"vehicle", {0, 130, 200}}};
  write_classes_bundle(dir.file("m.i2sb"), classes);
  const std::string args = "--input-pattern " + dir.file("input_%05d.png") + " --overlay-pattern " +
                           dir.file("overlay_%05d.png") + " --count 3 --samples 3 --title demo";
  auto r = run_sheet(args + " --out " + dir.file("plain.png"));
  ASSERT_EQ(r.first, 0) << r.second;
  r = run_sheet(args + " --out " + dir.file("legend.png") + " --model " + dir.file("m.i2sb"));
  ASSERT_EQ(r.first, 0) << r.second;

  const cv::Mat plain = cv::imread(dir.file("plain.png")), sheet = cv::imread(dir.file("legend.png"));
  ASSERT_FALSE(plain.empty());
  ASSERT_FALSE(sheet.empty());
  EXPECT_EQ(sheet.cols, plain.cols);
  ASSERT_GT(sheet.rows, plain.rows);
  EXPECT_EQ(cv::norm(sheet(cv::Rect(0, 0, plain.cols, plain.rows)), plain, cv::NORM_INF), 0) << "frames unchanged";
  const cv::Mat strip = sheet(cv::Rect(0, plain.rows, sheet.cols, sheet.rows - plain.rows));
  for (const ClassInfo& c : classes) EXPECT_GE(pixels_of(strip, c.color), 12 * 12) << c.name;
  EXPECT_EQ(pixels_of(plain, classes[1].color), 0);

  // A bundle that cannot be read is named, and no sheet is written.
  r = run_sheet(args + " --out " + dir.file("bad.png") + " --model " + dir.file("none.i2sb"));
  EXPECT_NE(r.first, 0);
  EXPECT_NE(r.second.find(dir.file("none.i2sb")), std::string::npos) << r.second;
  EXPECT_FALSE(cv::imread(dir.file("bad.png")).data);
}
