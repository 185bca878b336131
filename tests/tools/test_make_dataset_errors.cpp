// SPDX-License-Identifier: MIT
// `i2sbseg make-dataset`: its errors, unreadable inputs, and labelled
// backgrounds (the fixture: make_dataset_fixture.h).
#include "make_dataset_fixture.h"

using namespace make_dataset_test;

TEST(ToolMakeDataset, ToolErrorsNameTheFlag) {
  const SourceTree t;
  // Through the tool: the message on stderr with the flag at fault, exit status 1.
  const std::string bg = " --backgrounds " + t.backgrounds().string();
  const std::string rest = " --out " + t.out("e").string() + " --size 48 --count 4";
  ToolResult r = run_tool("make-dataset --cutouts " + t.out("nowhere").string() + bg + rest);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--cutouts: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(t.out("nowhere").string() + ": no such folder"), std::string::npos) << r.err;
  std::ofstream(t.out("bad.json")) << "{\"classes\": [";
  r = run_tool("make-dataset --cutouts " + t.cutouts().string() + bg + rest + " --classes " +
               t.out("bad.json").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--classes: " + t.out("bad.json").string()), std::string::npos) << r.err;
  const std::string good = "make-dataset --cutouts " + t.cutouts().string() + bg + rest;
  r = run_tool(good + " --val-fraction 1.5");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--val-fraction: validation fraction 1.5"), std::string::npos) << r.err;
  r = run_tool(good + " --min-cutouts 3 --max-cutouts 2");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--max-cutouts: "), std::string::npos) << r.err;
  r = run_tool(good + " --distractors 17");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--distractors: distractors per image 17: must be 0..16"), std::string::npos) << r.err;
  const fs::path only_symbols = t.out("only-symbols-skipped.json");  // and symbols/ never gives distractors
  std::ofstream(only_symbols) << R"({"classes": [{"name": "x", "color": [1, 2, 3]}], "folders": {"symbols": null},
                                     "other": "x"})";
  r = run_tool(good + " --distractors 1 --classes " + only_symbols.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--distractors: cutouts folder " + t.cutouts().string()), std::string::npos) << r.err;
}

TEST(ToolMakeDataset, ErrorsNameTheFieldFolderOrFile) {
  using i2sbseg::ErrorKind;
  const SourceTree t;
  fs::create_directories(t.out("empty"));
  auto o = options(t, "e");
  o.backgrounds_dirs = {t.out("empty").string()};
  expect_error(o, ErrorKind::kInvalidOption, "backgrounds_dirs", t.out("empty").string());
  o = options(t, "e");
  o.cutouts_dir = t.out("empty").string();
  expect_error(o, ErrorKind::kInvalidOption, "cutouts_dir", t.out("empty").string());
  o.cutouts_dir = t.out("nowhere").string();
  expect_error(o, ErrorKind::kNotFound, "cutouts_dir", t.out("nowhere").string());

  o = options(t, "e");
  o.size = 0;
  expect_error(o, ErrorKind::kInvalidOption, "size", "image size 0");
  o = options(t, "e");
  o.count = 0;
  expect_error(o, ErrorKind::kInvalidOption, "count", "image count 0");
  o = options(t, "e");
  o.val_fraction = 1.5;
  expect_error(o, ErrorKind::kInvalidOption, "val_fraction", "validation fraction 1.5");
  o = options(t, "e");
  o.min_cutouts = -1;
  expect_error(o, ErrorKind::kInvalidOption, "min_cutouts", "-1");
  o = options(t, "e");
  o.max_cutouts = 65;
  expect_error(o, ErrorKind::kInvalidOption, "max_cutouts", "65");

  std::ofstream(t.out("a-file")) << "x";
  o = options(t, "e");
  o.out_dir = (t.out("a-file") / "sub").string();
  expect_error(o, ErrorKind::kWriteFailed, "out_dir", o.out_dir);
}

// The mapping file's class list follows the one set of class-list rules;
// its errors name the file and the entry, and carry the classes_file field.
TEST(ToolMakeDataset, MappingFileErrorsNameTheFileAndEntry) {
  using i2sbseg::ErrorKind;
  const SourceTree t;
  auto o = options(t, "e");
  o.classes_file = t.out("missing.json").string();
  expect_error(o, ErrorKind::kNotFound, "classes_file", o.classes_file);
  const std::map<std::string, std::string> bad{
      {R"({"classes": [{"name": "cat", "color": [1, 2, 3]}], "folders": {"animals": "dog"}})", "folders.animals"},
      {R"({"classes": [{"name": "cat"}], "folders": {}})", "classes[0] (\"cat\")"},
      {R"({"classes": [{"name": "cat", "color": [1, 2, 300]}], "folders": {}})", "classes[0] (\"cat\")"},
      {R"({"classes": [{"name": "cat", "color": [1, 2, 3]}, {"name": "cat", "color": [1, 2, 3]}], "folders": {}})",
       "classes[1] (\"cat\"): the name is already used by classes[0]"},
      {R"({"classes": [{"name": "cat", "color": [1, 2, 3]}, {"name": "background", "color": [0, 0, 0]}],
           "folders": {}})",
       "classes[1]: \"background\" must be the first class"},
      {R"({"classes": [], "folders": {}})", "non-empty \"classes\""},
      {R"({"classes": [{"name": "cat", "color": [1, 2, 3]}]})", "\"folders\""},
      {"{\"classes\": [", "not valid JSON"},
  };
  int i = 0;
  for (const auto& [text, names] : bad) {
    const fs::path file = t.out("bad" + std::to_string(i++) + ".json");
    std::ofstream(file) << text;
    o.classes_file = file.string();
    expect_error(o, ErrorKind::kBadFile, "classes_file", file.string() + ": ");
    EXPECT_NE(error_of(o).message.find(names), std::string::npos) << error_of(o).message;
  }
}

TEST(ToolMakeDataset, UnreadableImagesAreSkippedWithAWarning) {
  const SourceTree t;
  std::ofstream(t.cutouts() / "animals" / "broken.png") << "not a png";
  std::ofstream(t.backgrounds() / "broken.jpg") << "not a jpeg";
  std::ostringstream log;
  auto o = options(t, "u");
  o.log = &log;
  const i2sbseg::DatasetSummary s = i2sbseg::build_dataset(o);
  EXPECT_NE(log.str().find("broken.png"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("broken.jpg"), std::string::npos) << log.str();
  EXPECT_EQ(s.categories.at("animals").unusable, 1);
  EXPECT_EQ(s.categories.at("animals").kept, 4);
  EXPECT_EQ(s.train.images + s.val.images, 24);
}

// --labelled-backgrounds: a dataset folder's photos as backgrounds with
// their labels. Replaying each record (the labels' crop, nearest, mapped by
// name; then the pastes) gives the mask exactly; 255 stays unlabelled; a
// class with labelled pixels but no cutouts is kept; each photo stays in
// its folder's split; a class the mapping lacks is refused by name.
TEST(ToolMakeDataset, LabelledBackgroundsKeepTheirLabelsUnderThePastes) {
  const SourceTree t;
  const fs::path lab = t.out("labelled");
  std::ofstream(t.out("map.json")) << R"({"classes": [{"name": "background", "color": [0, 0, 0]},
                                                     {"name": "animal", "color": [1, 2, 3]},
                                                     {"name": "vegetation", "color": [4, 5, 6]}],
                                         "folders": {"animals": "animal"}})";
  fs::create_directories(lab);
  std::ofstream(lab / "classes.json") << R"({"classes": [{"name": "background", "color": [0, 0, 0]},
                                                          {"name": "vegetation", "color": [9, 9, 9]}]})";
  for (int i = 0; i < 3; ++i) {
    const std::string stem = "lb" + std::to_string(i);
    write(lab / "images" / (stem + ".png"), make_noise(100, 90, 80 + i));
    cv::Mat m = cv::Mat::zeros(90, 100, CV_8UC1);
    m(cv::Rect(0, 0, 50, 90)).setTo(1);
    m(cv::Rect(60, 0, 40, 40)).setTo(255);
    write(lab / "masks" / (stem + ".png"), m);
  }
  std::ofstream(lab / "train.txt") << "lb0\nlb1\n";
  std::ofstream(lab / "val.txt") << "lb2\n";
  auto o = options(t, "d");
  o.backgrounds_dirs.clear();
  o.labelled_backgrounds_dirs = {lab.string()};
  o.classes_file = t.out("map.json").string();
  o.max_cutouts = 1;
  const json ds = build(o);
  const auto idx = class_indices(t.out("d"));
  ASSERT_EQ(idx.count("vegetation"), 1u) << "kept: labelled pixels, though no cutouts";
  const int veg = idx.at("vegetation"), max_side = ds["options"]["cutout_max_side"];
  EXPECT_EQ(ds["options"]["labelled_backgrounds"][0].get<std::string>(), lab.string());
  std::int64_t veg_px = 0, ignored = 0;
  for (const json& rec : ds["images"]) {
    const std::string stem = rec["stem"], file = rec["background"]["file"];
    EXPECT_NE(file.find(rec["split"] == "val" ? "lb2" : "lb"), std::string::npos);
    if (rec["split"] == "train") {
      EXPECT_EQ(file.find("lb2"), std::string::npos) << stem;
    }
    const fs::path mask_file = lab / "masks" / fs::path(file).filename();
    const cv::Mat labels = cv::imread(mask_file.string(), cv::IMREAD_UNCHANGED);
    cv::Mat mapped = labels.clone();
    mapped.setTo(veg, labels == 1);
    const json& bg = rec["background"];
    const int side = bg["side"];
    cv::Mat expect, scratch(48, 48, CV_8UC3);
    cv::resize(mapped(cv::Rect(bg["x"], bg["y"], side, side)), expect, cv::Size(48, 48), 0, 0, cv::INTER_NEAREST);
    if (bg["flipped"].get<bool>()) cv::flip(expect, expect, 1);
    for (const json& p : rec["pastes"])
      i2sbseg::paste_cutout(scratch, expect, rerender_cutout(t.cutouts(), p, max_side),
                            idx.at(p["class"].get<std::string>()), p["x"], p["y"]);
    const cv::Mat mask = cv::imread((t.out("d") / "masks" / (stem + ".png")).string(), cv::IMREAD_UNCHANGED);
    EXPECT_EQ(cv::countNonZero(expect != mask), 0) << stem;
    veg_px += cv::countNonZero(mask == veg);
    ignored += cv::countNonZero(mask == 255);
  }
  EXPECT_GT(veg_px, 0);
  EXPECT_GT(ignored, 0);

  std::ofstream(lab / "classes.json") << R"({"classes": [{"name": "background", "color": [0, 0, 0]},
                                                          {"name": "sky", "color": [9, 9, 9]}]})";
  o.out_dir = t.out("d2").string();
  const Caught c = error_of(o);
  EXPECT_EQ(c.field, "labelled_backgrounds_dirs") << c.message;
  EXPECT_NE(c.message.find("\"sky\""), std::string::npos) << c.message;
}
