// SPDX-License-Identifier: MIT
// `i2sbseg train` as a data-parallel job of processes on 127.0.0.1 (Gloo):
// two ranks train (all three v1 stages) to the weights one process reaches on
// the combined batches, v2's ranks average their BatchNorm running
// statistics (a first step's running mean is the combined batch's), only
// rank 0 writes, --resume survives a change of world size,
// and a rank that dies or never comes stops the others with an error
// within the timeout, leaving the last checkpoint intact.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <i2sbseg/bundle.h>
#include <i2sbseg/model.h>

#include "../common/run_tool.h"
#include "../common/temp_dir.h"
#include "../common/tiny_dataset.h"
#include "../common/train_log.h"

using namespace i2sbseg;
using i2sbseg::testing::make_dataset;
using i2sbseg::testing::read_log;
using i2sbseg::testing::read_text;
using i2sbseg::testing::start_tool;
using i2sbseg::testing::wait_tool;
using i2sbseg::testing::run_tool;
using i2sbseg::testing::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

// The default family, v2, at tiny widths, with a short LR-encoder stage.
const std::string kTiny =
    " --latent-channels 4 --bridge-channels 16 --bridge-blocks 1 --crop 32 --direct-iters 2"
    " --threads 1 --log-every 2 --seed 7 --quiet --e2e-iters 0";
// The weight comparison runs v1: v2's BatchNorm normalises each rank's own
// batch (its running statistics are averaged over the ranks, but its batch
// statistics are not synchronised), so ranks of 2 do not compute what one
// process of 4 does.
// Widths 16/32: with 2 channels per GroupNorm group every bias has a real
// gradient (a bias feeding a per-channel norm has none, and Adam turns the
// rounding noise of a zero gradient into steps that differ between runs).
const std::string kV1 = " --arch v1 --widths 16 32";
// The shipped defaults fine-tune the decoder; most tests need none.
const std::string kNoFinetune = " --finetune-iters 0";

// A TCP port nobody listens on now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Rank {
  pid_t pid = -1;
  std::string err_file;
};

// Starts `i2sbseg train ARGS` as rank `rank` of `world` through the
// environment, as torchrun would.
Rank start_rank(const std::string& args, int rank, int world, int port, const std::string& err_file) {
  const std::string env = "WORLD_SIZE=" + std::to_string(world) + " RANK=" + std::to_string(rank) +
                          " LOCAL_RANK=" + std::to_string(rank) + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                          std::to_string(port);
  return {start_tool("train" + args, err_file, env), err_file};
}

// Runs a whole job of `world` ranks to the end; all must succeed.
void run_job(const std::string& args, int world, const TempDir& dir) {
  const int port = free_port();
  std::vector<Rank> ranks;
  for (int r = 0; r < world; ++r)
    ranks.push_back(start_rank(args, r, world, port, dir.file("err" + std::to_string(r))));
  for (int r = 0; r < world; ++r) ASSERT_EQ(wait_tool(ranks[r].pid), 0) << "rank " << r << ": " << read_text(ranks[r].err_file);
}

}  // namespace

TEST(Distributed, TwoRanksReachTheWeightsOfOneProcessOnTheCombinedBatches) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 12);
  const std::string stages =
      " --data " + dir.file("d.pt") + kTiny + kV1 + " --classifier-iters 6 --bridge-iters 6 --finetune-iters 2" +
      // Normalisation-free across the batch, so two ranks of 2 must equal one
      // process of 4 (a conv_bn bridge's BatchNorm sees each rank's batch).
      " --bridge-type groupnorm";
  run_job(stages + " --batch 2 --out " + dir.file("two.i2sb"), 2, dir);
  const auto one = run_tool("train" + stages + " --batch 4 --out " + dir.file("one.i2sb"));
  ASSERT_EQ(one.status, 0) << one.err;

  const BundleContents a = read_bundle_file(dir.file("two.i2sb")), b = read_bundle_file(dir.file("one.i2sb"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  double worst = 0, moved = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].name, b.tensors[i].name);
    for (size_t k = 0; k < a.tensors[i].data.size(); ++k)
      worst = std::max(worst, static_cast<double>(std::abs(a.tensors[i].data[k] - b.tensors[i].data[k])));
  }
  // The check means something: the loss moved during training.
  const auto log = read_log(dir.file("two.i2sb.log.jsonl"));
  const auto log1 = read_log(dir.file("one.i2sb.log.jsonl"));
  ASSERT_EQ(log.size(), log1.size());
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_NEAR(log[i]["loss"].get<double>(), log1[i]["loss"].get<double>(), 1e-5) << "log line " << i;
    EXPECT_EQ(log[i]["world_size"], 2);
    moved = std::max(moved, std::abs(log[i]["loss"].get<double>() - log.front()["loss"].get<double>()));
  }
  EXPECT_LT(worst, 1e-4) << "largest weight difference";
  EXPECT_GT(moved, 1e-3) << "the losses changed over training";
  // Only rank 0 wrote: the bundle and the log are its; the other rank's
  // process had the same --out and wrote nothing else.
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().string().find(".tmp."), std::string::npos) << f.path();
}

// v2's BatchNorm running statistics are averaged over the ranks after every
// step. After one step of each encoder's stage, a stem's BatchNorm (its
// input, a conv of the same images with the same weights, is the one
// process's) holds the running_mean one process with the combined batch
// holds; rank 0's own shard left it 2e-3 to 5e-3 away. The EMA (which follows the
// statistics) is on, so the bundle holds 0.1 x initial + 0.9 x trained.
TEST(Distributed, TwoRanksOfV2AverageTheBatchNormRunningStatistics) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 12);
  const std::string stages = " --data " + dir.file("d.pt") +
                             " --latent-channels 4 --crop 32 --threads 1 --seed 7 --quiet --classifier-ema 0.99"
                             " --classifier-iters 1 --direct-iters 1 --bridge-iters 0 --finetune-iters 0";
  run_job(stages + " --batch 2 --out " + dir.file("two.i2sb"), 2, dir);
  const auto one = run_tool("train" + stages + " --batch 4 --out " + dir.file("one.i2sb"));
  ASSERT_EQ(one.status, 0) << one.err;

  const BundleContents a = read_bundle_file(dir.file("two.i2sb")), b = read_bundle_file(dir.file("one.i2sb"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  int checked = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const std::string& name = a.tensors[i].name;
    // The HR encoder's (classifier stage) and the LR encoder's (LR-encoder stage).
    if (name != "encoder_hr.stem.bn.running_mean" && name != "encoder.stem.bn.running_mean") continue;
    SCOPED_TRACE(name);
    ++checked;
    ASSERT_EQ(b.tensors[i].name, name);
    double worst = 0, moved = 0;
    for (size_t k = 0; k < a.tensors[i].data.size(); ++k) {
      worst = std::max(worst, static_cast<double>(std::abs(a.tensors[i].data[k] - b.tensors[i].data[k])));
      moved = std::max(moved, static_cast<double>(std::abs(b.tensors[i].data[k])));  // from 0
    }
    EXPECT_LT(worst, 1e-6) << "largest running_mean difference";
    EXPECT_GT(moved, 1e-3) << "training moved the running mean";
  }
  EXPECT_EQ(checked, 2);
}

TEST(Distributed, ResumeWorksAfterTheWorldSizeChanges) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 12);
  const std::string common = " --data " + dir.file("d.pt") + kTiny + kNoFinetune + " --classifier-iters 4 --checkpoint-every 4";
  // Two ranks; the last checkpoint sits at bridge iteration 4 of 6.
  run_job(common + " --bridge-iters 6 --batch 2 --keep-checkpoint --out " + dir.file("m.i2sb"), 2, dir);
  std::filesystem::copy_file(dir.file("m.i2sb.ckpt"), dir.file("n.i2sb.ckpt"));
  // 2 -> 1: one process resumes the two ranks' checkpoint ...
  const auto one = run_tool("train --resume" + common + " --bridge-iters 8 --batch 4 --out " + dir.file("m.i2sb"));
  ASSERT_EQ(one.status, 0) << one.err;
  // ... and 2 -> 3 ranks resume it too.
  run_job(" --resume" + common + " --bridge-iters 8 --batch 1 --out " + dir.file("n.i2sb"), 3, dir);
  for (const char* name : {"m.i2sb", "n.i2sb"}) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(load_model(dir.file(name)));
    int resumed_at = -1;
    for (const auto& l : read_log(dir.file(std::string(name) + ".log.jsonl")))
      if (l.value("event", "") == "resumed") resumed_at = l["iter"].get<int>();
    EXPECT_EQ(resumed_at, 4);
  }
}

TEST(Distributed, ARankThatNeverComesStopsTheOtherWithinTheTimeout) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 4);
  const int port = free_port();
  const auto t0 = Clock::now();
  const Rank alone = start_rank(" --data " + dir.file("d.pt") + kTiny + " --batch 2 --dist-timeout 3 --out " +
                                    dir.file("m.i2sb"),
                                0, 2, port, dir.file("err"));
  EXPECT_EQ(wait_tool(alone.pid), 1);
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(took, 30.0) << "bounded by --dist-timeout 3 (plus start-up)";
  const std::string err = read_text(dir.file("err"));
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
  EXPECT_NE(err.find("rank 0 of 2"), std::string::npos) << err;
}

TEST(Distributed, ARankThatDiesStopsTheOthersAndTheCheckpointSurvives) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 8);
  const std::string out = dir.file("m.i2sb");
  const std::string args = " --data " + dir.file("d.pt") + kTiny + kNoFinetune +
                           " --batch 2 --classifier-iters 100000 --checkpoint-every 5 --dist-timeout 5 --out " + out;
  const int port = free_port();
  const Rank r0 = start_rank(args, 0, 2, port, dir.file("err0"));
  const Rank r1 = start_rank(args, 1, 2, port, dir.file("err1"));
  // Training is under way once rank 0 logged a checkpoint.
  auto checkpointed = [&] {
    for (const auto& l : read_log(out + ".log.jsonl"))
      if (l.value("event", "") == "checkpoint") return true;
    return false;
  };
  for (int i = 0; i < 1200 && !checkpointed(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(checkpointed()) << read_text(dir.file("err0"));
  const auto t0 = Clock::now();
  ::kill(r1.pid, SIGKILL);
  EXPECT_EQ(wait_tool(r1.pid), -1);
  EXPECT_EQ(wait_tool(r0.pid), 1);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 60.0);
  const std::string err = read_text(dir.file("err0"));
  EXPECT_NE(err.find("another rank stopped or cannot be reached"), std::string::npos) << err;
  // The checkpoint rank 0 wrote last is whole: a single process resumes it.
  const auto resumed = run_tool("train --resume --data " + dir.file("d.pt") + kTiny + kNoFinetune +
                                " --batch 4 --classifier-iters 12 --bridge-iters 2 --out " + out);
  EXPECT_EQ(resumed.status, 0) << resumed.err;
}

TEST(Distributed, RanksWithDifferentOptionsRefuseToTrain) {
  TempDir dir;
  make_dataset(dir.file("d.pt"), 6);
  const std::string args = " --data " + dir.file("d.pt") + kTiny + kNoFinetune + " --classifier-iters 2 --bridge-iters 2 --out " +
                           dir.file("m.i2sb") + " --dist-timeout 20";
  const int port = free_port();
  const Rank r0 = start_rank(args + " --batch 2", 0, 2, port, dir.file("err0"));
  const Rank r1 = start_rank(args + " --batch 3", 1, 2, port, dir.file("err1"));
  EXPECT_EQ(wait_tool(r0.pid), 1);
  EXPECT_EQ(wait_tool(r1.pid), 1);
  const std::string err = read_text(dir.file("err0"));
  EXPECT_NE(err.find("--batch: the ranks disagree on the batch size (this rank: 2)"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.i2sb")));
}
