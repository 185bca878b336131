// SPDX-License-Identifier: MIT
// The shipped models on the held-out street clip (pipelines/street-clip/),
// as `bash pipelines/demo.sh` scores them with `i2sbseg flicker`: the
// tool's rows checked against the library's own class maps scored here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <i2sbseg/metrics.h>
#include <i2sbseg/segmenter.h>

#include "../common/run_tool.h"

namespace {

const std::filesystem::path kRoot = std::filesystem::path(__FILE__).parent_path() / ".." / "..";

// The frame's class map as the element (and flicker) make it: default
// parameters, so the same seed every frame.
std::vector<std::uint8_t> class_map(i2sbseg::Segmenter& seg, const std::string& lr_png, int& w, int& h) {
  const cv::Mat bgr = cv::imread(lr_png, cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << lr_png;
  std::vector<std::uint8_t> map;
  seg.segment(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step), i2sbseg::PixelLayout{3, 2, 1, 0}, {}, map, w, h);
  return map;
}

std::string frame_file(const char* pattern, int i) {
  char name[64];
  std::snprintf(name, sizeof name, pattern, i);
  return (kRoot / "pipelines" / "street-clip" / name).string();
}

}  // namespace

// The default and direct models have the clip's five classes; flicker's
// mIoU, pixel accuracy and per-class IoU of both rows equal the confusion
// matrix of the library's maps against the clip's masks, over all frames.
TEST(StreetClip, TheShippedModelsAreScoredOnTheHeldOutClip) {
  const std::string models = (kRoot / "models").string(), clip = (kRoot / "pipelines" / "street-clip").string();
  const nlohmann::json info = nlohmann::json::parse(std::ifstream(clip + "/clip.json"));
  const int frames = info["frames"].get<int>();
  ASSERT_GE(frames, 40);
  const i2sbseg::testing::ToolResult r = i2sbseg::testing::run_tool(
      "flicker --model " + models + "/default.i2sb --baseline " + models + "/direct.i2sb --lr-up --device cpu "
      "--threads 2 --classes " + clip + "/classes.json --input-pattern " + clip + "/lr_%03d.png --masks-pattern " +
      clip + "/mask_%03d.png --count " + std::to_string(frames) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const nlohmann::json names = nlohmann::json::parse(std::ifstream(clip + "/classes.json"))["classes"];
  ASSERT_EQ(j["class_names"].size(), names.size());
  for (std::size_t k = 0; k < names.size(); ++k) EXPECT_EQ(j["class_names"][k], names[k]["name"]) << k;
  for (const auto& [row, file] : {std::pair{"model", "default.i2sb"}, std::pair{"baseline", "direct.i2sb"}}) {
    SCOPED_TRACE(row);
    auto seg = i2sbseg::Segmenter::open(models + "/" + file, {"cpu"});
    i2sbseg::ConfusionMatrix cm(seg->num_classes());
    for (int i = 0; i < frames; ++i) {
      int w = 0, h = 0;
      const std::vector<std::uint8_t> map = class_map(*seg, frame_file("lr_%03d.png", i), w, h);
      const cv::Mat truth = cv::imread(frame_file("mask_%03d.png", i), cv::IMREAD_UNCHANGED);
      ASSERT_EQ(truth.cols, w);
      ASSERT_EQ(truth.rows, h);
      ASSERT_TRUE(truth.isContinuous());
      cm.add(map.data(), truth.data, map.size());
    }
    ASSERT_TRUE(j.contains(row)) << r.out;
    EXPECT_NEAR(j[row]["miou"].get<double>(), cm.mean_iou(), 1e-12);
    EXPECT_NEAR(j[row]["pixel_accuracy"].get<double>(), cm.pixel_accuracy(), 1e-12);
    const std::vector<double> iou = cm.iou();
    ASSERT_EQ(j[row]["class_iou"].size(), iou.size());
    int present = 0;  // the clip shows no animal: its IoU is null unless one is predicted
    for (std::size_t k = 0; k < iou.size(); ++k) {
      if (std::isnan(iou[k])) {
        EXPECT_TRUE(j[row]["class_iou"][k].is_null()) << k;
        continue;
      }
      ++present;
      EXPECT_NEAR(j[row]["class_iou"][k].get<double>(), iou[k], 1e-12) << k;
    }
    EXPECT_GE(present, 4) << "background, person, vehicle and vegetation are in the truth";
    const double f = j[row]["boundary_f"].get<double>();
    EXPECT_GT(f, 0.0) << "banded truth has class edges to match";
    EXPECT_LE(f, 1.0);
  }
  EXPECT_TRUE(j.contains("lr_up")) << r.out;
}
