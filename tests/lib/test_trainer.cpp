// SPDX-License-Identifier: MIT
// The trainer through its library API: bad options are reported as typed
// errors in the library's terms, a stop request saves a checkpoint, a run
// from a bundle inherits its settings, the time estimate costs each stage
// at its own rate, and the loss skips unlabelled (255) pixels.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <i2sbseg/batches.h>
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
  o.e2e_iters = 0;  // the shipped recipe's fifth stage: no test here needs it
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

namespace {

// The float64 reference: sum(w[y] * -log softmax(logits)[y]) / sum(w[y])
// over the pixels whose truth is not 255, from the logits' values.
double reference_loss(const torch::Tensor& logits, const torch::Tensor& mask, const std::vector<double>& w) {
  const torch::Tensor l = logits.detach().to(torch::kFloat64).contiguous(), m = mask.contiguous();
  const int64_t n = l.size(0), k = l.size(1), hw = l.size(2) * l.size(3);
  const double* lp = l.data_ptr<double>();
  const int64_t* mp = m.data_ptr<int64_t>();
  double sum = 0, weight = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < hw; ++i) {
      const int64_t y = mp[b * hw + i];
      if (y == 255) continue;
      double top = -1e300, z = 0;
      for (int64_t c = 0; c < k; ++c) top = std::max(top, lp[(b * k + c) * hw + i]);
      for (int64_t c = 0; c < k; ++c) z += std::exp(lp[(b * k + c) * hw + i] - top);
      sum += w[y] * (top + std::log(z) - lp[(b * k + y) * hw + i]);
      weight += w[y];
    }
  return sum / weight;
}

}  // namespace

// The training loss is the (class-weighted) mean cross-entropy over the
// labelled pixels only: 255 pixels add nothing, their logits get a zero
// gradient and do not move the loss or the other pixels' gradients, and a
// batch with no labelled pixel has loss 0 (not 0/0).
TEST(TrainerLoss, UnlabelledPixelsAreSkipped) {
  torch::manual_seed(7);
  const torch::Tensor logits0 = torch::randn({2, 4, 5, 6}) * 3;
  torch::Tensor mask = torch::randint(0, 4, {2, 5, 6}, torch::kLong);
  const torch::Tensor ignored = torch::rand({2, 5, 6}) < 0.3;
  mask.masked_fill_(ignored, 255);
  ASSERT_GT(ignored.sum().item<int64_t>(), 5);
  for (const std::vector<double>& w : {std::vector<double>{1, 1, 1, 1}, std::vector<double>{0.5, 2, 1, 3}}) {
    const torch::Tensor weights = torch::tensor(w, torch::kFloat64).to(torch::kFloat32);
    torch::Tensor a = logits0.clone().requires_grad_(true);
    const torch::Tensor loss = segmentation_loss(a, mask, weights);
    EXPECT_NEAR(loss.item<double>(), reference_loss(a, mask, w), 1e-5);
    const CrossEntropyTerms t = cross_entropy_terms(a, mask, weights);
    double labelled_weight = 0;
    for (int64_t y : std::vector<int64_t>(mask.data_ptr<int64_t>(), mask.data_ptr<int64_t>() + mask.numel()))
      if (y != 255) labelled_weight += w[y];
    EXPECT_NEAR(t.weight, labelled_weight, 1e-4);
    loss.backward();
    const torch::Tensor at_ignored = ignored.unsqueeze(1).expand_as(a);
    EXPECT_EQ(a.grad().masked_select(at_ignored).abs().max().item<float>(), 0.0f) << "exactly 0 at 255 pixels";
    EXPECT_GT(a.grad().masked_select(~at_ignored).abs().max().item<float>(), 0.0f);
    // Other logits at the 255 pixels: the same loss and the same gradient elsewhere.
    torch::Tensor b = logits0.masked_fill(at_ignored, 0).add(torch::randn(logits0.sizes()) * 50 * at_ignored);
    b.requires_grad_(true);
    const torch::Tensor loss_b = segmentation_loss(b, mask, weights);
    EXPECT_EQ(loss_b.item<float>(), loss.item<float>());
    loss_b.backward();
    EXPECT_TRUE(torch::equal(b.grad().masked_select(~at_ignored), a.grad().masked_select(~at_ignored)));
  }
  // Every pixel unlabelled: 0, not NaN, and a zero gradient.
  torch::Tensor c = logits0.clone().requires_grad_(true);
  const torch::Tensor none = segmentation_loss(c, torch::full({2, 5, 6}, 255, torch::kLong), torch::ones({4}));
  EXPECT_EQ(none.item<float>(), 0.0f);
  none.backward();
  ASSERT_TRUE(c.grad().defined());
  EXPECT_EQ(c.grad().abs().max().item<float>(), 0.0f);
}

// Training on masks with 255s runs every stage to a bundle: partly
// unlabelled images with class weights (which count no 255 pixel), then a
// dataset with no labelled pixel at all (every cross-entropy batch empty:
// a NaN loss would stop training).
TEST(TrainerLoss, TrainsOnPartlyAndWhollyUnlabelledMasks) {
  TempDir dir;
  i2sbseg::testing::make_dataset(dir.file("d.pt"), 4);
  const Dataset full = Dataset::load(dir.file("d.pt"), "all");
  Dataset part, none;
  part.set_classes(full.classes());
  none.set_classes(full.classes());
  for (int64_t i = 0; i < full.size(); ++i) {
    torch::Tensor m = full.mask(i).clone();
    m.slice(0, 0, 12).fill_(255);
    if (i == 0) m.fill_(255);
    part.add(full.name(i), full.image(i), m, "train");
    none.add(full.name(i), full.image(i), torch::full_like(m, 255), "train");
  }
  const torch::Tensor w = class_weights(part);
  EXPECT_TRUE(torch::isfinite(w).all().item<bool>());
  EXPECT_EQ(class_weights(none).abs().sum().item<float>(), 0.0f);
  part.save_packed(dir.file("d.pt"));
  TrainOptions o = tiny(dir);
  o.weight_classes = true;
  EXPECT_NO_THROW(train(o));
  EXPECT_NO_THROW(load_model(o.out));
  none.save_packed(dir.file("d.pt"));
  o.out = dir.file("none.i2sb");
  EXPECT_NO_THROW(train(o));
  EXPECT_NO_THROW(load_model(o.out));
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
