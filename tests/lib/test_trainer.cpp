// SPDX-License-Identifier: MIT
// The trainer through its library API: bad options are reported as typed
// errors in the library's terms, a stop request saves a checkpoint, a run
// from a bundle inherits its settings, and the time estimate costs each
// stage at its own rate.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>
#include <i2sbseg/trainer.h>

#include "../../lib/src/train/progress.h"  // private, torch-free: the estimate alone
#include "../common/temp_dir.h"
#include "../common/tiny_dataset.h"

using namespace i2sbseg;
using i2sbseg::testing::TempDir;

namespace {

// Tiny settings for real runs of the default family, v2 (crop: scale 4 x
// the trunk's 8).
TrainOptions tiny(const TempDir& dir) {
  TrainOptions o;
  o.data = dir.file("d.pt");
  o.out = dir.file("m.i2sb");
  o.latent_channels = 4;
  o.bridge_channels = 8;
  o.bridge_blocks = 1;
  o.crop = 32;
  o.batch = 2;
  o.threads = 1;
  o.classifier_iters = 3;
  o.direct_iters = 3;
  o.bridge_iters = 3;
  o.finetune_iters = 0;
  o.quiet = true;
  return o;
}

// The error train(o) throws (a failure when none).
Error error_of(const TrainOptions& o) {
  try {
    train(o);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "train() did not throw";
  return Error("none");
}

}  // namespace

TEST(TrainerOptions, BadValuesAreTypedErrorsNamingTheField) {
  TempDir dir;  // no dataset: options are checked before it is read
  TrainOptions o = tiny(dir);
  o.crop = 97;
  Error e = error_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidOption);
  EXPECT_EQ(e.field(), "crop");
  EXPECT_NE(std::string(e.what()).find("crop size 97"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();

  o = tiny(dir);
  o.batch = 0;
  e = error_of(o);
  EXPECT_EQ(e.field(), "batch");
  EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();

  o = tiny(dir);
  o.out.clear();
  EXPECT_EQ(error_of(o).field(), "out");

  o = tiny(dir);
  o.dist.timeout_s = -1;
  e = error_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidOption);
  EXPECT_EQ(e.field(), "dist.timeout_s");
  EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();

  o = tiny(dir);
  o.direct_out = o.out;
  e = error_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidOption);
  EXPECT_EQ(e.field(), "direct_out");
  EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
}

// One crop of the smallest size leaves v2's BatchNorm one value per
// channel: a typed error, not LibTorch's internal one.
TEST(TrainerOptions, AV2BatchTooSmallForBatchNormIsNamed) {
  TempDir dir;
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  TrainOptions o = tiny(dir);
  o.batch = 1;
  const Error e = error_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidOption);
  EXPECT_EQ(e.field(), "crop");
  EXPECT_NE(std::string(e.what()).find("crop size 32 at batch 1"), std::string::npos) << e.what();
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST(TrainerOptions, AnOutputFolderThatCannotBeMadeIsNamed) {
  TempDir dir;
  { std::ofstream(dir.file("file")) << "in the way"; }
  TrainOptions o = tiny(dir);
  o.out = dir.file("file/sub/m.i2sb");
  const Error e = error_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::kWriteFailed);
  EXPECT_EQ(e.field(), "out");
  EXPECT_NE(std::string(e.what()).find(dir.file("file/sub")), std::string::npos) << e.what();
}

TEST(Trainer, AStopRequestSavesACheckpointAndThrowsInterrupted) {
  TempDir dir;
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  TrainOptions o = tiny(dir);
  std::atomic<int> stop{15};
  o.stop_request = &stop;
  const Error e = error_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::kInterrupted);
  EXPECT_NE(std::string(e.what()).find("stage classifier iteration 0"), std::string::npos) << e.what();
  EXPECT_TRUE(std::filesystem::exists(o.out + ".ckpt"));
  EXPECT_FALSE(std::filesystem::exists(o.out));
  // Cleared, the same options resume and finish.
  stop = 0;
  o.resume = true;
  EXPECT_NO_THROW(train(o));
  EXPECT_NO_THROW(load_model(o.out));
}

// The first tensor of the bundle a short run writes.
static std::vector<float> first_weights(TrainOptions o, const std::string& out) {
  o.out = out;
  o.classifier_iters = 1;
  o.bridge_iters = 1;
  train(o);
  return read_bundle_file(out).tensors.at(0).data;
}

TEST(Trainer, TheSeedFixesTheInitialWeightsOnlyThroughTheGlobalGenerator) {
  TempDir dir;
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  TrainOptions o = tiny(dir);
  // Seeding the process-wide generator (the default) makes runs repeat ...
  EXPECT_EQ(first_weights(o, dir.file("a.i2sb")), first_weights(o, dir.file("b.i2sb")));
  // ... and without it the module init goes on drawing where the process is.
  o.seed_global_generator = false;
  EXPECT_NE(first_weights(o, dir.file("c.i2sb")), first_weights(o, dir.file("d.i2sb")));
}

TEST(Trainer, ARunFromABundleInheritsItsRecordedSettings) {
  TempDir dir;
  ModelConfig c = ModelConfig::make_default(3);
  c.scale_factor = 2;
  c.metadata_json = R"({"crop": 48, "batch": 3, "threads": 2})";
  save_model(Model(c), dir.file("with.i2sb"));
  c.metadata_json.clear();
  save_model(Model(c), dir.file("without.i2sb"));

  TrainOptions o;
  o.init = dir.file("with.i2sb");
  TrainOptions got = inherit_init_settings(o, {});
  EXPECT_EQ(got.crop, 48);
  EXPECT_EQ(got.batch, 3);
  EXPECT_EQ(got.threads, 2);
  EXPECT_EQ(got.scale, 2);
  EXPECT_EQ(got.family, ModelFamily::kV1) << "the bundle's family, not the default v2";
  // What the caller set stays.
  o.crop = 64;
  got = inherit_init_settings(o, {"crop", "scale", "family"});
  EXPECT_EQ(got.crop, 64);
  EXPECT_EQ(got.scale, TrainOptions{}.scale);
  EXPECT_EQ(got.family, TrainOptions{}.family);
  EXPECT_EQ(got.batch, 3);
  // A bundle that records none: only its scale, which every bundle has.
  o = {};
  o.init = dir.file("without.i2sb");
  got = inherit_init_settings(o, {});
  EXPECT_EQ(got.crop, TrainOptions{}.crop);
  EXPECT_EQ(got.batch, TrainOptions{}.batch);
  EXPECT_EQ(got.scale, 2);
  // No bundle, nothing inherited.
  o = {};
  o.crop = 40;
  EXPECT_EQ(inherit_init_settings(o, {}).crop, 40);
}

TEST(TrainerProgress, EachStageIsCostedAtItsOwnRate) {
  // Classifier done at 10 it/s; bridge at 2 it/s with 100 left: 50 s.
  std::vector<StageProgress> stages{{100, 100, 0.1}, {200, 100, 0.5}};
  EXPECT_DOUBLE_EQ(remaining_seconds(stages), 50.0);
  EXPECT_FALSE(is_estimate_guessed(stages));
  // Mid-classifier: its own 60 iterations at 0.1 s, plus the bridge's 100
  // left at its 0.5 s (not the classifier's rate).
  stages = {{100, 40, 0.1}, {200, 100, 0.5}};
  EXPECT_DOUBLE_EQ(remaining_seconds(stages), 6.0 + 50.0);
  // A stage not started borrows the closest measured rate, and says so.
  stages = {{100, 100, 0.1}, {200, 100, 0.5}, {40, 0, 0}};
  EXPECT_DOUBLE_EQ(remaining_seconds(stages), 50.0 + 40 * 0.5);
  EXPECT_TRUE(is_estimate_guessed(stages));
  // A stage skipped by a resume (unmeasured, nothing left) costs nothing
  // and guesses nothing.
  stages = {{100, 100, 0}, {200, 150, 0.5}};
  EXPECT_DOUBLE_EQ(remaining_seconds(stages), 25.0);
  EXPECT_FALSE(is_estimate_guessed(stages));
  EXPECT_DOUBLE_EQ(remaining_seconds({{10, 0, 0}}), 0.0) << "nothing measured yet";
}

TEST(TrainerProgress, SecondsAreShownAsMinutesOrHours) {
  EXPECT_EQ(format_seconds(125), "2m05s");
  EXPECT_EQ(format_seconds(3 * 3600 + 7 * 60 + 9), "3h07m");
}
