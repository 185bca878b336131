// SPDX-License-Identifier: MIT
// `i2sbseg train` and `i2sbseg eval` end to end on a tiny packed dataset:
// the loss falls, resume continues exactly, interruption keeps a checkpoint,
// a NaN loss stops training, --direct-out writes the direct baseline on the
// way, and eval reports every row.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

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
using i2sbseg::testing::read_text;
using i2sbseg::testing::start_tool;
using i2sbseg::testing::wait_tool;
using i2sbseg::testing::run_tool;
using i2sbseg::testing::TempDir;

using namespace train_test;

// v1: eval's rows of a v1 model, and v1's direct baseline from a bundle.
TEST(Train, LossFallsAndTheBundleWorks) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 16);
  const std::string out = dir.file("m.i2sb");
  const auto r = run_tool("train --data " + dir.file("d.pt") + " --out " + out + kTiny + kV1 +
                          " --classifier-iters 80 --bridge-iters 40 --finetune-iters 10");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto log = read_log(out + ".log.jsonl");
  std::map<std::string, std::vector<double>> losses;
  for (const auto& l : log) {
    if (l.contains("event")) continue;
    losses[l["stage"]].push_back(l["loss"].get<double>());
    EXPECT_GT(l["images_per_s"].get<double>(), 0);
  }
  ASSERT_EQ(losses["classifier"].size(), 16u);
  EXPECT_LT(losses["classifier"].back(), 0.6 * losses["classifier"].front());
  ASSERT_EQ(losses["bridge"].size(), 8u);
  ASSERT_EQ(losses["finetune"].size(), 2u);
  for (double v : losses["bridge"]) EXPECT_TRUE(std::isfinite(v));

  Model m = load_model(out);
  EXPECT_TRUE(m.has_bridge());
  EXPECT_EQ(m.config().classes[2].name, "green");
  EXPECT_NE(m.config().latent_std[0], 1.0f);  // measured latent statistics
  const auto meta = nlohmann::json::parse(m.config().metadata_json);
  EXPECT_EQ(meta["iterations"]["classifier"], 80);

  const auto e = run_tool("eval " + out + " --data " + dir.file("d.pt") + " --nfe 1 2 4 10 --json-out " + dir.file("e.json"));
  ASSERT_EQ(e.status, 0) << e.err;
  for (const char* s : {"classifier on HR", "classifier on LR-up", "oracle", "bridge NFE 4", "mIoU", "green"})
    EXPECT_NE(e.out.find(s), std::string::npos) << s << "\n" << e.out;
  std::ifstream jf(dir.file("e.json"));
  const auto j = nlohmann::json::parse(jf);
  EXPECT_EQ(j["images"], 4);
  for (const char* row : {"classifier_hr", "classifier_lr", "oracle"}) {
    const double miou = j[row]["miou"].get<double>(), acc = j[row]["pixel_acc"].get<double>();
    EXPECT_GE(miou, 0.0);
    EXPECT_LE(miou, 1.0);
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
  }
  for (const char* nfe : {"1", "2", "4", "10"}) EXPECT_TRUE(j["bridge"].contains(nfe)) << nfe;
  // The classifier learnt something on these easy squares.
  EXPECT_GT(j["classifier_hr"]["pixel_acc"].get<double>(), 0.7);
  EXPECT_EQ(j["oracle"]["miou"], j["classifier_hr"]["miou"]);  // the decoder reads only the latent

  // The direct baseline: starts from the model (and its family, v1), writes a bundle without a bridge.
  const std::string direct = dir.file("direct.i2sb");
  const auto d = run_tool("train --direct --init " + out + " --data " + dir.file("d.pt") + " --out " + direct + kTiny +
                          " --direct-iters 10");
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_FALSE(load_model(direct).has_bridge());
  const auto eb = run_tool("eval " + out + " --data " + dir.file("d.pt") + " --json --nfe 2 --baseline " + direct);
  ASSERT_EQ(eb.status, 0) << eb.err;
  const auto jb = nlohmann::json::parse(eb.out);
  EXPECT_TRUE(jb.contains("baseline"));
  EXPECT_EQ(jb["bridge"].size(), 1u);
  // A bundle without a bridge evaluates as a plain segmenter.
  const auto ed = run_tool("eval " + direct + " --data " + dir.file("d.pt") + " --split all --json");
  ASSERT_EQ(ed.status, 0) << ed.err;
  EXPECT_EQ(nlohmann::json::parse(ed.out)["images"], 16);
  EXPECT_TRUE(nlohmann::json::parse(ed.out)["bridge"].empty());
}

TEST(Train, TheSameSeedGivesTheSameModel) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string args = " --data " + dir.file("d.pt") + kTiny + kShort + " --classifier-iters 5 --bridge-iters 5";
  ASSERT_EQ(run_tool("train --out " + dir.file("a.i2sb") + args).status, 0);
  ASSERT_EQ(run_tool("train --out " + dir.file("b.i2sb") + args).status, 0);
  std::string other_seed = args;
  other_seed.replace(other_seed.find("--seed 7"), 8, "--seed 8");
  ASSERT_EQ(run_tool("train --out " + dir.file("c.i2sb") + other_seed).status, 0);
  const BundleContents a = read_bundle_file(dir.file("a.i2sb")), b = read_bundle_file(dir.file("b.i2sb")),
                       c = read_bundle_file(dir.file("c.i2sb"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) EXPECT_EQ(a.tensors[i].data, b.tensors[i].data) << a.tensors[i].name;
  EXPECT_NE(a.tensors[0].data, c.tensors[0].data) << "another seed, another initialisation";
}

TEST(Train, ResumeContinuesExactlyWhereTheCheckpointWas) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string args = " --data " + dir.file("d.pt") + kTiny + kShort + " --classifier-iters 20 --bridge-iters 20 --checkpoint-every 10";
  const auto full = run_tool("train --keep-checkpoint --out " + dir.file("a.i2sb") + args);
  ASSERT_EQ(full.status, 0) << full.err;
  // The last checkpoint of that run sits at bridge iteration 10; resuming
  // from it must retrace the same steps (weights, optimizer, EMA, RNG).
  std::filesystem::copy_file(dir.file("a.i2sb.ckpt"), dir.file("b.i2sb.ckpt"));
  const auto resumed = run_tool("train --resume --out " + dir.file("b.i2sb") + args);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  const BundleContents a = read_bundle_file(dir.file("a.i2sb")), b = read_bundle_file(dir.file("b.i2sb"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) EXPECT_EQ(a.tensors[i].data, b.tensors[i].data) << a.tensors[i].name;
  const auto log = read_log(dir.file("b.i2sb.log.jsonl"));
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0]["event"], "resumed");
  EXPECT_EQ(log[0]["stage"], "bridge");
  EXPECT_EQ(log[0]["iter"], 10);
  EXPECT_EQ(log[1]["stage"], "bridge");
  EXPECT_EQ(log[1]["iter"], 15);
}

// --classifier-ema: the classifier and LR-encoder stages end on their
// weights' EMA (another model than the last iterate), and a checkpoint in
// the classifier stage carries that EMA: resuming retraces the same bundle.
TEST(Train, ClassifierEmaIsCheckpointedAndChangesTheModel) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string args =
      " --data " + dir.file("d.pt") + kTiny + " --direct --direct-iters 2 --classifier-iters 20 --checkpoint-every 10";
  auto r = run_tool("train --out " + dir.file("plain.i2sb") + args);
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_tool("train --keep-checkpoint --out " + dir.file("a.i2sb") + args + " --classifier-ema 0.9");
  ASSERT_EQ(r.status, 0) << r.err;
  // Its last checkpoint is at classifier iteration 10 (the 2-iteration stage saves none).
  std::filesystem::copy_file(dir.file("a.i2sb.ckpt"), dir.file("b.i2sb.ckpt"));
  r = run_tool("train --resume --out " + dir.file("b.i2sb") + args + " --classifier-ema 0.9");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto log = read_log(dir.file("b.i2sb.log.jsonl"));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0]["stage"], "classifier");
  EXPECT_EQ(log[0]["iter"], 10);
  const BundleContents plain = read_bundle_file(dir.file("plain.i2sb")), a = read_bundle_file(dir.file("a.i2sb")),
                       b = read_bundle_file(dir.file("b.i2sb"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  ASSERT_EQ(a.tensors.size(), plain.tensors.size());
  int differ = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].data, b.tensors[i].data) << a.tensors[i].name;
    differ += a.tensors[i].data != plain.tensors[i].data;
  }
  EXPECT_GT(differ, static_cast<int>(a.tensors.size()) / 2) << "the EMA is not the last iterate";
  r = run_tool("train --out " + dir.file("c.i2sb") + args + " --classifier-ema 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--classifier-ema: "), std::string::npos) << r.err;
}

TEST(Train, SigintOrSigtermSavesACheckpoint) {
  for (const int sig : {SIGINT, SIGTERM}) {
    const std::string name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    SCOPED_TRACE(name);
    TempDir dir;
    make_dataset(dir.file("d.pt"), 8);
    const std::string out = dir.file("m.i2sb");
    const std::string args = "train --data " + dir.file("d.pt") + " --out " + out + kTiny + kShort +
                             " --classifier-iters 100000 --bridge-iters 5 --checkpoint-every 100000";
    const pid_t pid = start_tool(args, dir.file("err"));
    ASSERT_GE(pid, 0);
    // Wait for training to be under way (the log has a line), then interrupt.
    for (int i = 0; i < 600 && read_log(out + ".log.jsonl").empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(pid, sig);
    ASSERT_EQ(wait_tool(pid), 1);
    const std::string err = read_text(dir.file("err"));
    EXPECT_NE(err.find("interrupted by " + name), std::string::npos) << err;
    EXPECT_NE(err.find("checkpoint saved to " + out + ".ckpt"), std::string::npos) << err;
    EXPECT_NE(err.find("--resume"), std::string::npos) << err;
    ASSERT_TRUE(std::filesystem::exists(out + ".ckpt"));
    EXPECT_FALSE(std::filesystem::exists(out));
    // No temporary files left beside it.
    for (const auto& f : std::filesystem::directory_iterator(dir.path()))
      EXPECT_EQ(f.path().string().find(".tmp."), std::string::npos) << f.path();
  }
}

// The iteration of the last "checkpoint" event in the log (-1: none yet).
int last_checkpoint_iter(const std::string& log_path) {
  int it = -1;
  for (const auto& l : read_log(log_path))
    if (l.value("event", "") == "checkpoint") it = l["iter"].get<int>();
  return it;
}

TEST(Train, SigkillLosesOnlyTheWorkSinceTheLastCheckpoint) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string out = dir.file("m.i2sb");
  const std::string args = "train --data " + dir.file("d.pt") + " --out " + out + kTiny + kShort +
                           " --classifier-iters 200 --bridge-iters 5 --checkpoint-every 10";
  const pid_t pid = start_tool(args, dir.file("err"));
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 1200 && last_checkpoint_iter(out + ".log.jsonl") < 30; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ::kill(pid, SIGKILL);  // no handler runs: whatever was on disk stays
  ASSERT_EQ(wait_tool(pid), -1) << "training ended before it was killed; make it longer";
  const int saved = last_checkpoint_iter(out + ".log.jsonl");
  ASSERT_GE(saved, 30);
  EXPECT_FALSE(std::filesystem::exists(out));
  // What a kill inside a save leaves behind: a partial temporary file of a
  // process that no longer exists. It must never be taken for the checkpoint.
  pid_t dead = 999999;
  while (::kill(dead, 0) == 0 || errno == EPERM) --dead;
  const std::string partial = out + ".ckpt.tmp." + std::to_string(dead);
  { std::ofstream(partial) << "half a checkpoint"; }

  const auto r = run_tool(args.substr(0, 6) + "--resume " + args.substr(6) + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(std::filesystem::exists(partial));
  // It resumed at the last checkpoint written before the kill: the work
  // lost is what came after it (under --checkpoint-every iterations).
  int resumed_at = -1;
  for (const auto& l : read_log(out + ".log.jsonl"))
    if (l.value("event", "") == "resumed") resumed_at = l["iter"].get<int>();
  EXPECT_EQ(resumed_at, saved);
  EXPECT_NO_THROW(load_model(out));
}

TEST(Train, AFullDiskWhileSavingIsReportedAndKeepsThePreviousCheckpoint) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string out = dir.file("m.i2sb"), ckpt = out + ".ckpt";
  const std::string args =
      " --data " + dir.file("d.pt") + " --out " + out + kTiny + kShort + " --classifier-iters 10 --checkpoint-every 10";
  ASSERT_EQ(run_tool("train" + args + " --bridge-iters 20 --keep-checkpoint").status, 0);  // last checkpoint: bridge 10
  const auto before = read_text(ckpt);
  ASSERT_GT(before.size(), 4096u);
  // A file-size limit of half the checkpoint: the next save fails the way a
  // full disk does (EFBIG here, ENOSPC there) in the middle of writing.
  const std::string limit = std::to_string(before.size() / 2 / 1024);
  const std::string tool = std::getenv("I2SBSEG_TOOL");
  const std::string cmd = "bash -c 'ulimit -f " + limit + "; exec " + tool + " train --resume" + args +
                          " --bridge-iters 40' 2>" + dir.file("err");
  const int st = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  const std::string text = read_text(dir.file("err"));
  EXPECT_NE(text.find("could not save the checkpoint at stage bridge iteration 20"), std::string::npos) << text;
  EXPECT_NE(text.find("File too large"), std::string::npos) << text;
  EXPECT_NE(text.find("kept at " + ckpt), std::string::npos) << text;
  EXPECT_EQ(read_text(ckpt), before) << "the previous checkpoint survives unchanged";
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().string().find(".tmp."), std::string::npos) << f.path();
  // With room again, the same resume finishes.
  const auto r = run_tool("train --resume" + args + " --bridge-iters 40");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NO_THROW(load_model(out));
}

TEST(Train, NanLossStopsWithAClearMessage) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 4);
  const auto r = run_tool("train --data " + dir.file("d.pt") + " --out " + dir.file("m.i2sb") + kTiny +
                          kShort + " --classifier-iters 50 --bridge-iters 5 --lr 1e30");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("loss became"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.i2sb")));
}

TEST(Train, BadOptionsAndDataAreNamed) {
  TempDir dir;
  auto r = run_tool("train --data " + dir.file("none") + " --out " + dir.file("m.i2sb"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(dir.file("none")), std::string::npos) << r.err;
  make_dataset(dir.file("d.pt"), 4);
  std::string odd_crop = kTiny;
  odd_crop.replace(odd_crop.find("--crop 32"), 9, "--crop 30");
  r = run_tool("train --data " + dir.file("d.pt") + " --out " + dir.file("m.i2sb") + odd_crop);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--crop: crop size 30"), std::string::npos) << r.err;
  r = run_tool("train --data " + dir.file("d.pt") + " --out " + dir.file("m.i2sb") + kTiny + " --device cuda:7");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cuda:7"), std::string::npos) << r.err;
  r = run_tool("train --resume --data " + dir.file("d.pt") + " --out " + dir.file("m.i2sb") + kTiny);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(dir.file("m.i2sb.ckpt")), std::string::npos) << r.err;
}

TEST(Train, ErrorsNameTheFlagAtFault) {
  TempDir dir;
  // Checked before the dataset is read: no dataset needed.
  auto r = run_tool("train --data " + dir.file("none") + " --out " + dir.file("m.i2sb") + " --crop 97");
  EXPECT_EQ(r.status, 1);
  const auto at = r.err.find("i2sbseg train: --crop: crop size 97 must be a multiple");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--", at + 24), std::string::npos) << "the library's message names no flag: " << r.err;
  r = run_tool("train --data " + dir.file("none") + " --out " + dir.file("m.i2sb") + " --dist-timeout=-5");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("i2sbseg train: --dist-timeout: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("-5"), std::string::npos) << r.err;
}
