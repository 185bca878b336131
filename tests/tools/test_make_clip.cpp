// SPDX-License-Identifier: MIT
// `i2sbseg make-clip` on synthetic stills and masks, and its camera path
// (clip_path.cpp, compiled in).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../../tools/clip_path.h"
#include "../common/run_tool.h"
#include "../common/temp_dir.h"

using i2sbseg::testing::all_files;
using i2sbseg::testing::read_text;
using i2sbseg::testing::run_tool;
using i2sbseg::testing::TempDir;
using i2sbseg::testing::ToolResult;
using i2sbseg::tools::clip_window;
using i2sbseg::tools::ClipCamera;
using i2sbseg::tools::ClipWindow;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A 200x150 gradient with rectangles, and its mask: background 0, classes
// 1..3, an unlabelled (255) band; a small class-2 square near the bottom
// right, inside both the first and the last camera window.
struct Still {
  cv::Mat image, mask;
};

Still make_still(int w = 200, int h = 150) {
  Still s{cv::Mat(h, w, CV_8UC3), cv::Mat(h, w, CV_8UC1, cv::Scalar(0))};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) s.image.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 255 / w, y * 255 / h, 128);
  const auto box = [&](cv::Rect r, int cls, cv::Scalar colour) {
    s.image(r).setTo(colour);
    s.mask(r).setTo(cls);
  };
  box({20, 20, 50, 40}, 1, {0, 0, 255});
  box({90, 30, 40, 60}, 3, {255, 0, 0});
  box({140, 100, 20, 20}, 2, {0, 255, 0});
  s.mask(cv::Rect(0, 130, 60, 20)).setTo(255);
  return s;
}

class ClipFiles {
 public:
  ClipFiles() {
    const Still a = make_still();
    write("a.png", a.image);
    write("a_mask.png", a.mask);
    // B: another picture, all class 5 (to see which frames show it).
    cv::Mat b(120, 160, CV_8UC3, cv::Scalar(30, 60, 90));
    write("b.png", b);
    write("b_mask.png", cv::Mat(120, 160, CV_8UC1, cv::Scalar(5)));
  }
  std::string path(const std::string& name) const { return dir_.file(name); }
  std::string pair(const std::string& image, const std::string& mask) const {
    return " --image " + path(image) + " --mask " + path(mask);
  }
  void write(const std::string& name, const cv::Mat& m) const { ASSERT_TRUE(cv::imwrite(path(name), m)) << name; }

 private:
  TempDir dir_;
};

std::string frame(const fs::path& dir, const char* prefix, int i) {
  char name[32];
  std::snprintf(name, sizeof name, "%s_%03d.png", prefix, i);
  return (dir / name).string();
}

cv::Mat read_mask(const fs::path& dir, int i) { return cv::imread(frame(dir, "mask", i), cv::IMREAD_UNCHANGED); }

std::set<int> values(const cv::Mat& m) {
  std::set<int> v;
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) v.insert(m.at<uchar>(y, x));
  return v;
}

// The tool failed with an i2sbseg::Error (exit 1) whose message names `what`.
void expect_error(const std::string& args, const std::string& what) {
  const ToolResult r = run_tool("make-clip " + args);
  EXPECT_EQ(r.status, 1) << args << "\n" << r.err << r.out;
  EXPECT_NE(r.err.find("i2sbseg: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << "expected '" << what << "' in: " << r.err;
}

}  // namespace

TEST(ClipPath, WindowsInsideWithTheOutputsAspect) {
  const int sizes[][2] = {{200, 150}, {128, 128}, {100, 300}, {300, 50}, {640, 480}};
  for (const auto& s : sizes) {
    const ClipCamera c{s[0], s[1], 128, 96, 0.9, 0.6};
    int previous_width = s[0] + 1;
    for (int i = 0; i < 40; ++i) {
      const ClipWindow w = clip_window(c, i, 40);
      SCOPED_TRACE(std::to_string(s[0]) + "x" + std::to_string(s[1]) + " frame " + std::to_string(i));
      EXPECT_GE(w.x, 0);
      EXPECT_GE(w.y, 0);
      EXPECT_GE(w.width, 1);
      EXPECT_GE(w.height, 1);
      EXPECT_LE(w.x + w.width, s[0]);
      EXPECT_LE(w.y + w.height, s[1]);
      // W:H = 4:3 up to the rounding of each side (half a pixel).
      EXPECT_LE(std::abs(w.width * 96.0 - w.height * 128.0), 0.5 * 96 + 0.5 * 128 + 1e-9);
      EXPECT_LE(w.width, previous_width);
      previous_width = w.width;
    }
  }
}

TEST(ClipPath, PansFromTopLeftToBottomRightWhileZooming) {
  const ClipCamera c{200, 150, 128, 96, 0.9, 0.6};
  const ClipWindow first = clip_window(c, 0, 10), last = clip_window(c, 9, 10), mid = clip_window(c, 5, 10);
  EXPECT_EQ(first.x, 0);
  EXPECT_EQ(first.y, 0);
  EXPECT_EQ(first.width, 180);
  EXPECT_EQ(first.height, 135);
  EXPECT_EQ(last.width, 120);
  EXPECT_EQ(last.height, 90);
  EXPECT_EQ(last.x + last.width, 200);
  EXPECT_EQ(last.y + last.height, 150);
  EXPECT_GT(mid.x, first.x);
  EXPECT_LT(mid.x, last.x);
  // Eased: the first steps move less than the middle ones.
  const ClipWindow second = clip_window(c, 1, 10), fourth = clip_window(c, 4, 10);
  EXPECT_LT(clip_window(c, 1, 10).x - first.x, mid.x - fourth.x);
  EXPECT_LE(second.x, 2);
  // Too tall for the image: scaled down to its height.
  const ClipWindow flat = clip_window({300, 50, 128, 96, 1.0, 1.0}, 0, 2);
  EXPECT_EQ(flat.height, 50);
  EXPECT_EQ(flat.width, 67);
}

TEST(MakeClip, WritesFramesMasksAndManifest) {
  ClipFiles f;
  TempDir out;
  const fs::path dir = out.path() / "clip" / "sub";
  const ToolResult r = run_tool("make-clip" + f.pair("a.png", "a_mask.png") + " --out " + dir.string() + " --frames 12");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("make-clip: 12 frames (32x24 in, 128x96 masks) in " + dir.string()), std::string::npos) << r.out;
  EXPECT_EQ(all_files(dir).size(), 2u * 12 + 1);
  const std::set<int> source = values(make_still().mask);
  for (int i = 0; i < 12; ++i) {
    const cv::Mat lr = cv::imread(frame(dir, "lr", i), cv::IMREAD_UNCHANGED);
    const cv::Mat gt = read_mask(dir, i);
    ASSERT_FALSE(lr.empty()) << i;
    ASSERT_FALSE(gt.empty()) << i;
    EXPECT_EQ(lr.type(), CV_8UC3);
    EXPECT_EQ(lr.size(), cv::Size(32, 24));
    EXPECT_EQ(gt.type(), CV_8UC1);
    EXPECT_EQ(gt.size(), cv::Size(128, 96));
    for (int v : values(gt)) EXPECT_TRUE(source.count(v)) << "frame " << i << " has class " << v;
  }
  EXPECT_TRUE(values(read_mask(dir, 0)).count(255));  // the unlabelled band is in the first window
  const json j = json::parse(read_text((dir / "clip.json").string()));
  EXPECT_EQ(j["frames"], 12);
  EXPECT_EQ(j["size"], json({128, 96}));
  EXPECT_EQ(j["scale"], 4);
  EXPECT_EQ(j["lr_size"], json({32, 24}));
  EXPECT_EQ(j["zoom"], json({0.9, 0.6}));
  EXPECT_EQ(j["generator"], "i2sbseg make-clip");
  ASSERT_EQ(j["segments"].size(), 1u);
  EXPECT_EQ(j["segments"][0]["image"], f.path("a.png"));
  EXPECT_EQ(j["segments"][0]["mask"], f.path("a_mask.png"));
  EXPECT_EQ(j["segments"][0]["first_frame"], 0);
  EXPECT_EQ(j["segments"][0]["frames"], 12);
}

TEST(MakeClip, TheCameraMovesAndZoomsIn) {
  ClipFiles f;
  TempDir out;
  const ToolResult r = run_tool("make-clip" + f.pair("a.png", "a_mask.png") + " --out " + out.path().string() +
                                " --frames 10 --size 64x48 --scale 2 --zoom 0.9,0.6");
  ASSERT_EQ(r.status, 0) << r.err;
  const cv::Mat lr0 = cv::imread(frame(out.path(), "lr", 0)), lr9 = cv::imread(frame(out.path(), "lr", 9));
  ASSERT_EQ(lr0.size(), cv::Size(32, 24));
  EXPECT_GT(cv::norm(lr0, lr9, cv::NORM_L1), 0.0);
  // The class-2 square is in both windows; the last one is smaller, so it looks larger.
  const int first = cv::countNonZero(read_mask(out.path(), 0) == 2);
  const int last = cv::countNonZero(read_mask(out.path(), 9) == 2);
  EXPECT_GT(first, 0);
  EXPECT_GT(last, first * 3 / 2) << first << " -> " << last;
}

TEST(MakeClip, SameArgumentsSameBytes) {
  ClipFiles f;
  TempDir out;
  const std::string args = "make-clip" + f.pair("a.png", "a_mask.png") + f.pair("b.png", "b_mask.png") + " --frames 7";
  ASSERT_EQ(run_tool(args + " --out " + out.file("one")).status, 0);
  ASSERT_EQ(run_tool(args + " --out " + out.file("two")).status, 0);
  const auto one = all_files(out.path() / "one"), two = all_files(out.path() / "two");
  EXPECT_EQ(one.size(), 15u);
  EXPECT_TRUE(one == two);
}

TEST(MakeClip, PairsSplitTheFrames) {
  ClipFiles f;
  TempDir out;
  const ToolResult r = run_tool("make-clip" + f.pair("a.png", "a_mask.png") + f.pair("b.png", "b_mask.png") +
                                " --out " + out.path().string() + " --frames 9");
  ASSERT_EQ(r.status, 0) << r.err;
  const json segs = json::parse(read_text(out.file("clip.json")))["segments"];
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0]["first_frame"], 0);
  EXPECT_EQ(segs[0]["frames"], 5);
  EXPECT_EQ(segs[1]["first_frame"], 5);
  EXPECT_EQ(segs[1]["frames"], 4);
  EXPECT_EQ(segs[1]["image"], f.path("b.png"));
  for (int i = 0; i < 9; ++i) {
    const std::set<int> v = values(read_mask(out.path(), i));
    if (i < 5)
      EXPECT_EQ(v.count(5), 0u) << "frame " << i;
    else
      EXPECT_EQ(v, std::set<int>{5}) << "frame " << i;
  }
  EXPECT_FALSE(fs::exists(frame(out.path(), "lr", 9)));

  // A shorter clip into the same folder would leave frames 7 and 8 behind:
  // refused, naming the first of them, and nothing overwritten.
  const auto before = all_files(out.path());
  const ToolResult shorter = run_tool("make-clip" + f.pair("a.png", "a_mask.png") + " --out " + out.path().string() +
                                      " --frames 7");
  EXPECT_EQ(shorter.status, 1);
  EXPECT_NE(shorter.err.find("lr_007.png"), std::string::npos) << shorter.err;
  EXPECT_TRUE(all_files(out.path()) == before);
}

TEST(MakeClip, ErrorsNameTheFileOrOption) {
  ClipFiles f;
  TempDir out;
  const std::string a = f.pair("a.png", "a_mask.png"), to = " --out " + out.file("clip");
  f.write("small_mask.png", cv::Mat(100, 100, CV_8UC1, cv::Scalar(0)));
  f.write("colour_mask.png", make_still().image);
  expect_error("--image " + f.path("none.png") + " --mask " + f.path("a_mask.png") + to, f.path("none.png"));
  expect_error("--image " + f.path("a.png") + " --mask " + f.path("none_mask.png") + to, f.path("none_mask.png"));
  std::ofstream(f.path("text.png")) << "not a picture";
  expect_error(f.pair("text.png", "a_mask.png") + to, f.path("text.png"));
  expect_error(f.pair("a.png", "small_mask.png") + to, f.path("small_mask.png") + " is 100x100");
  expect_error(f.pair("a.png", "small_mask.png") + to, "200x150");
  expect_error(f.pair("a.png", "colour_mask.png") + to, f.path("colour_mask.png"));
  expect_error(a + " --image " + f.path("b.png") + to, "--mask");
  expect_error(a + to + " --size 128", "--size");
  expect_error(a + to + " --size 130x96", "--size");
  expect_error(a + to + " --scale 0", "--scale");
  expect_error(a + to + " --zoom 0,0.5", "--zoom");
  expect_error(a + to + " --zoom 0.9,1.5", "--zoom");
  expect_error(a + to + " --zoom 0.9", "--zoom");
  expect_error(a + f.pair("b.png", "b_mask.png") + to + " --frames 3", "--frames");
  expect_error(a + to + " --frames 1001", "--frames");
  EXPECT_FALSE(fs::exists(out.file("clip")));  // nothing written before the checks pass
}
