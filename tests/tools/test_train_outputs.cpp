// SPDX-License-Identifier: MIT
// `i2sbseg train`: what it writes (v2 widths, folders, checkpoints, bundles
// from bundles, --direct-out, loss curves) and its later stages.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#ifdef I2SBSEG_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

#include <i2sbseg/bundle.h>
#include <i2sbseg/model.h>

#include "../common/run_tool.h"
#include "../common/tiny_dataset.h"
#include "../common/train_log.h"
#include "../common/temp_dir.h"
#include "train_flags.h"

using namespace i2sbseg;
using i2sbseg::testing::make_dataset;
using i2sbseg::testing::read_log;
using i2sbseg::testing::run_tool;
using i2sbseg::testing::TempDir;
using namespace train_test;

// v2's encoder widths reach the bundle (and change the crop rule: two
// context levels make the trunk stride 4, so crop 16 = 4 x 4 is enough).
TEST(Train, V2EncoderWidthsAreSetByFlags) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 4);
  std::string tiny = kTiny;
  tiny.replace(tiny.find("--crop 32"), 9, "--crop 16");
  const std::string widths = " --stem-channels 8 --context-widths 12 20 --fpn-channels 10";
  auto r = run_tool("train --data " + dir.file("d.pt") + " --out " + dir.file("m.i2sb") + tiny + kShort + widths +
                    " --classifier-iters 2 --bridge-iters 2");
  ASSERT_EQ(r.status, 0) << r.err;
  const Model m = load_model(dir.file("m.i2sb"));
  const V2Arch& a = m.config().v2;
  EXPECT_EQ(a.stem_channels, 8);
  EXPECT_EQ(a.context_widths, (std::vector<int>{12, 20}));
  EXPECT_EQ(a.fpn_channels, 10);
  r = run_tool("train --data " + dir.file("d.pt") + " --out " + dir.file("m.i2sb") + " --context-widths 12 0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--context-widths: "), std::string::npos) << r.err;
}

TEST(Train, TheOutputFolderIsCreated) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 4);
  const std::string out = dir.file("new/sub/m.i2sb");
  const auto r = run_tool("train --data " + dir.file("d.pt") + " --out " + out + kTiny +
                          kShort + " --classifier-iters 2 --bridge-iters 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NO_THROW(load_model(out));
  EXPECT_FALSE(read_log(out + ".log.jsonl").empty());
  // A folder that cannot be made (a file is in the way) is named.
  { std::ofstream(dir.file("file")) << "x"; }
  const auto bad = run_tool("train --data " + dir.file("d.pt") + " --out " + dir.file("file/sub/m.i2sb") + kTiny);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("cannot create the folder " + dir.file("file/sub")), std::string::npos) << bad.err;
}

TEST(Train, TheCheckpointIsRemovedOnSuccessUnlessKept) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 4);
  const std::string args = " --data " + dir.file("d.pt") + kTiny +
                           kShort + " --classifier-iters 4 --bridge-iters 4 --checkpoint-every 2";
  ASSERT_EQ(run_tool("train --out " + dir.file("a.i2sb") + args).status, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.file("a.i2sb")));
  int checkpoints = 0;  // it did write checkpoints along the way
  for (const auto& l : read_log(dir.file("a.i2sb.log.jsonl"))) checkpoints += l.value("event", "") == "checkpoint";
  EXPECT_GT(checkpoints, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.i2sb.ckpt")));
  ASSERT_EQ(run_tool("train --keep-checkpoint --out " + dir.file("b.i2sb") + args).status, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.file("b.i2sb.ckpt")));
}

TEST(Train, ARunFromABundleInheritsItsCropBatchAndThreads) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  // kTiny without its crop, batch and threads.
  std::string tiny = kTiny;
  for (const char* opt : {" --crop 32", " --batch 4", " --threads 1"}) tiny.erase(tiny.find(opt), std::strlen(opt));
  const std::string base = dir.file("base.i2sb");
  ASSERT_EQ(run_tool("train --data " + dir.file("d.pt") + " --out " + base + tiny + kV1 +
                     kShort + " --crop 16 --batch 3 --threads 1 --classifier-iters 2 --bridge-iters 2")
                .status,
            0);
  auto meta_of = [](const std::string& bundle) { return nlohmann::json::parse(load_model(bundle).config().metadata_json); };
  const std::string direct = " --direct --init " + base + " --data " + dir.file("d.pt") + tiny + " --direct-iters 2";
  auto r = run_tool("train --out " + dir.file("direct.i2sb") + direct);
  ASSERT_EQ(r.status, 0) << r.err;
  auto meta = meta_of(dir.file("direct.i2sb"));
  EXPECT_EQ(meta["crop"], 16) << meta.dump();
  EXPECT_EQ(meta["batch"], 3) << meta.dump();
  EXPECT_EQ(meta["threads"], 1) << meta.dump();
  EXPECT_EQ(meta["family"], "v1") << "the bundle's, not the default v2";
  // What the command line says wins.
  r = run_tool("train --out " + dir.file("given.i2sb") + direct + " --crop 24 --batch 2");
  ASSERT_EQ(r.status, 0) << r.err;
  meta = meta_of(dir.file("given.i2sb"));
  EXPECT_EQ(meta["crop"], 24) << meta.dump();
  EXPECT_EQ(meta["batch"], 2) << meta.dump();
}

TEST(Train, ADirectRunFromABridgeModelResumes) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string base = dir.file("base.i2sb");
  ASSERT_EQ(run_tool("train --data " + dir.file("d.pt") + " --out " + base + kTiny + kV1 + kShort +
                     " --classifier-iters 2 --bridge-iters 2")
                .status,
            0);
  // The init bundle has a bridge but the direct stage keeps no EMA of it:
  // its checkpoint has none, and resuming must not look for one.
  const std::string args = "train --direct --init " + base + " --data " + dir.file("d.pt") + " --out " +
                           dir.file("direct.i2sb") + kTiny + " --direct-iters 4 --checkpoint-every 2";
  ASSERT_EQ(run_tool(args + " --keep-checkpoint").status, 0);
  const auto r = run_tool(args + " --resume");
  ASSERT_EQ(r.status, 0) << r.err;
  int resumed_at = -1;
  for (const auto& l : read_log(dir.file("direct.i2sb.log.jsonl")))
    if (l.value("event", "") == "resumed") resumed_at = l["iter"].get<int>();
  EXPECT_EQ(resumed_at, 2);
  EXPECT_FALSE(load_model(dir.file("direct.i2sb")).has_bridge());
}

// --arch v2 (the default): the four v2 stages run and write a v2 bundle that
// info names and eval runs; --direct stops after the LR encoder and drops the bridge.
TEST(Train, ArchV2WritesAV2BundleThatInfoAndEvalRead) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string out = dir.file("v2.i2sb");
  const std::string v2 = " --arch v2 --latent-channels 4 --bridge-channels 8 --bridge-blocks 1 --crop 32 --batch 2"
                         " --threads 1 --log-every 5 --seed 3 --quiet --classifier-iters 5 --direct-iters 5"
                         " --e2e-iters 0";
  auto r = run_tool("train --data " + dir.file("d.pt") + " --out " + out + v2 + " --bridge-iters 5 --finetune-iters 5");
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, int> steps;
  for (const auto& l : read_log(out + ".log.jsonl"))
    if (!l.contains("event")) ++steps[l["stage"].get<std::string>()];
  for (const char* stage : {"classifier", "lr_encoder", "bridge", "finetune"}) EXPECT_EQ(steps[stage], 1) << stage;
  const Model m = load_model(out);
  EXPECT_EQ(m.family(), ModelFamily::kV2);
  EXPECT_TRUE(m.has_bridge());
  EXPECT_EQ(nlohmann::json::parse(m.config().metadata_json)["family"], "v2");

  r = run_tool("info " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("family         v2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HR encoder"), std::string::npos) << r.out;
  r = run_tool("eval " + out + " --data " + dir.file("d.pt") + " --nfe 1 2");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"classifier on HR", "bridge NFE 2", "mIoU"}) EXPECT_NE(r.out.find(s), std::string::npos) << s;

  r = run_tool("train --data " + dir.file("d.pt") + " --out " + dir.file("direct.i2sb") + v2 + " --direct");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(load_model(dir.file("direct.i2sb")).has_bridge());
  EXPECT_EQ(load_model(dir.file("direct.i2sb")).family(), ModelFamily::kV2);
}

// --direct-out: the direct baseline a bridge run passes through is the
// bundle a --direct run of the same options and seed makes, bit for bit
// (the same weights and config: the same masks); a resume past it does not
// write it again but says when it is missing.
TEST(Train, DirectOutWritesTheDirectBaselineOnTheWay) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  std::string loud = kTiny;
  loud.erase(loud.find(" --quiet"), 8);
  const std::string common = " --data " + dir.file("d.pt") + loud + " --classifier-iters 3 --direct-iters 3";
  const std::string on_the_way = dir.file("sub/direct.i2sb"), out = dir.file("m.i2sb");
  const std::string args = "train" + common + " --out " + out + " --direct-out " + on_the_way +
                           " --bridge-iters 4 --finetune-iters 0 --checkpoint-every 2";
  auto r = run_tool(args + " --keep-checkpoint");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("wrote " + on_the_way + " (direct baseline)"), std::string::npos) << r.err;
  r = run_tool("train" + common + " --direct --quiet --out " + dir.file("direct.i2sb"));
  ASSERT_EQ(r.status, 0) << r.err;

  EXPECT_TRUE(load_model(out).has_bridge());
  EXPECT_FALSE(load_model(on_the_way).has_bridge());
  const BundleContents a = read_bundle_file(on_the_way), b = read_bundle_file(dir.file("direct.i2sb"));
  EXPECT_EQ(a.config_json, b.config_json);  // metadata too: direct, only the stages that made it
  const auto meta = nlohmann::json::parse(load_model(on_the_way).config().metadata_json);
  EXPECT_EQ(meta["direct"], true);
  EXPECT_FALSE(meta["iterations"].contains("bridge")) << meta.dump();
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].data, b.tensors[i].data) << a.tensors[i].name;
  }

  // The kept checkpoint sits at bridge iteration 2, past the LR encoder.
  std::filesystem::remove(on_the_way);
  r = run_tool(args + " --resume --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: the direct baseline " + on_the_way + " is missing"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(on_the_way));
}

TEST(Train, DirectOutIsRefusedWhereItCannotBeWritten) {
  TempDir dir;  // checked before the dataset is read: no dataset needed
  const std::string base = "train --data " + dir.file("none") + " --out " + dir.file("m.i2sb") + " --direct-out ";
  for (const auto& [args, why] : {std::pair<std::string, std::string>{dir.file("d.i2sb") + " --direct", "a direct run"},
                                  {dir.file("d.i2sb") + " --arch v1", "only family v2"},
                                  {dir.path().string() + "/./m.i2sb", "would overwrite the model bundle"}}) {
    const auto r = run_tool(base + args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_NE(r.err.find("i2sbseg train: --direct-out: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("d.i2sb")));
  }
}

// The loss curves beside the log (LOG without .jsonl, + .png): one panel per
// stage, stacked, also after a resume; --no-plot skips them, and a picture
// that cannot be written is a warning, not a failed training.
TEST(Train, TheLossCurvesAreDrawnBesideTheLog) {
#ifndef I2SBSEG_HAVE_OPENCV
  GTEST_SKIP() << "built without OpenCV";
#else
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  std::string loud = kTiny;
  loud.erase(loud.find(" --quiet"), 8);
  const std::string common = " --data " + dir.file("d.pt") + loud + kShort + " --classifier-iters 5";
  auto stages = [](const std::string& log) {
    std::set<std::string> s;
    for (const auto& l : read_log(log))
      if (!l.contains("event")) s.insert(l["stage"].get<std::string>());
    return s.size();
  };
  // --direct: the classifier and the LR encoder.
  auto r = run_tool("train --direct --out " + dir.file("a.i2sb") + common);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string a_png = dir.file("a.i2sb.log.png");
  EXPECT_NE(r.err.find("wrote " + a_png + " (loss curves)"), std::string::npos) << r.err;
  ASSERT_EQ(stages(dir.file("a.i2sb.log.jsonl")), 2u);
  // With the bridge: three stages; --log elsewhere moves the picture along.
  const std::string b = "train --out " + dir.file("b.i2sb") + common + " --bridge-iters 5 --log " +
                        dir.file("logs/b.jsonl") + " --checkpoint-every 2 --keep-checkpoint";
  r = run_tool(b);
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_tool(b + " --resume");  // from bridge iteration 4: the log repeats iteration 5
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(stages(dir.file("logs/b.jsonl")), 3u);
  const cv::Mat pa = cv::imread(a_png), pb = cv::imread(dir.file("logs/b.png"));
  ASSERT_FALSE(pa.empty());
  ASSERT_FALSE(pb.empty());
  EXPECT_GT(pb.rows, pa.rows);
  EXPECT_EQ(pa.rows / 2, pb.rows / 3) << "panels of one height";
  EXPECT_EQ(pa.cols, pb.cols);

  r = run_tool("train --direct --no-plot --out " + dir.file("c.i2sb") + common);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.i2sb.log.png")));
  std::filesystem::create_directory(dir.file("d.i2sb.log.png"));  // in the way of the picture
  r = run_tool("train --direct --quiet --out " + dir.file("d.i2sb") + common);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: no loss curves: cannot write " + dir.file("d.i2sb.log.png")), std::string::npos)
      << r.err;
  EXPECT_NO_THROW(load_model(dir.file("d.i2sb")));
#endif
}

// --e2e-iters: a fifth stage trains exactly the bridge and the decoder (the
// encoders stay as the same run without it left them) on the segmentation
// loss through the sampler; the same seed otherwise gives the same model.
TEST(Train, TheEndToEndStageTrainsTheBridgeAndDecoderOnly) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string common = "train --data " + dir.file("d.pt") + kTiny +
                             " --classifier-iters 3 --direct-iters 3 --bridge-iters 3 --finetune-iters 2";
  ASSERT_EQ(run_tool(common + " --out " + dir.file("a.i2sb")).status, 0);
  std::string with_e2e = common;
  with_e2e.replace(with_e2e.find("--e2e-iters 0"), 13, "--e2e-iters 3");
  const auto r = run_tool(with_e2e + " --out " + dir.file("b.i2sb"));
  ASSERT_EQ(r.status, 0) << r.err;
  int e2e_lines = 0;
  for (const auto& l : read_log(dir.file("b.i2sb.log.jsonl")))
    if (l.value("stage", "") == "end_to_end") {
      ++e2e_lines;
      EXPECT_TRUE(std::isfinite(l["loss"].get<double>()));
    }
  EXPECT_GE(e2e_lines, 1);
  EXPECT_EQ(nlohmann::json::parse(load_model(dir.file("b.i2sb")).config().metadata_json)["iterations"]["end_to_end"], 3);

  const BundleContents a = read_bundle_file(dir.file("a.i2sb")), b = read_bundle_file(dir.file("b.i2sb"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  std::map<std::string, int> changed, same;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const std::string part = a.tensors[i].name.substr(0, a.tensors[i].name.find('.'));
    ++(a.tensors[i].data == b.tensors[i].data ? same : changed)[part];
  }
  EXPECT_EQ(changed.count("encoder"), 0u);
  EXPECT_EQ(changed.count("encoder_hr"), 0u);
  EXPECT_GT(changed["bridge"], 0);
  EXPECT_GT(changed["decoder"], 0);
}

TEST(Train, ClassWeightsCanBeTurnedOff) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string common = "train --data " + dir.file("d.pt") + kTiny + " --direct --classifier-iters 2 --direct-iters 1";
  ASSERT_EQ(run_tool(common + " --class-weights inverse-sqrt --out " + dir.file("w.i2sb")).status, 0);
  ASSERT_EQ(run_tool(common + " --out " + dir.file("n.i2sb")).status, 0);  // none, the default
  // Same seed and data: only the loss's weights differ, so the first loss does.
  const double w = read_log(dir.file("w.i2sb.log.jsonl")).front()["loss"].get<double>();
  const double n = read_log(dir.file("n.i2sb.log.jsonl")).front()["loss"].get<double>();
  EXPECT_NE(w, n);
  const auto r = run_tool(common + " --class-weights sqrt --out " + dir.file("x.i2sb"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--class-weights"), std::string::npos) << r.err;
}
