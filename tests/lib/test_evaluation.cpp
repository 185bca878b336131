// SPDX-License-Identifier: MIT
// evaluate()'s rows on a tiny random model: the boundary F of each row, and
// the rows averaged over K bridge samples against a brute-force float64 mean.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <i2sbseg/batches.h>
#include <i2sbseg/bridge.h>
#include <i2sbseg/error.h>
#include <i2sbseg/evaluation.h>
#include <i2sbseg/model.h>

#include "../common/small_model.h"

using namespace i2sbseg;
using i2sbseg::testing::randomise;
using i2sbseg::testing::small_config;

namespace {

// Three images (one not square) with blocky masks of the model's classes.
Dataset small_dataset(const Model& m) {
  Dataset d;
  d.set_classes(m.config().classes);
  torch::manual_seed(21);
  for (int i = 0; i < 3; ++i) {
    const int64_t h = 16, w = i == 2 ? 24 : 16;
    torch::Tensor mask = torch::zeros({h, w}, torch::kUInt8);
    mask.slice(0, 2 + i, 10 + i).slice(1, 3, 11).fill_(1 + i % 3);
    mask.slice(0, 9, 14).slice(1, 1 + 2 * i, 6 + 2 * i).fill_(3 - i % 2);
    d.add("img" + std::to_string(i), torch::randint(0, 256, {h, w, 3}).to(torch::kUInt8), mask, "val");
  }
  return d;
}

void expect_same_counts(const EvalRow& a, const EvalRow& b, const std::string& what) {
  const int k = a.confusion.num_classes();
  for (int t = 0; t < k; ++t)
    for (int p = 0; p < k; ++p) EXPECT_EQ(a.confusion.at(t, p), b.confusion.at(t, p)) << what << " [" << t << "," << p << "]";
  EXPECT_EQ(a.boundary.predicted_edges(), b.boundary.predicted_edges()) << what;
  EXPECT_EQ(a.boundary.matched_predicted(), b.boundary.matched_predicted()) << what;
  EXPECT_EQ(a.boundary.matched_truth(), b.boundary.matched_truth()) << what;
  EXPECT_EQ(a.agreement_with_hr, b.agreement_with_hr) << what;
}

// (h, w) uint8 argmax of (1, K, h, w) scores.
torch::Tensor labels(const torch::Tensor& scores) {
  return scores.argmax(1).squeeze(0).to(torch::kUInt8).contiguous();
}

}  // namespace

// One sample "averaged" is the plain row's own sample: the same counts.
TEST(EvalMeanSamples, OneSampleIsThePlainRow) {
  Model m(small_config());
  randomise(m, 5);
  const Dataset d = small_dataset(m);
  EvalOptions o;
  o.nfes = {1, 2, 4};
  o.mean_samples = 1;
  const EvalReport r = evaluate(m, d, o);
  ASSERT_EQ(r.bridge_mean.size(), 3u);
  EXPECT_EQ(r.mean_samples, 1);
  for (int nfe : o.nfes) expect_same_counts(r.bridge.at(nfe), r.bridge_mean.at(nfe), "NFE " + std::to_string(nfe));
  // Without mean_samples there are no averaged rows, and the plain rows do
  // not depend on it.
  o.mean_samples = 0;
  const EvalReport plain = evaluate(m, d, o);
  EXPECT_TRUE(plain.bridge_mean.empty());
  for (int nfe : o.nfes) expect_same_counts(plain.bridge.at(nfe), r.bridge.at(nfe), "plain NFE " + std::to_string(nfe));
}

// Each NFE row draws from a generator of its own: asking for other NFEs as
// well changes nothing in it (with one shared generator the NFE 4 row used
// the draws left after the NFE 1 and 2 rows).
TEST(EvalRows, ABridgeRowDoesNotDependOnTheOtherNfesAsked) {
  Model m(small_config());
  randomise(m, 6);
  const Dataset d = small_dataset(m);
  EvalOptions o;
  o.bootstrap = 0;
  o.nfes = {2};
  const EvalReport alone = evaluate(m, d, o);
  o.nfes = {1, 2, 4};
  const EvalReport together = evaluate(m, d, o);
  expect_same_counts(alone.bridge.at(2), together.bridge.at(2), "NFE 2 alone / with 1 and 4");
  // The row does depend on its draws (else the check above shows nothing).
  o.seed = 2;
  const EvalReport other_seed = evaluate(m, d, o);
  bool differs = false;
  for (int t = 0; t < 4; ++t)
    for (int p = 0; p < 4; ++p)
      differs |= other_seed.bridge.at(2).confusion.at(t, p) != together.bridge.at(2).confusion.at(t, p);
  EXPECT_TRUE(differs) << "another seed gave the same NFE 2 counts";
}

// K = 3: the row's prediction is the argmax of the float64 mean of three
// softmaxes: the plain row's sample (generator bridge_row_seed(seed, 2)) and
// two more from the generator mean_samples_seed(bridge_row_seed(seed, 2)),
// in image order.
TEST(EvalMeanSamples, AveragedRowEqualsABruteForceMean) {
  Model m(small_config());
  randomise(m, 6);
  const Dataset d = small_dataset(m);
  EvalOptions o;
  o.nfes = {2};
  o.seed = 7;
  o.mean_samples = 3;
  const EvalReport r = evaluate(m, d, o);

  torch::NoGradGuard no_grad;
  m.eval();
  at::Generator plain_gen = make_generator(bridge_row_seed(7, 2)),
                extra_gen = make_generator(mean_samples_seed(bridge_row_seed(7, 2)));
  EvalRow plain{ConfusionMatrix(4)}, mean{ConfusionMatrix(4)};
  int64_t differing = 0;
  for (int64_t i = 0; i < d.size(); ++i) {
    const torch::Tensor lr = degrade(image_to_float(d.image(i)), 4);
    const torch::Tensor truth = d.mask(i).contiguous();
    const torch::Tensor first = m.segment_lr(lr, {2, false, &plain_gen});
    torch::Tensor sum = torch::softmax(first.to(torch::kFloat64), 1);
    for (int k = 1; k < 3; ++k) sum += torch::softmax(m.segment_lr(lr, {2, false, &extra_gen}).to(torch::kFloat64), 1);
    const torch::Tensor p = labels(first), q = labels(sum / 3);
    differing += (p != q).sum().item<int64_t>();
    for (auto [row, pred] : {std::pair{&plain, p}, std::pair{&mean, q}}) {
      row->confusion.add(pred.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>(), truth.numel());
      row->boundary.add(pred.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>(), static_cast<int>(truth.size(0)),
                        static_cast<int>(truth.size(1)));
    }
  }
  EXPECT_GT(differing, 0) << "the samples never disagree: the test would not see the averaging";
  plain.agreement_with_hr = r.bridge.at(2).agreement_with_hr;
  mean.agreement_with_hr = r.bridge_mean.at(2).agreement_with_hr;
  expect_same_counts(r.bridge.at(2), plain, "plain row");
  expect_same_counts(r.bridge_mean.at(2), mean, "averaged row");
  // The same seed gives the same report.
  expect_same_counts(evaluate(m, d, o).bridge_mean.at(2), r.bridge_mean.at(2), "rerun");
}

TEST(EvalMeanSamples, MeanProbabilitiesEqualTheBruteForceMean) {
  Model m(small_config());
  randomise(m, 8);
  m.eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(9);
  const torch::Tensor lr = torch::rand({1, 3, 5, 6});
  at::Generator a = make_generator(3), b = make_generator(3);
  const torch::Tensor got = mean_bridge_probabilities(m, lr, 4, {2, false, &a});
  torch::Tensor want = torch::zeros({1, 4, 20, 24}, torch::kFloat64);
  for (int k = 0; k < 4; ++k) want += torch::softmax(m.segment_lr(lr, {2, false, &b}).to(torch::kFloat64), 1) / 4;
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LT((got.to(torch::kFloat64) - want).abs().max().item<double>(), 1e-6);
  EXPECT_NEAR(got.sum(1).mean().item<double>(), 1.0, 1e-5);
  EXPECT_THROW(mean_bridge_probabilities(m, lr, 0, {}), Error);
}

// Every row has a boundary F, in the JSON and the table; the HR row's is
// the BoundaryScore of the classifier's own predictions.
TEST(EvalBoundary, EveryRowHasABoundaryScore) {
  Model m(small_config());
  randomise(m, 10);
  const Dataset d = small_dataset(m);
  EvalOptions o;
  o.nfes = {1, 2};
  o.mean_samples = 2;
  o.boundary_tolerance = 1.5;
  o.boundary_band = 2;
  const EvalReport r = evaluate(m, d, o);

  torch::NoGradGuard no_grad;
  BoundaryScore want(1.5, 2);
  for (int64_t i = 0; i < d.size(); ++i) {
    const torch::Tensor pred = labels(m.classify(image_to_float(d.image(i))));
    const torch::Tensor truth = d.mask(i).contiguous();
    want.add(pred.data_ptr<std::uint8_t>(), truth.data_ptr<std::uint8_t>(), 16, static_cast<int>(truth.size(1)));
  }
  EXPECT_EQ(r.classifier_hr.boundary.matched_predicted(), want.matched_predicted());
  EXPECT_EQ(r.classifier_hr.boundary.matched_truth(), want.matched_truth());
  EXPECT_DOUBLE_EQ(r.classifier_hr.boundary.f_score(), want.f_score());

  const auto j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["boundary_tolerance_px"], 1.5);
  EXPECT_EQ(j["boundary_band_px"], 2.0);
  EXPECT_EQ(j["samples"], 2);
  for (const char* row : {"classifier_hr", "classifier_lr", "oracle"}) {
    const double f = j[row]["boundary_f"].get<double>();
    EXPECT_GE(f, 0.0);
    EXPECT_LE(f, 1.0);
  }
  for (const char* nfe : {"1", "2"}) {
    EXPECT_TRUE(j["bridge"][nfe].contains("boundary_f")) << nfe;
    EXPECT_TRUE(j["bridge_mean"][nfe].contains("boundary_f")) << nfe;
    EXPECT_TRUE(j["bridge_mean"][nfe].contains("agreement_with_hr")) << nfe;
  }
  const std::string table = r.to_table();
  for (const char* s : {"bndF@1.5px", "within 1.5 px", "bridge NFE 2 ×2", "bridge NFE 1 ×2"})
    EXPECT_NE(table.find(s), std::string::npos) << s << "\n" << table;
}

TEST(EvalOptionsCheck, OutOfRangeOptionsNameTheirField) {
  Model m(small_config());
  const Dataset d = small_dataset(m);
  const auto field_of = [&](const EvalOptions& o) {
    try {
      evaluate(m, d, o);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidOption);
      return e.field();
    }
    return std::string("no error");
  };
  EvalOptions o;
  o.mean_samples = -1;
  EXPECT_EQ(field_of(o), "mean_samples");
  o.mean_samples = 1001;
  EXPECT_EQ(field_of(o), "mean_samples");
  o.mean_samples = 0;
  o.boundary_tolerance = 100;
  EXPECT_EQ(field_of(o), "boundary_tolerance");
}

// Every row keeps its counts image by image (they add up to its totals);
// the leads are each bridge row over the baseline, then over the LR path,
// their point estimates the rows' mIoU differences.
TEST(EvalLeads, BridgeRowsOverTheBaselineAndTheLrPath) {
  Model m(small_config()), base(small_config());
  randomise(m, 11);
  randomise(base, 12);
  const Dataset d = small_dataset(m);
  EvalOptions o;
  o.nfes = {1, 2};
  o.bootstrap = 100;
  const EvalReport r = evaluate(m, d, o, &base);
  for (const EvalRow* row : {&r.classifier_lr, &r.baseline, &r.bridge.at(1), &r.oracle}) {
    EXPECT_EQ(row->per_image.images(), static_cast<size_t>(r.images));
    EXPECT_DOUBLE_EQ(row->per_image.mean_iou(), row->confusion.mean_iou());
  }
  ASSERT_EQ(r.leads.size(), 4u);
  const std::vector<std::pair<int, std::string>> want{{1, "baseline"}, {2, "baseline"}, {1, "classifier_lr"},
                                                      {2, "classifier_lr"}};
  for (size_t i = 0; i < want.size(); ++i) {
    const EvalLead& l = r.leads[i];
    EXPECT_EQ(l.nfe, want[i].first);
    EXPECT_EQ(l.over, want[i].second);
    const EvalRow& over = l.over == "baseline" ? r.baseline : r.classifier_lr;
    EXPECT_DOUBLE_EQ(l.miou.diff, r.bridge.at(l.nfe).confusion.mean_iou() - over.confusion.mean_iou());
    EXPECT_EQ(l.miou.resamples, 100);
    EXPECT_LE(l.miou.lo, l.miou.hi);
  }
  const auto j = nlohmann::json::parse(r.to_json());
  ASSERT_EQ(j["leads"].size(), 4u);
  EXPECT_EQ(j["leads"][0]["row"], "bridge");
  EXPECT_EQ(j["leads"][0]["over"], "baseline");
  EXPECT_EQ(j["leads"][0]["ci95"].size(), 2u);
  EXPECT_NE(r.to_table().find("bridge NFE 2 − LR path (no bridge): "), std::string::npos) << r.to_table();

  o.bootstrap = 0;
  const EvalReport none = evaluate(m, d, o, &base);
  EXPECT_TRUE(none.leads.empty());
  EXPECT_FALSE(nlohmann::json::parse(none.to_json()).contains("leads"));
  EXPECT_EQ(none.to_table().find("bootstrap"), std::string::npos);
  o.bootstrap = -1;
  EXPECT_THROW(evaluate(m, d, o), Error);
}
