// SPDX-License-Identifier: MIT
// `make-dataset --realism`: the paste steps on synthetic cutouts (feathering,
// colour and blur matching, noise), and whole builds: off is the plain
// build, on keeps its masks and draws the same for a seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <i2sbseg/dataset_builder.h>

#include "../common/run_tool.h"
#include "../common/temp_dir.h"

using i2sbseg::PasteLook;
using i2sbseg::testing::all_files;
using i2sbseg::testing::run_tool;
using i2sbseg::testing::TempDir;
using i2sbseg::testing::ToolResult;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const cv::Vec3b kPhoto(20, 40, 60), kObject(200, 100, 50);

// A solid square of kObject, `side` wide, opaque inside a transparent
// border of `border` pixels; `ramp` pixels of its left edge rise linearly.
cv::Mat square_cutout(int side, int border, int ramp = 0) {
  const int n = side + 2 * border;
  cv::Mat m(n, n, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  for (int y = border; y < border + side; ++y)
    for (int x = border; x < border + side; ++x) {
      const int a = x - border < ramp ? 255 * (x - border + 1) / (ramp + 1) : 255;
      m.at<cv::Vec4b>(y, x) = cv::Vec4b(kObject[0], kObject[1], kObject[2], static_cast<uchar>(a));
    }
  return m;
}

PasteLook look(double feather, double colour, bool blur) {
  PasteLook l;
  l.feather_sigma = feather;
  l.colour_fraction = colour;
  l.match_blur = blur;
  return l;
}

// Pixels that are neither the photo's nor the object's colour.
int blended(const cv::Mat& image) {
  int n = 0;
  for (auto it = image.begin<cv::Vec3b>(); it != image.end<cv::Vec3b>(); ++it) n += *it != kPhoto && *it != kObject;
  return n;
}

double mean_abs_laplacian(const cv::Mat& bgr) {
  cv::Mat grey, lap;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::Laplacian(grey, lap, CV_32F, 1);
  return cv::mean(cv::abs(lap))[0];
}

// Soft-edged ellipses of random colours (photographs to the builder's
// filter) in animals/, vehicles/ and household/ (distractors when asked
// for); backgrounds of smooth stripes plus noise.
class Sources {
 public:
  Sources() {
    std::mt19937 rng(3);
    const char* names[] = {"animals/a0", "animals/a1", "animals/a2", "vehicles/v0", "vehicles/v1", "household/h0",
                           "household/h1"};
    for (const char* name : names) write(dir_.path() / "cutouts" / (std::string(name) + ".png"), blob(64, 48, rng));
    for (int i = 0; i < 3; ++i)
      write(dir_.path() / "backgrounds" / ("bg" + std::to_string(i) + ".png"), photo(100, 80, rng));
  }
  fs::path out(const std::string& name) const { return dir_.path() / name; }
  std::string args(const std::string& name, const std::string& extra) const {
    return "make-dataset --cutouts " + (dir_.path() / "cutouts").string() + " --backgrounds " +
           (dir_.path() / "backgrounds").string() + " --out " + out(name).string() +
           " --size 48 --count 16 --val-fraction 0.25 --seed 5 " + extra;
  }
  i2sbseg::DatasetOptions options(const std::string& name) const {
    i2sbseg::DatasetOptions o;
    o.cutouts_dir = (dir_.path() / "cutouts").string();
    o.backgrounds_dirs = {(dir_.path() / "backgrounds").string()};
    o.out_dir = out(name).string();
    o.size = 48;
    o.count = 16;
    o.val_fraction = 0.25;
    o.seed = 5;
    return o;
  }

 private:
  static void write(const fs::path& p, const cv::Mat& m) {
    fs::create_directories(p.parent_path());
    ASSERT_TRUE(cv::imwrite(p.string(), m)) << p;
  }
  static cv::Mat blob(int w, int h, std::mt19937& rng) {
    cv::Mat m(h, w, CV_8UC4);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const double dx = (x + 0.5) / w * 2 - 1, dy = (y + 0.5) / h * 2 - 1;
        const int a = std::clamp(static_cast<int>((1 - std::hypot(dx, dy)) * 1500), 0, 255);
        m.at<cv::Vec4b>(y, x) = cv::Vec4b(rng() % 256, rng() % 256, rng() % 256, static_cast<uchar>(a));
      }
    return m;
  }
  static cv::Mat photo(int w, int h, std::mt19937& rng) {
    cv::Mat m(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int k = 0; k < 3; ++k)
          m.at<cv::Vec3b>(y, x)[k] = cv::saturate_cast<uchar>(128 + 90 * std::sin((x + 3 * k) / 5.0) + rng() % 9);
    return m;
  }
  TempDir dir_;
};

// dataset.json without what --realism adds.
json without_realism(json ds) {
  ds["options"].erase("realism");
  for (json& image : ds["images"]) {
    image.erase("noise_sigma");
    for (json& paste : image["pastes"]) paste.erase("look");
  }
  return ds;
}

}  // namespace

// A hard matte edge stays hard without realism; with it the edge blends a
// pixel or two each side, the inside and the far photo untouched, the mask
// that of paste_cutout.
TEST(Realism, FeatheringSoftensTheMatteEdgeNotTheMask) {
  const cv::Mat cut = square_cutout(20, 2);
  cv::Mat plain(40, 40, CV_8UC3, cv::Scalar(kPhoto)), soft = plain.clone();
  cv::Mat plain_mask = cv::Mat::zeros(40, 40, CV_8UC1), soft_mask = plain_mask.clone();
  i2sbseg::paste_cutout(plain, plain_mask, cut, 2, 8, 8);  // the square covers 10..29
  const PasteLook applied = i2sbseg::paste_cutout_realistic(soft, soft_mask, cut, 2, 8, 8, look(0.8, 0, true));
  EXPECT_EQ(blended(plain), 0) << "a hard matte should paste with hard edges";
  EXPECT_EQ(cv::countNonZero(plain_mask != soft_mask), 0);
  EXPECT_EQ(cv::countNonZero(soft_mask), 400);
  EXPECT_EQ(applied.blur_sigma, 0) << "a flat square has nothing to blur";
  EXPECT_EQ(applied.gain, cv::Vec3d(1, 1, 1));
  EXPECT_GE(blended(soft), 4 * 20 * 2) << "both sides of each edge should blend";
  for (int x = 0; x < 40; ++x) {
    const cv::Vec3b px = soft.at<cv::Vec3b>(20, x);
    if (x < 7 || x > 32) {
      EXPECT_EQ(px, kPhoto) << x;
    } else if (x >= 13 && x <= 26) {
      EXPECT_EQ(px, kObject) << x;
    }
  }
  // Across the left edge the colour moves monotonically from photo to object.
  for (int x = 7; x < 13; ++x) EXPECT_LE(soft.at<cv::Vec3b>(20, x)[0], soft.at<cv::Vec3b>(20, x + 1)[0]) << x;
  EXPECT_NE(soft.at<cv::Vec3b>(20, 9), kPhoto) << "the matte should spread past the cutout";
  EXPECT_NE(soft.at<cv::Vec3b>(20, 10), kObject);

  // A cutout with its own soft (ramp) edge: still the class where alpha > 127.
  const cv::Mat ramped = square_cutout(20, 0, 6);
  cv::Mat image(30, 30, CV_8UC3, cv::Scalar(kPhoto)), mask = cv::Mat::zeros(30, 30, CV_8UC1);
  cv::Mat expect = mask.clone(), scratch = image.clone();
  i2sbseg::paste_cutout(scratch, expect, ramped, 1, 5, 5);
  i2sbseg::paste_cutout_realistic(image, mask, ramped, 1, 5, 5, look(1.0, 0.3, true));
  EXPECT_EQ(cv::countNonZero(expect != mask), 0);
  EXPECT_EQ(mask.at<uchar>(15, 5 + 2), 0);  // alpha 109
  EXPECT_EQ(mask.at<uchar>(15, 5 + 3), 1);  // alpha 146
}

// The gain takes the cutout's mean `fraction` of the way toward the mean
// of the photo it covers, within 0.7..1.3.
TEST(Realism, ColourMatchingMovesThePasteTowardThePhoto) {
  const cv::Mat cut(16, 16, CV_8UC4, cv::Scalar(200, 200, 200, 255));
  const auto paste_on = [&](cv::Scalar photo, double fraction, PasteLook* applied) {
    cv::Mat image(24, 24, CV_8UC3, photo), mask = cv::Mat::zeros(24, 24, CV_8UC1);
    *applied = i2sbseg::paste_cutout_realistic(image, mask, cut, 1, 4, 4, look(0, fraction, true));
    return image.at<cv::Vec3b>(12, 12);
  };
  PasteLook applied;
  EXPECT_EQ(paste_on(cv::Scalar(100, 100, 100), 0, &applied), cv::Vec3b(200, 200, 200));
  EXPECT_EQ(paste_on(cv::Scalar(100, 100, 100), 0.4, &applied), cv::Vec3b(160, 160, 160));  // 200 - 0.4 * 100
  EXPECT_NEAR(applied.gain[0], 0.8, 1e-9);
  EXPECT_EQ(paste_on(cv::Scalar(0, 0, 0), 0.5, &applied), cv::Vec3b(140, 140, 140));  // gain clamped at 0.7
  // Per channel, each toward the photo's: blue down, green kept, red up.
  EXPECT_EQ(paste_on(cv::Scalar(100, 200, 250), 0.5, &applied), cv::Vec3b(150, 200, 225));
  EXPECT_NEAR(applied.gain[2], 1.125, 1e-9);
}

// Blur only where the cutout is much sharper than the photo around it.
TEST(Realism, BlurMatchesASofterPhotoOnly) {
  cv::Mat cut(24, 24, CV_8UC4);
  cv::theRNG().state = 11;
  cv::randu(cut, 0, 256);
  cut.forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 255; });
  cv::Mat smooth(40, 40, CV_8UC3), sharp(40, 40, CV_8UC3);
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x)
      smooth.at<cv::Vec3b>(y, x) = cv::Vec3b::all(cv::saturate_cast<uchar>(128 + 100 * std::sin(x / 4.0)));
  cv::randu(sharp, 0, 256);
  const cv::Rect inside(10, 10, 20, 20);  // the cutout covers 8..31
  for (const cv::Mat& photo : {smooth, sharp}) {
    cv::Mat image = photo.clone(), plain = photo.clone(), mask = cv::Mat::zeros(40, 40, CV_8UC1);
    const PasteLook applied = i2sbseg::paste_cutout_realistic(image, mask, cut, 1, 8, 8, look(0, 0, true));
    const PasteLook unblurred = i2sbseg::paste_cutout_realistic(plain, mask, cut, 1, 8, 8, look(0, 0, false));
    EXPECT_EQ(unblurred.blur_sigma, 0);
    if (photo.data == smooth.data) {
      EXPECT_GE(applied.blur_sigma, 0.5);
      EXPECT_LE(applied.blur_sigma, 1.5);
      EXPECT_LT(mean_abs_laplacian(image(inside)), 0.5 * mean_abs_laplacian(plain(inside)));
    } else {
      EXPECT_EQ(applied.blur_sigma, 0);
      EXPECT_EQ(cv::norm(image, plain, cv::NORM_INF), 0);
    }
  }
}

TEST(Realism, NoiseIsMildAndFollowsTheRng) {
  const cv::Mat flat(64, 64, CV_8UC3, cv::Scalar::all(128));
  cv::Mat a = flat.clone(), b = flat.clone(), c = flat.clone();
  std::mt19937_64 r1(9), r2(9), r3(10);
  i2sbseg::add_image_noise(a, 2.0, r1);
  i2sbseg::add_image_noise(b, 2.0, r2);
  i2sbseg::add_image_noise(c, 2.0, r3);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(a, c, cv::NORM_INF), 0);
  cv::Scalar mean, sd;
  cv::meanStdDev(a.reshape(1), mean, sd);
  EXPECT_NEAR(mean[0], 128, 0.1);
  EXPECT_NEAR(sd[0], 2.0, 0.1);
  cv::Mat untouched = flat.clone();
  i2sbseg::add_image_noise(untouched, 0, r1);
  EXPECT_EQ(cv::norm(untouched, flat, cv::NORM_INF), 0);
}

// Off: the plain build, byte for byte. On: the same masks, lists and
// pastes, other images, the same bytes for a seed on any thread count;
// with distractors too.
TEST(ToolMakeDatasetRealism, OffIsThePlainBuildOnKeepsItsMasks) {
  const Sources s;
  for (const std::string extra : {"", "--distractors 2"}) {
    const std::string tag = extra.empty() ? "" : "-d";
    ToolResult r = run_tool(s.args("plain" + tag, extra));
    ASSERT_EQ(r.status, 0) << r.err;
    r = run_tool(s.args("on" + tag, extra + " --realism"));
    ASSERT_EQ(r.status, 0) << r.err;
    auto o = s.options("off-lib" + tag);  // the library, realism left at its default
    o.distractors = extra.empty() ? 0 : 2;
    i2sbseg::build_dataset(o);
    o.out_dir = s.out("on-lib" + tag).string();
    o.realism = true;
    o.threads = 1;
    i2sbseg::build_dataset(o);

    const auto plain = all_files(s.out("plain" + tag)), on = all_files(s.out("on" + tag));
    ASSERT_EQ(plain.size(), 2u * 16 + 4) << extra;
    EXPECT_TRUE(all_files(s.out("off-lib" + tag)) == plain) << extra << ": realism off should change nothing";
    EXPECT_TRUE(all_files(s.out("on-lib" + tag)) == on) << extra << ": --realism should give the same bytes";
    int differ = 0;
    for (const auto& [name, bytes] : plain) {
      ASSERT_TRUE(on.count(name)) << name;
      if (name.rfind("images/", 0) == 0) {
        differ += on.at(name) != bytes;
      } else if (name != "dataset.json") {
        EXPECT_TRUE(on.at(name) == bytes) << extra << ": " << name << " should not change with --realism";
      }
    }
    EXPECT_EQ(differ, 16) << extra << ": every image should change";

    const json plain_ds = json::parse(plain.at("dataset.json")), on_ds = json::parse(on.at("dataset.json"));
    EXPECT_FALSE(plain_ds["options"].contains("realism"));
    EXPECT_EQ(on_ds["options"]["realism"], true);
    EXPECT_EQ(without_realism(on_ds), plain_ds) << extra << ": the same draws but for the look";
    for (const json& image : on_ds["images"]) {
      EXPECT_GE(image["noise_sigma"].get<double>(), 0);
      EXPECT_LE(image["noise_sigma"].get<double>(), 3);
      for (const json& paste : image["pastes"]) {
        const json& l = paste["look"];
        EXPECT_GE(l["feather_sigma"].get<double>(), 0.5);
        EXPECT_LE(l["feather_sigma"].get<double>(), 1.0);
        EXPECT_GE(l["colour_fraction"].get<double>(), 0.2);
        EXPECT_LE(l["colour_fraction"].get<double>(), 0.5);
        EXPECT_LE(l["blur_sigma"].get<double>(), 1.5);
        for (const json& g : l["gain_rgb"]) EXPECT_TRUE(g.get<double>() >= 0.7 && g.get<double>() <= 1.3) << g;
      }
    }
  }
}
