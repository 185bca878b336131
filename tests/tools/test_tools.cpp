// SPDX-License-Identifier: MIT
// The `i2sbseg` tool as a user runs it: exit codes, JSON, text, errors.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <i2sbseg/dataset.h>
#include <i2sbseg/metrics.h>
#include <i2sbseg/model.h>
#include <i2sbseg/schedule.h>

#ifdef I2SBSEG_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include <i2sbseg/segmenter.h>

#include "../common/run_tool.h"
#include "../common/small_model.h"
#include "../common/temp_dir.h"
#include "../common/tiny_dataset.h"
#include "../../tools/eval_report_layout.h"

using i2sbseg::testing::TempDir;

using Result = i2sbseg::testing::ToolResult;
using i2sbseg::testing::run_tool;

TEST(ToolSchedule, JsonHasEveryArrayAtFullPrecision) {
  const Result r = run_tool("schedule --steps 1000 --beta-max 0.3 --nfe 4 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const i2sbseg::Schedule s = i2sbseg::Schedule::make({});
  const std::vector<std::pair<std::string, const std::vector<double>*>> arrays{
      {"betas", &s.betas}, {"std_fwd", &s.std_fwd}, {"std_bwd", &s.std_bwd},
      {"mu_x0", &s.mu_x0}, {"mu_x1", &s.mu_x1},     {"std_sb", &s.std_sb}};
  for (const auto& [key, ref] : arrays) {
    ASSERT_TRUE(j.contains(key)) << key;
    const auto v = j[key].get<std::vector<double>>();
    ASSERT_EQ(v.size(), 1000u) << key;
    for (size_t t = 0; t < v.size(); ++t) ASSERT_DOUBLE_EQ(v[t], (*ref)[t]) << key << "[" << t << "]";
  }
  EXPECT_EQ(j["steps"].get<std::vector<int>>(), (std::vector<int>{0, 250, 500, 749, 999}));
  // At least 12 significant digits in the text itself.
  EXPECT_TRUE(std::regex_search(r.out, std::regex("0\\.375535951384"))) << "std_fwd[999] printed too short";
  EXPECT_NEAR(j["std_fwd"][999].get<double>(), 0.37553595, 1e-8);
}

TEST(ToolSchedule, OtherSchedulesAndNfe) {
  Result r = run_tool("schedule --steps 200 --beta-max 0.5 --nfe 10 --schedule linear --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["betas"].size(), 200u);
  EXPECT_EQ(j["steps"].get<std::vector<int>>(), i2sbseg::space_indices(200, 11));
  EXPECT_NEAR(j["betas"][199].get<double>(), 0.5 / 200, 1e-15);
  r = run_tool("schedule --schedule cosine --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["betas"].size(), 1000u);
}

TEST(ToolSchedule, TableShowsTheSamplingSteps) {
  const Result r = run_tool("schedule --nfe 4");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"std_fwd", " 999 ", " 749 ", " 500 ", " 250 ", "0.37553595", "0.18789193"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  EXPECT_LT(std::count(r.out.begin(), r.out.end(), '\n'), 12);
}

TEST(ToolSchedule, BadArgumentsFailWithAMessage) {
  Result r = run_tool("schedule --schedule wiggly");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("wiggly"), std::string::npos) << r.err;
  r = run_tool("schedule --steps 999");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("even number of steps"), std::string::npos) << r.err;
  r = run_tool("schedule --nfe 1000");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("NFE"), std::string::npos) << r.err;
  r = run_tool("");
  EXPECT_NE(r.status, 0);
}

TEST(ToolInfo, DescribesABundle) {
  TempDir dir;
  i2sbseg::ModelConfig c = i2sbseg::ModelConfig::make_default(3);
  c.classes[2].name = "vehicle";
  c.classifier.widths = {8, 16};
  c.classifier.latent_channels = 4;
  c.latent_mean.assign(4, 0.0f);
  c.latent_std.assign(4, 1.0f);
  c.bridge = i2sbseg::BridgeArch{8, 2, 8};
  const i2sbseg::Model m(c);
  const std::string path = dir.file("m.i2sb");
  i2sbseg::save_model(m, path);

  Result r = run_tool("info " + path + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parameters"]["total"].get<int64_t>(), m.parameter_count());
  EXPECT_EQ(j["parameters"]["bridge"].get<int64_t>(), m.parameter_count("bridge."));
  EXPECT_EQ(j["config"]["classes"][2]["name"], "vehicle");
  EXPECT_EQ(j["config"]["scale_factor"], 4);
  EXPECT_EQ(j["size_bytes"].get<uintmax_t>(), std::filesystem::file_size(path));

  r = run_tool("info " + path);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"vehicle", "background", "x4", "parameters", "latent 4 ch"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST(ToolInfo, BadFilesAreNamed) {
  TempDir dir;
  Result r = run_tool("info " + dir.file("missing.i2sb"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(dir.file("missing.i2sb") + ": no such model file"), std::string::npos) << r.err;
  std::ofstream(dir.file("junk.i2sb")) << "GIF89a not a model";
  r = run_tool("info " + dir.file("junk.i2sb"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("wrong magic"), std::string::npos) << r.err;
}

TEST(ToolBench, ReportsEveryReferencePointAndTheRatios) {
  TempDir dir;
  i2sbseg::ModelConfig c = i2sbseg::ModelConfig::make_default(3);
  c.classifier.widths = {8, 16};
  c.classifier.latent_channels = 4;
  c.latent_mean.assign(4, 0.0f);
  c.latent_std.assign(4, 1.0f);
  c.bridge = i2sbseg::BridgeArch{8, 2, 8};
  const std::string path = dir.file("m.i2sb");
  i2sbseg::save_model(i2sbseg::Model(c), path);
  const std::string json_out = dir.file("bench.json");

  Result r = run_tool("bench --model " + path + " --size 32x24 --frames 2 --warmup 0 --nfe 1 2 --element-nfe 2 --json"
                      " --json-out " + json_out);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j, nlohmann::json::parse(std::ifstream(json_out))) << "--json-out writes the same report";
  EXPECT_EQ(j["input_size"]["width"], 8);
  EXPECT_EQ(j["input_size"]["height"], 6);
  EXPECT_GT(j["unet_ms"].get<double>(), 0.0);
  for (const char* key : {"latent_ms", "pixel_ms", "frame_ms"})
    for (const char* nfe : {"1", "2"}) EXPECT_GT(j[key][nfe].get<double>(), 0.0) << key << "[" << nfe << "]";
  EXPECT_GT(j["peak_rss_mb"].get<double>(), 1.0);
  EXPECT_NEAR(j["ratios"]["latent_over_unet"].get<double>(),
              j["latent_ms"]["2"].get<double>() / j["unet_ms"].get<double>(), 1e-9);
  EXPECT_NEAR(j["ratios"]["pixel_over_latent"].get<double>(),
              j["pixel_ms"]["2"].get<double>() / j["latent_ms"]["2"].get<double>(), 1e-9);
  if (j.contains("element_ms")) {  // built with GStreamer
    EXPECT_GT(j["element_ms"].get<double>(), 0.0);
    EXPECT_GE(j["passthrough_ms"].get<double>(), 0.0);
    const double element = j["element_ms"].get<double>() - j["passthrough_ms"].get<double>();
    EXPECT_NEAR(j["ratios"]["element_minus_passthrough_over_latent"].get<double>(),
                element / j["latent_ms"]["2"].get<double>(), 1e-9);
    EXPECT_NEAR(j["ratios"]["element_minus_passthrough_over_frame"].get<double>(),
                element / j["frame_ms"]["2"].get<double>(), 1e-9);
  }

  // The text form names each measurement and target.
  r = run_tool("bench --model " + path + " --size 32x24 --frames 1 --warmup 0 --nfe 2 --element-nfe 2 --no-element");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"unet (classifier)", "latent bridge NFE 2", "pixel bridge  NFE 2", "latent_ms / unet_ms"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;

  // Bad sizes and devices are named.
  r = run_tool("bench --model " + path + " --size 30x24");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("30x24"), std::string::npos) << r.err;
  r = run_tool("bench --model " + path + " --size big");
  EXPECT_NE(r.err.find("--size"), std::string::npos) << r.err;
  r = run_tool("bench --model " + path + " --precision fp64");
  EXPECT_NE(r.err.find("fp64"), std::string::npos) << r.err;
}

namespace {

// A small untrained model with tiny_dataset.h's classes, saved to `path`.
void save_tiny_model(const std::string& path) {
  i2sbseg::ModelConfig c = i2sbseg::ModelConfig::make_default(3);
  c.classes = {{"background", {0, 0, 0}}, {"red", {255, 0, 0}}, {"green", {0, 255, 0}}};
  c.classifier.widths = {8, 16};
  c.classifier.latent_channels = 4;
  c.latent_mean.assign(4, 0.0f);
  c.latent_std.assign(4, 1.0f);
  c.bridge = i2sbseg::BridgeArch{8, 1, 8};
  c.default_nfe = 1;
  i2sbseg::save_model(i2sbseg::Model(c), path);
}

}  // namespace

// Mask values are places in the class list: the same classes in another
// order would be scored silently wrong, so eval refuses and shows both lists.
TEST(ToolEval, RefusesADatasetWhoseClassesAreInAnotherOrder) {
  TempDir dir;
  const std::string model = dir.file("m.i2sb");
  save_tiny_model(model);
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  i2sbseg::Dataset swapped = i2sbseg::Dataset::load(dir.file("d.pt"), "all");
  std::vector<i2sbseg::ClassInfo> classes = swapped.classes();
  std::swap(classes[1], classes[2]);
  swapped.set_classes(classes);
  swapped.save_packed(dir.file("swapped.pt"));

  const std::string args = " --split all --nfe 1 --max-images 1 --json";
  Result r = run_tool("eval " + model + " --data " + dir.file("swapped.pt") + args);
  EXPECT_EQ(r.status, 1) << r.out;
  for (const char* s : {"--data: ", "[background, green, red]", "[background, red, green]"})
    EXPECT_NE(r.err.find(s), std::string::npos) << s << "\n" << r.err;
  // The same images with the model's order are scored.
  r = run_tool("eval " + model + " --data " + dir.file("d.pt") + args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["images"], 1);
  // Option errors from the library come back with the flag at fault.
  r = run_tool("eval " + model + " --data " + dir.file("d.pt") + args + " --device tpu");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--device: "), std::string::npos) << r.err;
}

#ifdef I2SBSEG_HAVE_OPENCV
// An image folder without val.txt has no validation split: eval (whose
// default split is val) reads all of it instead of failing.
TEST(ToolEval, AFolderWithoutTheSplitIsReadWhole) {
  TempDir dir;
  const std::string model = dir.file("m.i2sb");
  save_tiny_model(model);
  const std::filesystem::path root = dir.path() / "data";
  std::filesystem::create_directories(root / "images");
  std::filesystem::create_directories(root / "masks");
  std::ofstream(root / "classes.json") << i2sbseg::classes_to_json(
      {{"background", {0, 0, 0}}, {"red", {255, 0, 0}}, {"green", {0, 255, 0}}});
  for (const char* stem : {"a", "b"}) {
    cv::imwrite((root / "images" / (std::string(stem) + ".png")).string(), cv::Mat(32, 32, CV_8UC3, cv::Scalar(9)));
    cv::imwrite((root / "masks" / (std::string(stem) + ".png")).string(), cv::Mat(32, 32, CV_8UC1, cv::Scalar(1)));
  }
  std::ofstream(root / "train.txt") << "a\n";
  const Result r = run_tool("eval " + model + " --data " + root.string() + " --nfe 1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("(split all)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 images"), std::string::npos) << r.out;
}
#endif

// The boundary F column and the rows averaged over K samples, in the table
// and the JSON; their flags' ranges.
TEST(ToolEval, BoundaryScoreAndAveragedRows) {
  TempDir dir;
  const std::string model = dir.file("m.i2sb");
  save_tiny_model(model);
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  const std::string args = " --data " + dir.file("d.pt") + " --split all --nfe 1 2 --max-images 2";
  Result r = run_tool("eval " + model + args + " --samples 3 --boundary-tolerance 1.5 --boundary-band 3");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"bndF@1.5px", "within 1.5 px", "bands up to 6 px wide", "bridge NFE 1 ×3", "bridge NFE 2 ×3"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  r = run_tool("eval " + model + args + " --samples 3 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 3);
  EXPECT_EQ(j["boundary_tolerance_px"], 2.0);
  EXPECT_EQ(j["boundary_band_px"], 4.0);
  EXPECT_EQ(j["bridge_mean"].size(), 2u);
  for (const char* row : {"classifier_hr", "classifier_lr", "oracle"}) EXPECT_TRUE(j[row].contains("boundary_f")) << row;
  EXPECT_TRUE(j["bridge_mean"]["2"].contains("boundary_f"));
  // One sample (the default) adds no rows.
  r = run_tool("eval " + model + args + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(r.out).contains("bridge_mean"));
  const std::vector<std::pair<std::string, std::string>> bad{
      {" --samples 0", "--samples"}, {" --boundary-tolerance=-1", "--boundary-tolerance"},
      {" --boundary-tolerance 65", "--boundary-tolerance"}, {" --boundary-band 33", "--boundary-band"}};
  for (const auto& [flag, name] : bad) {
    r = run_tool("eval " + model + args + flag);
    EXPECT_NE(r.status, 0) << flag;
    EXPECT_NE(r.err.find(name), std::string::npos) << flag << ": " << r.err;
  }
}

// The tiny model at `model` and, at `base`, the same without its bridge: a
// direct baseline for eval's --baseline.
void save_tiny_model_and_baseline(const std::string& model, const std::string& base) {
  save_tiny_model(model);
  i2sbseg::ModelConfig c = i2sbseg::load_model(model).config();
  c.bridge.reset();
  i2sbseg::save_model(i2sbseg::Model(c), base);
}

// With --baseline, each bridge row's lead over the baseline and over the
// LR path follows the table, with its bootstrap interval; --bootstrap 0
// leaves them out.
TEST(ToolEval, BootstrapLeadsFollowTheTable) {
  TempDir dir;
  const std::string model = dir.file("m.i2sb"), base = dir.file("base.i2sb");
  save_tiny_model_and_baseline(model, base);
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  const std::string args = " --data " + dir.file("d.pt") + " --split all --nfe 1 2 --max-images 3 --baseline " + base;
  Result r = run_tool("eval " + model + args);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::regex line("bridge NFE 1 − baseline: [+-]0\\.\\d{4} mIoU \\(95 % CI [+-]0\\.\\d{4} … [+-]0\\.\\d{4}, "
                        "1000 paired bootstrap resamples of the images\\)\n");
  EXPECT_TRUE(std::regex_search(r.out, line)) << r.out;
  for (const char* s : {"bridge NFE 2 − baseline: ", "bridge NFE 1 − LR path (no bridge): ",
                        "bridge NFE 2 − LR path (no bridge): "})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  EXPECT_LT(r.out.find("baseline model"), r.out.find("bridge NFE 1 − baseline")) << "after the table";

  r = run_tool("eval " + model + args + " --bootstrap 50 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["leads"].size(), 4u);
  EXPECT_EQ(j["leads"][0]["over"], "baseline");
  EXPECT_EQ(j["leads"][0]["nfe"], 1);
  EXPECT_EQ(j["leads"][0]["resamples"], 50);
  EXPECT_EQ(j["leads"][3]["over"], "classifier_lr");
  EXPECT_NEAR(j["leads"][0]["miou_diff"].get<double>(),
              j["bridge"]["1"]["miou"].get<double>() - j["baseline"]["miou"].get<double>(), 1e-12);
  const auto ci = j["leads"][0]["ci95"].get<std::vector<double>>();
  ASSERT_EQ(ci.size(), 2u);
  EXPECT_LE(ci[0], ci[1]);

  r = run_tool("eval " + model + args + " --bootstrap 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("baseline model"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("bootstrap"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(" − baseline"), std::string::npos) << r.out;
  r = run_tool("eval " + model + args + " --bootstrap 0 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(r.out).contains("leads"));
  r = run_tool("eval " + model + args + " --bootstrap=-1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--bootstrap"), std::string::npos) << r.err;
}

#ifdef I2SBSEG_HAVE_OPENCV
// `eval --report` writes three pictures; the sheet's ground-truth column
// (eval_report_layout.h) shows the masks in the class colours.
TEST(ToolEval, ReportWritesThreePictures) {
  TempDir dir;
  const std::string model = dir.file("m.i2sb"), base = dir.file("base.i2sb");
  save_tiny_model_and_baseline(model, base);
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  const std::string report = dir.file("report/nested");
  const Result r = run_tool("eval " + model + " --data " + dir.file("d.pt") + " --split all --nfe 1 2 --samples 2 " +
                            "--baseline " + base + " --report " + report);
  ASSERT_EQ(r.status, 0) << r.err;
  const cv::Mat examples = cv::imread(report + "/examples.png"), iou = cv::imread(report + "/class_iou.png"),
                nfe = cv::imread(report + "/nfe.png");
  ASSERT_FALSE(examples.empty());
  ASSERT_FALSE(iou.empty());
  ASSERT_FALSE(nfe.empty());
  // 4 images of 32 px: 4 rows, 5 columns (LR, truth, HR, baseline, bridge) of 128-px cells.
  const i2sbseg::tools::SheetLayout l = i2sbseg::tools::sheet_layout(4, 5, 32);
  EXPECT_EQ(l.cell, 128);
  EXPECT_EQ(examples.cols, l.width());
  EXPECT_GT(examples.rows, l.row_y(3) + l.cell);
  EXPECT_GE(iou.cols, 400);
  EXPECT_GE(iou.rows, 300);
  EXPECT_GE(nfe.cols, 800);
  EXPECT_GE(nfe.rows, 300);
  const cv::Mat truth = examples(cv::Rect(l.picture_x(1), l.row_y(0), l.cell, l.row_y(3) + l.cell - l.row_y(0)));
  int red = 0, green = 0;
  for (int y = 0; y < truth.rows; ++y)
    for (int x = 0; x < truth.cols; ++x) {
      const cv::Vec3b p = truth.at<cv::Vec3b>(y, x);  // BGR
      red += p == cv::Vec3b(0, 0, 255);
      green += p == cv::Vec3b(0, 255, 0);
    }
  EXPECT_GT(red, 16 * 36) << "the red squares (at least 6 x 6 px, x4) of the masks";
  EXPECT_GT(green, 16 * 36);

  // A report folder that cannot be made is an error naming it.
  std::ofstream(dir.file("plain-file")) << "x";
  const Result bad = run_tool("eval " + model + " --data " + dir.file("d.pt") + " --split all --nfe 1 --max-images 1 " +
                              "--report " + dir.file("plain-file"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(dir.file("plain-file")), std::string::npos) << bad.err;
  // So is a picture that cannot be written (here a folder is in its way).
  std::filesystem::create_directories(dir.path() / "blocked" / "examples.png");
  const Result blocked = run_tool("eval " + model + " --data " + dir.file("d.pt") +
                                  " --split all --nfe 1 --max-images 1 --report " + dir.file("blocked"));
  EXPECT_EQ(blocked.status, 1);
  EXPECT_NE(blocked.err.find(dir.file("blocked/examples.png")), std::string::npos) << blocked.err;
}
#endif

// `pack` keeps each image's split, bytes and name; --max-per-split keeps the
// first N of each split; a missing input is named.
TEST(ToolPack, KeepsSplitsAndPixelsAndTheFirstNOfEach) {
  TempDir dir;
  const std::string in = dir.file("in.pack"), all = dir.file("all.pack"), two = dir.file("two.pack");
  i2sbseg::testing::make_dataset(in, 12);  // 9 train, 3 val
  Result r = run_tool("pack " + in + " --out " + all);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("9 train + 3 val"), std::string::npos) << r.out;
  for (const char* split : {"train", "val"}) {
    const i2sbseg::Dataset a = i2sbseg::Dataset::load(in, split), b = i2sbseg::Dataset::load(all, split);
    ASSERT_EQ(a.size(), b.size()) << split;
    EXPECT_EQ(b.classes().size(), 3u);
    for (std::int64_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a.name(i), b.name(i));
      EXPECT_TRUE(a.image(i).equal(b.image(i))) << split << " " << i;
      EXPECT_TRUE(a.mask(i).equal(b.mask(i))) << split << " " << i;
    }
  }
  r = run_tool("pack " + in + " --out " + two + " --max-per-split 2");
  ASSERT_EQ(r.status, 0) << r.err;
  const i2sbseg::Dataset train = i2sbseg::Dataset::load(two, "train"), val = i2sbseg::Dataset::load(two, "val");
  ASSERT_EQ(train.size(), 2);
  ASSERT_EQ(val.size(), 2);
  EXPECT_EQ(train.name(0), "img0");
  EXPECT_EQ(train.name(1), "img1");
  EXPECT_EQ(val.name(0), "img9");

  r = run_tool("pack " + dir.file("missing") + " --out " + dir.file("x.pack"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
}

#ifdef I2SBSEG_HAVE_OPENCV
namespace {

// The small x4 model with its weights moved far enough that the classes
// vary across a frame, saved at `path`.
void save_varied_model(const std::string& path) {
  i2sbseg::Model m(i2sbseg::testing::small_config());
  torch::manual_seed(5);
  {
    torch::NoGradGuard g;
    for (auto& [name, t] : m.named_tensors())
      if (t.is_floating_point() && name.find("running") == std::string::npos) t.add_(torch::randn_like(t) * 0.5);
  }
  i2sbseg::save_model(m, path);
}

// A 32x24 BGR frame of 8x8 blocks of random colours (torch's generator):
// regions a model can tell apart.
cv::Mat block_frame() {
  const torch::Tensor t =
      torch::randint(0, 256, {3, 4, 3}, torch::kUInt8).repeat_interleave(8, 0).repeat_interleave(8, 1).contiguous();
  return cv::Mat(24, 32, CV_8UC3, t.data_ptr<std::uint8_t>()).clone();
}

}  // namespace

// flicker: the share of pixels whose class changes between consecutive
// frames, as the library's own class maps give it; still frames give 0, a
// model against itself the ratio 1; bad patterns and missing frames named.
TEST(ToolFlicker, MatchesTheLibrarysClassMapsFrameToFrame) {
  TempDir dir;
  const std::string model = dir.file("m.i2sb");
  save_varied_model(model);
  torch::manual_seed(4);
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 4; ++i) {
    frames.push_back(block_frame());
    ASSERT_TRUE(cv::imwrite(dir.file("f_" + std::to_string(i) + ".png"), frames.back()));
    ASSERT_TRUE(cv::imwrite(dir.file("still_" + std::to_string(i) + ".png"), frames.front()));
  }
  // The expected value, from the library directly (BGR as OpenCV reads it).
  auto seg = i2sbseg::Segmenter::open(model, {"cpu"});
  std::vector<std::uint8_t> prev, map;
  double expected = 0;
  for (int i = 0; i < 4; ++i) {
    int w = 0, h = 0;
    seg->segment(frames[i].data, 32, 24, static_cast<int>(frames[i].step), {3, 2, 1, 0}, {}, map, w, h);
    if (i > 0) {
      std::size_t changed = 0;
      for (std::size_t p = 0; p < map.size(); ++p) changed += map[p] != prev[p];
      expected += static_cast<double>(changed) / map.size() / 3.0;
    }
    prev = map;
  }
  ASSERT_GT(expected, 0.0) << "the model gives the same map for every frame: the check would show nothing";
  Result r = run_tool("flicker --model " + model + " --baseline " + model + " --input-pattern " + dir.file("f_%d.png") +
                      " --count 4 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["model"]["flicker"].get<double>(), expected, 1e-12);
  EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 1.0);
  r = run_tool("flicker --model " + model + " --input-pattern " + dir.file("still_%d.png") + " --count 4 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["model"]["flicker"].get<double>(), 0.0);

  r = run_tool("flicker --model " + model + " --input-pattern " + dir.file("f_%s.png") + " --count 4");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--input-pattern"), std::string::npos) << r.err;
  r = run_tool("flicker --model " + model + " --input-pattern " + dir.file("f_%d.png") + " --count 5");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("f_4.png"), std::string::npos) << r.err;
}

// Four block frames f_i.png in `dir`, their class maps by `seg`, and the
// masks mask_i.png (each frame's own map, the last frame's the one before)
// with half-size copies small_i.png.
void write_labelled_clip(const TempDir& dir, i2sbseg::Segmenter& seg, std::vector<std::vector<std::uint8_t>>& maps,
                         std::vector<std::vector<std::uint8_t>>& truth) {
  maps.assign(4, {});
  truth.assign(4, {});
  for (int i = 0; i < 4; ++i) {
    const cv::Mat frame = block_frame();
    ASSERT_TRUE(cv::imwrite(dir.file("f_" + std::to_string(i) + ".png"), frame));
    int w = 0, h = 0;
    seg.segment(frame.data, 32, 24, static_cast<int>(frame.step), {3, 2, 1, 0}, {}, maps[i], w, h);
    ASSERT_EQ(w, 128);
    ASSERT_EQ(h, 96);
  }
  for (int i = 0; i < 4; ++i) {
    truth[i] = maps[i == 3 ? 2 : i];
    ASSERT_TRUE(cv::imwrite(dir.file("mask_" + std::to_string(i) + ".png"), cv::Mat(96, 128, CV_8UC1, truth[i].data())));
    cv::Mat small;
    cv::resize(cv::Mat(96, 128, CV_8UC1, truth[i].data()), small, {64, 48}, 0, 0, cv::INTER_NEAREST);
    ASSERT_TRUE(cv::imwrite(dir.file("small_" + std::to_string(i) + ".png"), small));
  }
}

// flicker --masks-pattern: the scores against ground truth, checked against
// the library's own maps scored here: the truth is each frame's own map,
// except the last frame's, which is the frame before's (so the prediction
// changes where the truth holds still, and is wrong there).
TEST(ToolFlicker, ScoresALabelledClipAgainstItsMasks) {
  TempDir dir;
  const std::string model = dir.file("m.i2sb");
  save_varied_model(model);
  torch::manual_seed(4);
  auto seg = i2sbseg::Segmenter::open(model, {"cpu"});
  std::vector<std::vector<std::uint8_t>> maps, truth;
  write_labelled_clip(dir, *seg, maps, truth);
  ASSERT_NE(maps[3], maps[2]) << "the last frame must be wrong somewhere, or the check shows nothing";
  i2sbseg::ConfusionMatrix cm(seg->num_classes());
  std::int64_t steady = 0, steady_changed = 0;
  for (int i = 0; i < 4; ++i) {
    cm.add(maps[i].data(), truth[i].data(), maps[i].size());
    for (std::size_t p = 0; i > 0 && p < maps[i].size(); ++p)
      if (truth[i][p] == truth[i - 1][p]) ++steady, steady_changed += maps[i][p] != maps[i - 1][p];
  }
  Result r = run_tool("flicker --model " + model + " --lr-up --input-pattern " + dir.file("f_%d.png") +
                      " --masks-pattern " + dir.file("mask_%d.png") + " --count 4 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["model"]["miou"].get<double>(), cm.mean_iou(), 1e-12);
  EXPECT_NEAR(j["model"]["pixel_accuracy"].get<double>(), cm.pixel_accuracy(), 1e-12);
  EXPECT_LT(j["model"]["pixel_accuracy"].get<double>(), 1.0);
  EXPECT_NEAR(j["model"]["flicker_steady_truth"].get<double>(), static_cast<double>(steady_changed) / steady, 1e-12);
  EXPECT_GT(j["model"]["flicker_steady_truth"].get<double>(), 0.0);
  for (const char* row : {"model", "lr_up"})
    for (const char* key : {"miou", "pixel_accuracy", "boundary_f"}) {
      EXPECT_GE(j[row][key].get<double>(), 0.0) << row << " " << key;
      EXPECT_LE(j[row][key].get<double>(), 1.0) << row << " " << key;
    }
  EXPECT_EQ(j["boundary_tolerance_px"].get<double>(), 2.0);
  const std::vector<double> iou = cm.iou();
  ASSERT_EQ(j["model"]["class_iou"].size(), iou.size());
  for (std::size_t k = 0; k < iou.size(); ++k)
    if (std::isnan(iou[k]))
      EXPECT_TRUE(j["model"]["class_iou"][k].is_null()) << k;
    else
      EXPECT_NEAR(j["model"]["class_iou"][k].get<double>(), iou[k], 1e-12) << k;

  // --classes: the clip's names must be the model's (they then name the
  // per-class IoU); other names are refused, naming both lists.
  std::string same = "{\"classes\": [", other = "{\"classes\": [";
  for (std::size_t k = 0; k < seg->classes().size(); ++k) {
    same += std::string(k ? ", " : "") + "{\"name\": \"" + seg->classes()[k].name + "\", \"color\": [0, 0, 0]}";
    other += std::string(k ? ", " : "") + "{\"name\": \"c" + std::to_string(k) + "\", \"color\": [0, 0, 0]}";
  }
  std::ofstream(dir.file("same.json")) << same + "]}";
  std::ofstream(dir.file("other.json")) << other + "]}";
  r = run_tool("flicker --model " + model + " --input-pattern " + dir.file("f_%d.png") + " --masks-pattern " +
               dir.file("mask_%d.png") + " --count 4 --classes " + dir.file("same.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("IoU per class:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(seg->classes()[1].name + " "), std::string::npos) << r.out;
  r = run_tool("flicker --model " + model + " --input-pattern " + dir.file("f_%d.png") + " --masks-pattern " +
               dir.file("mask_%d.png") + " --count 4 --classes " + dir.file("other.json"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("c1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot score"), std::string::npos) << r.err;

  // Masks not at the output size, and a bad pattern, are named.
  r = run_tool("flicker --model " + model + " --input-pattern " + dir.file("f_%d.png") + " --masks-pattern " +
               dir.file("small_%d.png") + " --count 4");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("small_0.png"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("128x96"), std::string::npos) << r.err;
  r = run_tool("flicker --model " + model + " --input-pattern " + dir.file("f_%d.png") + " --masks-pattern " +
               dir.file("mask.png") + " --count 4");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--masks-pattern"), std::string::npos) << r.err;
}
#endif
