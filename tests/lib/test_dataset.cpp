// SPDX-License-Identifier: MIT
// Reading image-folder and packed datasets; every bad input is named.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <i2sbseg/batches.h>
#include <i2sbseg/class_list.h>
#include <i2sbseg/dataset.h>
#include <i2sbseg/error.h>

#include "../common/temp_dir.h"
#include "../common/tiny_dataset.h"

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
  expect_error(root.string(), "all", (root / "masks" / "s0.png").string(), "class index 7");

  make_folder(root);
  std::ofstream(root / "images" / "s1.png") << "not a png";
  expect_error(root.string(), "all", (root / "images" / "s1.png").string(), "cannot read image");

  make_folder(root);
  cv::imwrite((root / "masks" / "s0.png").string(), cv::Mat(10, 12, CV_8UC3, cv::Scalar(0)));
  expect_error(root.string(), "all", (root / "masks" / "s0.png").string(), "single-channel");

  fs::remove_all(root);
  make_folder(root, 0);
  expect_error(root.string(), "all", root.string(), "no images");

  std::ofstream(root / "classes.json") << R"({"classes": [{"name": "only", "color": [1, 2, 3]}]})";
  expect_error(root.string(), "all", (root / "classes.json").string(), "needs 2 to 256 classes");
  fs::remove(root / "classes.json");
  expect_error(root.string(), "all", (root / "classes.json").string(), "missing");

  make_folder(root);
  fs::remove(root / "val.txt");
  expect_error(root.string(), "val", (root / "val.txt").string(), "no 'val' split");
  expect_error(root.string(), "test", "split", "train, val or all");
}

// Mask value 255 (kIgnoreIndex) marks unlabelled pixels: a folder or
// packed file with it loads, and its pixels count in no class. Any other
// value beyond classes.json (here 7 or 5 with 5 classes) is still refused,
// naming the mask file (or the packed file and the sample), the value and
// the class count.
TEST(Dataset, UnlabelledPixelsLoadButOtherValuesBeyondTheClassesDoNot) {
  static_assert(kIgnoreIndex == 255);
  TempDir dir;
  const fs::path root = dir.path() / "d";
  const char* five = R"({"classes": [{"name": "a", "color": [0,0,0]}, {"name": "b", "color": [1,0,0]},
      {"name": "c", "color": [2,0,0]}, {"name": "d", "color": [3,0,0]}, {"name": "e", "color": [4,0,0]}]})";
  make_folder(root);
  std::ofstream(root / "classes.json") << five;
  cv::Mat mask(10, 12, CV_8UC1, cv::Scalar(4));
  mask(cv::Rect(0, 0, 5, 2)).setTo(255);
  cv::imwrite((root / "masks" / "s0.png").string(), mask);
  const Dataset d = Dataset::load(root.string(), "all");
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.mask(0)[0][0].item<int>(), 255);
  EXPECT_EQ((d.mask(0) == 255).sum().item<int64_t>(), 10);
  // s1 and s2 as make_folder drew them (12 pixels of class 2, of 1), 4 for
  // the rest of s0; no 255.
  EXPECT_EQ(d.class_pixel_counts(), (std::vector<int64_t>{2 * 120 - 24, 12, 12, 0, 120 - 10}));
  d.save_packed(dir.file("d.pt"));
  EXPECT_TRUE(torch::equal(Dataset::load(dir.file("d.pt"), "all").mask(0), d.mask(0)));

  for (const int bad : {7, 5}) {
    mask(cv::Rect(6, 6, 2, 2)).setTo(bad);
    cv::imwrite((root / "masks" / "s1.png").string(), mask);
    const std::string file = (root / "masks" / "s1.png").string();
    expect_error(root.string(), "all", file, "class index " + std::to_string(bad));
    expect_error(root.string(), "all", file, "classes.json has only 5 classes");
    expect_error(root.string(), "all", file, "255 is the ignore value");
    // The same mask in a packed file (add() does not check).
    Dataset packed;
    packed.set_classes(d.classes());
    packed.add("s1", d.image(1), torch::from_blob(mask.data, {10, 12}, torch::kUInt8).clone());
    packed.save_packed(dir.file("bad.pt"));
    expect_error(dir.file("bad.pt"), "all", dir.file("bad.pt") + ": the mask of 's1'",
                 "class index " + std::to_string(bad));
  }
}

// Errors speak the library's terms and say what kind of problem it is and
// which argument is at fault, so the tool and the element can word it
// their own way; the missing split is what `eval` falls back on.
TEST(Dataset, ErrorsCarryKindAndFieldAndNoFlag) {
  TempDir dir;
  const fs::path root = dir.path() / "d";
  make_folder(root);
  fs::remove(root / "val.txt");
  auto caught = [](const std::string& path, const std::string& split) -> Error {
    try {
      Dataset::load(path, split);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << path << " split " << split << " should fail";
    return Error("none");
  };
  const Error no_split = caught(root.string(), "val");
  EXPECT_EQ(no_split.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(no_split.field(), "split");
  const Error bad_split = caught(root.string(), "test");
  EXPECT_EQ(bad_split.kind(), ErrorKind::kInvalidOption);
  EXPECT_EQ(bad_split.field(), "split");
  const Error missing = caught((dir.path() / "nowhere").string(), "all");
  EXPECT_EQ(missing.kind(), ErrorKind::kNotFound);
  std::ofstream(root / "masks" / "s2.png") << "not a png";
  const Error bad_mask = caught(root.string(), "all");
  EXPECT_EQ(bad_mask.kind(), ErrorKind::kBadFile) << bad_mask.what();
  for (const Error* e : {&no_split, &bad_split, &missing, &bad_mask})
    EXPECT_EQ(std::string(e->what()).find("--"), std::string::npos) << e->what();
}

namespace {

// The kBadFile message parse_class_list gives for `classes` (the JSON
// array's text), "" when it parses.
std::string class_list_error(const std::string& classes) {
  try {
    parse_class_list("{\"classes\": " + classes + "}", "my/classes.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadFile) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("my/classes.json: ", 0), 0u) << "names the file: " << e.what();
    return e.what();
  }
  return "";
}

std::string entries(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i)
    s += std::string(i ? ", " : "") + "{\"name\": \"c" + std::to_string(i) + "\", \"color\": [1, 2, 3]}";
  return s + "]";
}

}  // namespace

TEST(ClassList, RulesNameTheFileAndTheEntry) {
  const std::string bg = R"({"name": "background", "color": [0, 0, 0]})";
  EXPECT_EQ(class_list_error("[" + bg + R"(, {"name": "cat", "color": [255, 0, 9]}])"), "");
  // Names: present, non-empty, strings, each used once.
  EXPECT_NE(class_list_error("[" + bg + R"(, {"color": [1, 2, 3]}])").find("classes[1] needs a non-empty \"name\""),
            std::string::npos);
  EXPECT_NE(class_list_error("[" + bg + R"(, {"name": "", "color": [1, 2, 3]}])").find("classes[1]"),
            std::string::npos);
  EXPECT_NE(class_list_error("[" + bg + R"(, {"name": 7, "color": [1, 2, 3]}])").find("classes[1]"),
            std::string::npos);
  const std::string twice = class_list_error(
      "[" + bg + R"(, {"name": "cat", "color": [1, 2, 3]}, {"name": "cat", "color": [4, 5, 6]}])");
  EXPECT_NE(twice.find("classes[2] (\"cat\")"), std::string::npos) << twice;
  EXPECT_NE(twice.find("classes[1]"), std::string::npos) << twice;
  // Colours: required, three integers 0..255.
  for (const char* color : {"", R"(, "color": [1, 2])", R"(, "color": [1, 2, 256])", R"(, "color": [1, 2, -1])",
                            R"(, "color": [1, 2, 3.5])", R"(, "color": "red")"}) {
    const std::string e = class_list_error("[" + bg + R"(, {"name": "cat")" + color + "}]");
    EXPECT_NE(e.find("classes[1] (\"cat\")"), std::string::npos) << color << ": " << e;
    EXPECT_NE(e.find("color"), std::string::npos) << color << ": " << e;
  }
  // Counts: 2 to 256 (class maps are 8-bit).
  EXPECT_NE(class_list_error(entries(1)).find("needs 2 to 256 classes"), std::string::npos);
  EXPECT_EQ(class_list_error(entries(256)), "");
  EXPECT_NE(class_list_error(entries(257)).find("has 257"), std::string::npos);
  EXPECT_NE(class_list_error("{}").find("\"classes\" must be an array"), std::string::npos);
  EXPECT_NE(class_list_error("[1, 2").find("not valid JSON"), std::string::npos);
}

TEST(ClassList, WriterAndReaderRoundTrip) {
  const std::vector<ClassInfo> classes{{"background", {0, 0, 0}}, {"animal", {230, 25, 75}}, {"big car", {0, 255, 1}}};
  const std::string text = class_list_to_json(classes);
  const std::vector<ClassInfo> back = parse_class_list(text, "x");
  ASSERT_EQ(back.size(), classes.size());
  for (size_t k = 0; k < classes.size(); ++k) {
    EXPECT_EQ(back[k].name, classes[k].name);
    EXPECT_EQ(back[k].color, classes[k].color);
  }
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5) << "one class per line:\n" << text;
  EXPECT_EQ(class_names(classes), "[background, animal, big car]");
  // The writer refuses nothing, the reader does: a duplicate written is caught on reading.
  EXPECT_THROW(parse_class_list(class_list_to_json({classes[0], classes[1], classes[1]}), "x"), Error);
}

// BatchOptions::blur: about half the crops come out smoothed, the others
// exactly as without it; masks never change. Off, it draws nothing.
TEST(Batches, BlurSmoothsAboutHalfTheCropsAndLeavesMasksAlone) {
  TempDir dir;
  const std::string path = dir.file("d.pt");
  i2sbseg::testing::make_dataset(path, 4);
  const Dataset data = Dataset::load(path, "train");
  // Total variation: the sum of absolute neighbour differences.
  auto tv = [](const torch::Tensor& x) {
    return (x.slice(3, 1) - x.slice(3, 0, -1)).abs().sum().item<double>() +
           (x.slice(2, 1) - x.slice(2, 0, -1)).abs().sum().item<double>();
  };
  BatchOptions plain{1, 32, 4, true, false}, blurred = plain;
  blurred.blur = true;
  int smooth = 0, same = 0;
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    // One slot: the blur draw comes after the slot's other draws, so the
    // crop, flip and jitter are the same with and without it.
    at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(seed), g2 = at::make_generator<at::CPUGeneratorImpl>(seed);
    const Batch a = make_batch(data, plain, g1, {0}), b = make_batch(data, blurred, g2, {0});
    EXPECT_TRUE(torch::equal(a.mask, b.mask)) << seed;
    if (torch::equal(a.hr, b.hr)) {
      ++same;
    } else {
      EXPECT_LT(tv(b.hr), 0.8 * tv(a.hr)) << seed;
      EXPECT_NEAR(b.hr.mean().item<double>(), a.hr.mean().item<double>(), 0.02) << seed;
      ++smooth;
    }
  }
  EXPECT_GE(smooth, 5);
  EXPECT_GE(same, 5);
}

// BatchOptions::strong: rotated, zoomed and greyed crops keep their masks
// in register (the red class's pixels stay red, the green's green), some
// green squares come out rotated (they no longer fill their bounding box, which
// an unrotated crop's always do), about 15 % of crops are grey, and a rank's
// slots are those of the whole batch.
TEST(Batches, StrongAugmentRotatesAndGreysInRegisterWithTheMasks) {
  TempDir dir;
  const std::string path = dir.file("d.pt");
  i2sbseg::testing::make_dataset(path, 4);
  const Dataset data = Dataset::load(path, "train");
  const std::vector<int64_t> idx{0, 1, 2, 0, 1, 2, 0, 1};
  // Fraction of class 2's bounding box that class 2 fills (1 when absent or
  // tiny): its squares are drawn last, so they are whole.
  auto fill = [](const torch::Tensor& m) {
    const torch::Tensor on = m == 2;
    if (on.sum().item<int64_t>() < 16) return 1.0;
    const torch::Tensor rows = on.any(1).nonzero(), cols = on.any(0).nonzero();
    const int64_t h = rows.max().item<int64_t>() - rows.min().item<int64_t>() + 1;
    const int64_t w = cols.max().item<int64_t>() - cols.min().item<int64_t>() + 1;
    return on.sum().item<double>() / static_cast<double>(h * w);
  };
  for (const bool strong : {false, true}) {
    BatchOptions o{8, 32, 4, true, false, strong};
    int grey = 0, rotated = 0;
    double agree = 0, labelled = 0;
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
      const Batch b = make_batch(data, o, g, idx);
      for (int64_t i = 0; i < b.hr.size(0); ++i) {
        const torch::Tensor img = b.hr[i], m = b.mask[i];
        EXPECT_LE(m.max().item<int64_t>(), 2);
        if (fill(m) < 0.9) ++rotated;
        if ((img.amax(0) - img.amin(0)).max().item<double>() < 1e-5) {
          ++grey;
          continue;
        }
        const torch::Tensor r = img[0], gr = img[1];
        agree += (((m == 1) & (r > gr + 0.1)) | ((m == 2) & (gr > r + 0.1))).sum().item<double>();
        labelled += (m > 0).sum().item<double>();
      }
    }
    ASSERT_GT(labelled, 0);
    EXPECT_GT(agree / labelled, 0.9) << "strong " << strong;
    if (strong) {
      EXPECT_GE(rotated, 5);
      EXPECT_GE(grey, 3);  // 12 expected of 80
      EXPECT_LE(grey, 25);
    } else {
      EXPECT_EQ(rotated, 0);
      EXPECT_EQ(grey, 0);
    }
  }
  BatchOptions o{8, 32, 4, true, false, true};
  at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(5), g2 = at::make_generator<at::CPUGeneratorImpl>(5);
  const Batch full = make_batch(data, o, g1, idx), part = make_batch(data, o, g2, idx, 4, 4);
  EXPECT_TRUE(torch::equal(full.hr.slice(0, 4, 8), part.hr));
  EXPECT_TRUE(torch::equal(full.mask.slice(0, 4, 8), part.mask));
}

namespace {

// Two images (one smaller than the 32-px crop, so padded): grey 110
// everywhere but a block of grey 230 that the mask marks `marked`; classes
// 1 and 2 elsewhere.
Dataset marked_dataset(std::uint8_t marked) {
  Dataset d;
  d.set_classes({{"background", {0, 0, 0}}, {"one", {1, 0, 0}}, {"two", {2, 0, 0}}, {"three", {3, 0, 0}}});
  for (const auto& [h, w] : {std::pair<int64_t, int64_t>{40, 44}, {24, 28}}) {
    torch::Tensor img = torch::full({h, w, 3}, 110, torch::kUInt8), mask = torch::zeros({h, w}, torch::kUInt8);
    mask.slice(0, h - 10, h).slice(1, 0, 10).fill_(1);
    mask.slice(0, 0, 6).slice(1, w - 10, w).fill_(2);
    img.slice(0, 4, 4 + h / 2).slice(1, 6, 6 + w / 2).fill_(230);
    mask.slice(0, 4, 4 + h / 2).slice(1, 6, 6 + w / 2).fill_(marked);
    d.add("img" + std::to_string(h), img, mask, "train");
  }
  return d;
}

// 1 where the 5 x 5 neighbourhood (inside the map) is all set.
torch::Tensor interior(const torch::Tensor& on) {
  const torch::Tensor off = (~on).to(torch::kFloat32).unsqueeze(1);
  return torch::max_pool2d(off, 5, 1, 2).squeeze(1) == 0;
}

}  // namespace

// Augmentation resamples masks nearest-neighbour: 255 (unlabelled) is a
// value like any class's. The crops of a dataset whose block is 255 and of
// the same dataset with the block as class 3 (the same draws) differ
// exactly where one has 255 and the other 3: no 255 pixel is lost, none
// comes from a class pixel, padding or a corner turned in (the class-3
// crops never hold 255), and no value in between appears. The 255 pixels
// stay in register with their (bright) image block. Without augmentation a
// crop is the mask's own pixels, 255 included, padded with class 0.
TEST(Batches, AugmentationKeepsUnlabelledPixelsUnlabelled) {
  const Dataset ignored = marked_dataset(255), labelled = marked_dataset(3);
  const std::vector<int64_t> idx{0, 1, 0, 1, 0, 1, 0, 1};
  int64_t kept = 0;
  for (const bool strong : {false, true})
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      const BatchOptions o{8, 32, 4, true, false, strong};
      at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(seed), g2 = at::make_generator<at::CPUGeneratorImpl>(seed);
      const Batch a = make_batch(ignored, o, g1, idx), b = make_batch(labelled, o, g2, idx);
      EXPECT_TRUE(torch::equal(a.hr, b.hr));
      EXPECT_TRUE(torch::equal(a.mask == 255, b.mask == 3)) << "seed " << seed << " strong " << strong;
      EXPECT_TRUE(torch::equal(a.mask.masked_fill(a.mask == 255, 3), b.mask));
      EXPECT_EQ((b.mask == 255).sum().item<int64_t>(), 0);
      EXPECT_TRUE(((a.mask <= 2) | (a.mask == 255)).all().item<bool>());
      // In register: the image is brighter inside the 255 areas than
      // anywhere outside them (2 px from their borders: bilinear images,
      // nearest masks).
      const torch::Tensor grey = a.hr.mean(1), in = interior(a.mask == 255), out = interior(a.mask != 255);
      kept += in.sum().item<int64_t>();
      for (int64_t i = 0; i < a.hr.size(0); ++i) {
        if (!in[i].any().item<bool>() || !out[i].any().item<bool>()) continue;
        EXPECT_GT(grey[i].masked_select(in[i]).min().item<float>(), grey[i].masked_select(out[i]).max().item<float>())
            << "seed " << seed << " slot " << i;
      }
    }
  EXPECT_GT(kept, 1000);
  // Unaugmented: the source pixels, padded with 0.
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  const Batch plain = make_batch(ignored, BatchOptions{1, 32, 4, false}, g, {1});
  const torch::Tensor m = plain.mask[0];
  EXPECT_TRUE(torch::equal(m.slice(0, 0, 24).slice(1, 0, 28), ignored.mask(1).to(torch::kLong)));
  EXPECT_EQ(m.slice(0, 24).abs().sum().item<int64_t>() + m.slice(1, 28).abs().sum().item<int64_t>(), 0);
}
