// SPDX-License-Identifier: MIT
// `i2sbseg make-dataset` and the builder's pure pieces, on a tiny synthetic
// cutout/background tree (noise cutouts pass the photo test).
#include "make_dataset_fixture.h"

using namespace make_dataset_test;

TEST(DatasetBuilder, PhotoFilter) {
  EXPECT_TRUE(i2sbseg::is_photograph(make_cutout(70, 50, 1), 1500));
  EXPECT_FALSE(i2sbseg::is_photograph(make_cutout(70, 50, 1, true), 1500));
  EXPECT_EQ(i2sbseg::count_opaque_colours(make_cutout(70, 50, 1, true)), 1);
  // Many colours but large flat fills: a drawing.
  cv::Mat stripes = make_cutout(200, 200, 2);
  stripes(cv::Rect(0, 0, 200, 150)).setTo(cv::Scalar(10, 20, 30, 255));
  EXPECT_GT(i2sbseg::count_opaque_colours(stripes), 1500);
  EXPECT_FALSE(i2sbseg::is_photograph(stripes, 1500));
}

TEST(DatasetBuilder, PasteSetsClassWhereAlphaAboveHalfAndOccludes) {
  cv::Mat image(6, 8, CV_8UC3, cv::Scalar(10, 20, 30));
  cv::Mat mask(6, 8, CV_8UC1, cv::Scalar(9));
  cv::Mat cut(4, 4, CV_8UC4);
  const int alphas[4] = {0, 127, 128, 255};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      cut.at<cv::Vec4b>(y, x) = cv::Vec4b(200, 100, 50, static_cast<uchar>(alphas[(x + y) % 4]));
  const cv::Mat before = image.clone();
  i2sbseg::paste_cutout(image, mask, cut, 3, -1, 3);  // one column left of the image, one row below it
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) {
      const int cx = x + 1, cy = y - 3;
      const bool inside = cx >= 0 && cx < 4 && cy >= 0 && cy < 4;
      const int a = inside ? cut.at<cv::Vec4b>(cy, cx)[3] : 0;
      EXPECT_EQ(mask.at<uchar>(y, x), a > 127 ? 3 : 9) << x << "," << y;
      if (a == 0) {
        EXPECT_EQ(image.at<cv::Vec3b>(y, x), before.at<cv::Vec3b>(y, x)) << x << "," << y;
      } else if (a == 255) {
        EXPECT_EQ(image.at<cv::Vec3b>(y, x), cv::Vec3b(200, 100, 50)) << x << "," << y;
      }
    }
  // A second, opaque paste on top takes over the mask where it covers.
  i2sbseg::paste_cutout(image, mask, cv::Mat(2, 2, CV_8UC4, cv::Scalar(1, 2, 3, 255)), 5, 0, 3);
  for (int y = 3; y < 5; ++y)
    for (int x = 0; x < 2; ++x) {
      EXPECT_EQ(mask.at<uchar>(y, x), 5);
      EXPECT_EQ(image.at<cv::Vec3b>(y, x), cv::Vec3b(1, 2, 3));
    }
  EXPECT_EQ(mask.at<uchar>(3, 2), 3);  // the first paste's opaque pixel beside the second
}

TEST(ToolMakeDataset, SameSeedSameBytesOtherSeedOtherImages) {
  const SourceTree t;
  make(t, "a", "--seed 7");  // the tool, 2 threads
  auto o = options(t, "b");  // the library, 1 thread
  o.seed = 7;
  o.threads = 1;
  build(o);
  o.out_dir = t.out("c").string();
  o.seed = 8;
  build(o);
  const auto a = all_files(t.out("a")), b = all_files(t.out("b")), c = all_files(t.out("c"));
  ASSERT_EQ(a.size(), 2u * 24 + 4);  // images, masks, classes.json, train.txt, val.txt, dataset.json
  for (const auto& [name, bytes] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(bytes == b.at(name)) << name << " differs between runs with the same seed";
  }
  int differ = 0;
  for (const auto& [name, bytes] : a)
    if (name.rfind("images/", 0) == 0) differ += c.count(name) && c.at(name) != bytes;
  EXPECT_GE(differ, 20) << "another seed should give other images";
  // --distractors 0 is the dataset without the flag; with distractors the
  // same seed still gives the same bytes on any thread count.
  ToolResult r = run_tool(t.args("z", "--seed 7 --distractors 0"));
  EXPECT_EQ(r.out.find("distractor"), std::string::npos) << r.err << r.out;
  EXPECT_TRUE(all_files(t.out("z")) == a) << "--distractors 0 should change nothing";
  r = run_tool(t.args("d", "--seed 7 --distractors 2"));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* line : {"  household      -> distractor    2 |", "  symbols        skipped", "  distractors: "})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " not in\n" << r.out;
  o.out_dir = t.out("e").string();
  o.seed = 7;
  o.distractors = 2;
  build(o);
  const auto d = all_files(t.out("d"));
  EXPECT_TRUE(d == all_files(t.out("e"))) << "the same seed and --distractors should give the same bytes";
  differ = 0;
  for (const auto& [name, bytes] : a) differ += name.rfind("images/", 0) == 0 && d.at(name) != bytes;
  EXPECT_GE(differ, 10) << "distractors should change the images";
  // A rerun over an existing folder with fewer images leaves no stale files.
  o.out_dir = t.out("a").string();
  o.count = 10;
  build(o);
  EXPECT_EQ(all_files(t.out("a")).size(), 2u * 10 + 4);
}

TEST(ToolMakeDataset, MasksMatchTheRecordedPastesExactly) {
  const SourceTree t;
  auto o = options(t, "d");
  o.min_cutouts = 2;
  const json ds = build(o);
  const auto idx = class_indices(t.out("d"));
  const int max_side = ds["options"]["cutout_max_side"];
  ASSERT_EQ(ds["images"].size(), 24u);
  int checked_last = 0;
  for (const json& rec : ds["images"]) {
    const std::string stem = rec["stem"];
    const cv::Mat mask = cv::imread((t.out("d") / "masks" / (stem + ".png")).string(), cv::IMREAD_UNCHANGED);
    const cv::Mat image = cv::imread((t.out("d") / "images" / (stem + ".png")).string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(mask.type(), CV_8UC1) << stem;
    ASSERT_EQ(mask.size(), cv::Size(48, 48)) << stem;
    ASSERT_EQ(image.type(), CV_8UC3) << stem;
    ASSERT_EQ(image.size(), cv::Size(48, 48)) << stem;
    ASSERT_GE(rec["pastes"].size(), 2u);
    // Replaying every paste in order (later ones over earlier) gives the mask.
    cv::Mat expect = cv::Mat::zeros(48, 48, CV_8UC1), scratch(48, 48, CV_8UC3);
    cv::Mat last_alpha;
    for (const json& p : rec["pastes"]) {
      const cv::Mat cut = rerender_cutout(t.cutouts(), p, max_side);
      i2sbseg::paste_cutout(scratch, expect, cut, idx.at(p["class"].get<std::string>()), p["x"], p["y"]);
      last_alpha = cut;
    }
    EXPECT_EQ(cv::countNonZero(expect != mask), 0) << stem;
    // The last paste is unoccluded: its class wherever its alpha > 127.
    const json& p = rec["pastes"].back();
    const int x0 = p["x"], y0 = p["y"];
    for (int y = 0; y < last_alpha.rows; ++y)
      for (int x = 0; x < last_alpha.cols; ++x) {
        const int ix = x0 + x, iy = y0 + y;
        if (ix < 0 || iy < 0 || ix >= 48 || iy >= 48 || last_alpha.at<cv::Vec4b>(y, x)[3] <= 127) continue;
        ASSERT_EQ(mask.at<uchar>(iy, ix), idx.at(p["class"].get<std::string>())) << stem << " at " << ix << "," << iy;
        ++checked_last;
      }
  }
  EXPECT_GT(checked_last, 1000);
}

// --paste-scale: every paste's longest side is the drawn share of the image
// side (before the quarter that may hang over an edge), and dataset.json
// records the range; the default range leaves dataset.json without the entry.
TEST(ToolMakeDataset, PasteScaleBoundsEveryPastesLongestSide) {
  const SourceTree t;
  auto o = options(t, "small");
  o.paste_scale_min = 0.25;
  o.paste_scale_max = 0.5;
  const json ds = build(o);
  int pastes = 0, below_half_range = 0;
  for (const json& rec : ds["images"])
    for (const json& p : rec["pastes"]) {
      const int longest = std::max(p["width"].get<int>(), p["height"].get<int>());
      EXPECT_GE(longest, 12) << p;  // 48 * 0.25
      EXPECT_LE(longest, 24) << p;
      below_half_range += longest <= 18;
      ++pastes;
    }
  EXPECT_GT(pastes, 20);
  EXPECT_GT(below_half_range, 0);  // drawn over the range, not pinned to one end
  EXPECT_LT(below_half_range, pastes);
  EXPECT_EQ(ds["options"]["paste_scale"], json::array({0.25, 0.5}));
  const json plain = build(options(t, "plain"));
  EXPECT_FALSE(plain["options"].contains("paste_scale"));

  o = options(t, "e");
  o.paste_scale_min = 0.5;
  o.paste_scale_max = 0.4;
  expect_error(o, i2sbseg::ErrorKind::kInvalidOption, "paste_scale", "paste scale 0.5..0.4");
  o.paste_scale_min = 0;
  expect_error(o, i2sbseg::ErrorKind::kInvalidOption, "paste_scale", "paste scale 0..0.4");
  const ToolResult r = run_tool(t.args("e", "--paste-scale 0.3 3"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--paste-scale: paste scale 0.3..3: must be 0 < MIN <= MAX <= 2"), std::string::npos) << r.err;
}

// Distractors are pasted like cutouts, labelled background, interleaved with the class pastes:
// replaying the records over the background crop gives the image and the mask exactly.
TEST(ToolMakeDataset, DistractorsArePastedAsBackgroundAndOcclude) {
  const SourceTree t;
  auto o = options(t, "x");
  o.distractors = 2;
  const i2sbseg::DatasetSummary s = i2sbseg::build_dataset(o);
  const fs::path out = t.out("x");
  const json ds = read_json(out / "dataset.json");
  const auto idx = class_indices(out);
  EXPECT_EQ(ds["categories"]["household"]["distractors"], true);
  EXPECT_EQ(s.train.distractors + s.val.distractors, 2);  // h0, h1
  std::set<long> per_image;  // how many distractors images got
  std::string orders;       // per image, 'd' for a distractor and 'c' for a class paste, in paste order
  int on_top = 0;
  for (const json& rec : ds["images"]) {
    const std::string png = rec["stem"].get<std::string>() + ".png";
    const cv::Mat mask = cv::imread((out / "masks" / png).string(), cv::IMREAD_UNCHANGED);
    const cv::Mat image = cv::imread((out / "images" / png).string(), cv::IMREAD_UNCHANGED);
    const cv::Mat crop = background_crop(rec["background"], 48);
    cv::Mat expect_image = crop.clone(), expect_mask = cv::Mat::zeros(48, 48, CV_8UC1);
    cv::Mat top = expect_mask.clone(), scratch = crop.clone();  // top: 1 where a distractor is on top
    std::string order;
    for (const json& p : rec["pastes"]) {
      const bool distractor = p.value("distractor", false);
      EXPECT_EQ(p["class"] == "background", distractor) << png;
      const cv::Mat cut = rerender_cutout(t.cutouts(), p, ds["options"]["cutout_max_side"]);
      i2sbseg::paste_cutout(expect_image, expect_mask, cut, idx.at(p["class"].get<std::string>()), p["x"], p["y"]);
      i2sbseg::paste_cutout(scratch, top, cut, distractor ? 1 : 0, p["x"], p["y"]);
      order += distractor ? 'd' : 'c';
    }
    orders += order + " ";
    per_image.insert(std::count(order.begin(), order.end(), 'd'));
    EXPECT_EQ(cv::countNonZero(expect_mask != mask), 0) << png;
    EXPECT_EQ(cv::norm(expect_image, image, cv::NORM_INF), 0) << png;
    // Where a distractor is on top: background in the mask, its pixels in the image.
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) {
        if (!top.at<uchar>(y, x)) continue;
        ASSERT_EQ(mask.at<uchar>(y, x), 0) << png << " at " << x << "," << y;
        on_top += image.at<cv::Vec3b>(y, x) != crop.at<cv::Vec3b>(y, x);
      }
  }
  EXPECT_EQ(per_image, (std::set<long>{0, 1, 2}));
  EXPECT_NE(orders.find("dc"), std::string::npos) << "some class pastes should go over distractors: " << orders;
  EXPECT_NE(orders.find("cd"), std::string::npos) << "some distractors should go over class pastes: " << orders;
  EXPECT_GT(on_top, 1000);
}

TEST(ToolMakeDataset, ValidationUsesOnlyValidationCutoutsDistractorsAndBackgrounds) {
  const SourceTree t;
  auto o = options(t, "v");
  o.distractors = 2;
  const json ds = build(o);
  std::map<std::string, std::set<std::string>> cutouts, distractors, backgrounds;
  for (const char* split : {"train", "val"}) {
    for (const json& c : ds[split]["cutouts"]) cutouts[split].insert(c["file"].get<std::string>());
    for (const json& c : ds[split]["distractors"]) distractors[split].insert(c.get<std::string>());
    for (const json& b : ds[split]["backgrounds"]) backgrounds[split].insert(b.get<std::string>());
    EXPECT_FALSE(cutouts[split].empty()) << split;
    EXPECT_EQ(distractors[split].size(), 1u) << split;
    EXPECT_FALSE(backgrounds[split].empty()) << split;
  }
  for (const auto& c : cutouts["val"]) EXPECT_FALSE(cutouts["train"].count(c)) << c;
  for (const auto& c : distractors["val"]) EXPECT_FALSE(distractors["train"].count(c)) << c;
  for (const auto& b : backgrounds["val"]) EXPECT_FALSE(backgrounds["train"].count(b)) << b;
  for (const auto& [split, files] : distractors)  // h0 and h1: symbols/ never gives distractors
    for (const auto& f : files) EXPECT_EQ(f.rfind("household/h", 0), 0u) << f;
  // Every class with 2+ cutouts has some in val (animal 4, vehicle 2).
  for (const char* cls : {"animal", "vehicle"})
    EXPECT_GE(ds["val"]["cutouts_per_class"][cls].get<int>(), 1) << cls;

  const auto train = read_lines(t.out("v") / "train.txt"), val = read_lines(t.out("v") / "val.txt");
  EXPECT_EQ(val.size(), 6u);  // round(24 * 0.25)
  EXPECT_EQ(train.size(), 18u);
  std::set<std::string> stems(train.begin(), train.end());
  for (const auto& s : val) EXPECT_TRUE(stems.insert(s).second) << s << " is in both lists";
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(t.out("v") / "images")) files.insert(e.path().stem().string());
  EXPECT_EQ(stems, files);
  EXPECT_TRUE(stems.count("train_00000") && stems.count("val_00000"));

  for (const json& rec : ds["images"]) {
    const std::string stem = rec["stem"];
    const std::string split = std::set<std::string>(val.begin(), val.end()).count(stem) ? "val" : "train";
    EXPECT_EQ(stem.rfind(split + "_", 0), 0u) << stem;
    EXPECT_TRUE(backgrounds[split].count(rec["background"]["file"].get<std::string>())) << stem;
    for (const json& p : rec["pastes"])
      EXPECT_TRUE((p.value("distractor", false) ? distractors : cutouts)[split].count(p["cutout"].get<std::string>()))
          << stem;
  }
}

TEST(ToolMakeDataset, SkipsSymbolsDrawingsMirrorsCartoonsAndSmallBackgrounds) {
  const SourceTree t;
  const json ds = build(options(t, "s"));
  std::set<std::string> used;
  for (const char* split : {"train", "val"})
    for (const json& c : ds[split]["cutouts"]) used.insert(c["file"].get<std::string>());
  EXPECT_EQ(used, (std::set<std::string>{"animals/a0.png", "animals/a1.png", "animals/a2.png", "animals/a3.png",
                                         "vehicles/cars/v0.png",
                                         "vehicles/cars/v1.png"}));
  const json& cat = ds["categories"];
  EXPECT_EQ(cat["animals"]["kept"], 4);
  EXPECT_EQ(cat["animals"]["drawings"], 1);
  EXPECT_EQ(cat["animals"]["mirrored"], 1);
  EXPECT_EQ(cat["vehicles"]["cartoons"], 1);
  EXPECT_EQ(cat["household"]["class"], "");  // no "object" class by default
  EXPECT_EQ(cat["household"]["kept"], 0);
  EXPECT_EQ(cat["symbols"]["class"], "");
  EXPECT_EQ(cat["symbols"]["kept"], 0);
  EXPECT_EQ(ds["skipped_backgrounds"]["screenshot"], 1);
  EXPECT_EQ(ds["skipped_backgrounds"]["smaller than the image size"], 1);
  for (const json& rec : ds["images"]) {
    const std::string bg = rec["background"]["file"];
    EXPECT_EQ(bg.find("tiny"), std::string::npos);
    EXPECT_EQ(bg.find("screenshot"), std::string::npos);
  }
}

TEST(ToolMakeDataset, ClassesJsonListsBackgroundFirstAndCoversTheMasks) {
  const SourceTree t;
  build(options(t, "k"));
  const json classes = read_json(t.out("k") / "classes.json")["classes"];
  // Default mapping; plant and food have no cutouts here and are left out,
  // household is skipped.
  ASSERT_EQ(classes.size(), 3u);
  EXPECT_EQ(classes[0]["name"], "background");
  EXPECT_EQ(classes[0]["color"], json::array({0, 0, 0}));
  EXPECT_EQ(classes[1]["name"], "animal");
  EXPECT_EQ(classes[2]["name"], "vehicle");
  std::set<int> seen;
  for (const auto& e : fs::directory_iterator(t.out("k") / "masks")) {
    const cv::Mat m = cv::imread(e.path().string(), cv::IMREAD_UNCHANGED);
    for (auto it = m.begin<uchar>(); it != m.end<uchar>(); ++it) seen.insert(*it);
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2}));

  // A --classes file renames and drops folders (household is not listed).
  std::ofstream(t.out("classes.json")) << R"({"classes": [{"name": "beast", "color": [1, 2, 3]},
                                                         {"name": "car", "color": [4, 5, 6]}],
                                             "folders": {"animals": "beast", "vehicles": "car"}})";
  auto o = options(t, "m");
  o.classes_file = t.out("classes.json").string();
  const json ds = build(o);
  const json mapped = read_json(t.out("m") / "classes.json")["classes"];
  ASSERT_EQ(mapped.size(), 3u);
  EXPECT_EQ(mapped[0]["name"], "background");
  EXPECT_EQ(mapped[1]["name"], "beast");
  EXPECT_EQ(mapped[2]["color"], json::array({4, 5, 6}));
  EXPECT_EQ(ds["categories"]["household"]["class"], "");
  for (const auto& e : fs::directory_iterator(t.out("m") / "masks")) {
    double hi = 0;
    cv::minMaxLoc(cv::imread(e.path().string(), cv::IMREAD_UNCHANGED), nullptr, &hi);
    EXPECT_LT(hi, 3) << e.path();
  }
}

// A sub-folder's entry overrides its folder's: vehicles/cars/ becomes
// "beast" (or is skipped) while vehicles/ says "car"; the deepest listed
// folder on a cutout's path decides.
TEST(ToolMakeDataset, SubFolderEntriesOverrideTheirFolder) {
  const SourceTree t;
  auto classes_of = [&](const std::string& name, const std::string& cars) {
    std::ofstream(t.out(name + ".json")) << R"({"classes": [{"name": "beast", "color": [1, 2, 3]},
                                                           {"name": "car", "color": [4, 5, 6]}],
                                               "folders": {"animals": "beast", "vehicles": "car",
                                                           "vehicles/cars": )" + cars + "}}";
    auto o = options(t, name);
    o.classes_file = t.out(name + ".json").string();
    const json ds = build(o);
    std::map<std::string, std::string> by_file;
    for (const char* split : {"train", "val"})
      for (const auto& c : ds[split]["cutouts"]) by_file[c["file"].get<std::string>()] = c["class"].get<std::string>();
    return by_file;
  };
  const auto beast = classes_of("sub", R"("beast")");
  EXPECT_EQ(beast.at("vehicles/cars/v0.png"), "beast");
  EXPECT_EQ(beast.at("vehicles/cars/v1.png"), "beast");
  EXPECT_EQ(beast.at("animals/a1.png"), "beast");
  const auto skipped = classes_of("skip", "null");
  EXPECT_EQ(skipped.count("vehicles/cars/v0.png"), 0u);
  EXPECT_EQ(skipped.count("vehicles/cars/v1.png"), 0u);
  EXPECT_EQ(skipped.at("animals/a1.png"), "beast");
}
