// SPDX-License-Identifier: MIT
// Reading image-folder and packed datasets; every bad input is named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <i2sbseg/dataset.h>
#include <i2sbseg/error.h>

#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// A valid 3-class folder with `n` images of 12x10, split 2/1 when n == 3.
void make_folder(const fs::path& root, int n = 3) {
  fs::create_directories(root / "images");
  fs::create_directories(root / "masks");
  std::ofstream(root / "classes.json")
      << R"({"classes": [{"name": "background", "color": [0,0,0]}, {"name": "animal", "color": [255,0,0]}, {"name": "plant", "color": [0,255,0]}]})";
  for (int i = 0; i < n; ++i) {
    cv::Mat img(10, 12, CV_8UC3, cv::Scalar(10 * i, 20, 30));  // BGR
    cv::Mat mask(10, 12, CV_8UC1, cv::Scalar(0));
    mask(cv::Rect(2, 2, 4, 3)).setTo(1 + i % 2);
    cv::imwrite((root / "images" / ("s" + std::to_string(i) + ".png")).string(), img);
    cv::imwrite((root / "masks" / ("s" + std::to_string(i) + ".png")).string(), mask);
  }
  std::ofstream(root / "train.txt") << "s0\ns1\n";
  std::ofstream(root / "val.txt") << "s2\n";
}

void expect_error(const std::string& path, const std::string& split, const std::string& names,
                  const std::string& problem) {
  try {
    Dataset::load(path, split);
    FAIL() << "expected an error about " << problem;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Dataset, ReadsAFolderWithSplits) {
  TempDir dir;
  make_folder(dir.path());
  const Dataset train = Dataset::load(dir.path().string(), "train");
  ASSERT_EQ(train.size(), 2);
  EXPECT_EQ(train.name(0), "s0");
  EXPECT_EQ(train.classes()[1].name, "animal");
  EXPECT_EQ(train.image(1).sizes(), (std::vector<int64_t>{10, 12, 3}));
  // Stored RGB: the BGR (10, 20, 30) written above reads back as (30, 20, 10).
  EXPECT_EQ(train.image(1)[0][0][0].item<int>(), 30);
  EXPECT_EQ(train.image(1)[0][0][2].item<int>(), 10);
  EXPECT_EQ(train.mask(1)[3][3].item<int>(), 2);
  EXPECT_EQ(Dataset::load(dir.path().string(), "val").size(), 1);
  EXPECT_EQ(Dataset::load(dir.path().string(), "all").size(), 3);
  const auto counts = Dataset::load(dir.path().string(), "all").class_pixel_counts();
  EXPECT_EQ(counts, (std::vector<int64_t>{3 * 120 - 36, 24, 12}));
}

TEST(Dataset, PackedFileRoundTrip) {
  TempDir dir;
  make_folder(dir.path() / "d");
  const Dataset all = Dataset::load((dir.path() / "d").string(), "all");
  all.save_packed(dir.file("d.pt"));
  const Dataset val = Dataset::load(dir.file("d.pt"), "val");
  ASSERT_EQ(val.size(), 1);
  EXPECT_EQ(val.name(0), "s2");
  EXPECT_TRUE(torch::equal(val.image(0), all.image(2)));
  EXPECT_TRUE(torch::equal(val.mask(0), all.mask(2)));
  EXPECT_EQ(val.classes()[2].name, "plant");
  std::ofstream(dir.file("junk.pt")) << "junk";
  expect_error(dir.file("junk.pt"), "all", dir.file("junk.pt"), "not a dataset folder or a packed dataset");
}

TEST(Dataset, BadInputsNameTheFile) {
  TempDir dir;
  const fs::path root = dir.path() / "d";
  expect_error(root.string(), "all", root.string(), "no such dataset");

  make_folder(root);
  fs::remove(root / "masks" / "s1.png");
  expect_error(root.string(), "all", (root / "masks" / "s1.png").string(), "missing mask");

  make_folder(root);
  cv::imwrite((root / "masks" / "s2.png").string(), cv::Mat(9, 12, CV_8UC1, cv::Scalar(0)));
  expect_error(root.string(), "all", (root / "masks" / "s2.png").string(), "mask is 12x9 but its image is 12x10");

  make_folder(root);
  cv::imwrite((root / "masks" / "s0.png").string(), cv::Mat(10, 12, CV_8UC1, cv::Scalar(7)));
  expect_error(root.string(), "all", "'s0'", "class index 7");

  make_folder(root);
  std::ofstream(root / "images" / "s1.png") << "not a png";
  expect_error(root.string(), "all", (root / "images" / "s1.png").string(), "cannot read image");

  make_folder(root);
  cv::imwrite((root / "masks" / "s0.png").string(), cv::Mat(10, 12, CV_8UC3, cv::Scalar(0)));
  expect_error(root.string(), "all", (root / "masks" / "s0.png").string(), "single-channel");

  fs::remove_all(root);
  make_folder(root, 0);
  expect_error(root.string(), "all", root.string(), "no images");

  std::ofstream(root / "classes.json") << "{\"classes\": [{\"name\": \"only\"}]}";
  expect_error(root.string(), "all", (root / "classes.json").string(), "needs 2 to 255 classes");
  fs::remove(root / "classes.json");
  expect_error(root.string(), "all", (root / "classes.json").string(), "missing");

  make_folder(root);
  fs::remove(root / "val.txt");
  expect_error(root.string(), "val", (root / "val.txt").string(), "use --split all");
  expect_error(root.string(), "test", "split", "train, val or all");
}
