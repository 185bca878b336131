// SPDX-License-Identifier: MIT
// Shapes, any-size inputs, the whole LR -> HR path and the classifier alone.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include "../../lib/src/model/network_plan.h"  // internal: the parameter count load_model checks

using namespace i2sbseg;

namespace {

ModelConfig small_config(bool with_bridge = true) {
  ModelConfig c = ModelConfig::make_default(4);
  c.classifier.widths = {8, 16, 16};
  c.classifier.latent_channels = 6;
  c.latent_mean.assign(6, 0.1f);
  c.latent_std.assign(6, 2.0f);
  if (with_bridge)
    c.bridge = BridgeArch{16, 2, 16};
  else
    c.bridge.reset();
  return c;
}

// Perturbs the zero-initialised output layer so the bridge actually acts.
void randomise_bridge(Model& m) {
  torch::NoGradGuard g;
  for (auto& p : m.bridge_net()->parameters()) p.add_(torch::randn_like(p) * 0.05);
}

}  // namespace

TEST(Networks, EncoderAndDecoderShapes) {
  Model m(small_config());
  m.eval();
  torch::NoGradGuard g;
  EXPECT_EQ(m.config().classifier.downsample_factor(), 4);
  const torch::Tensor x = torch::rand({2, 3, 32, 48});
  const torch::Tensor z = m.encode(x);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{2, 6, 8, 12}));
  const torch::Tensor logits = m.decode(z, 32, 48);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 4, 32, 48}));
  EXPECT_THROW(m.decode(z, 33, 48), Error);
}

TEST(Networks, AnyInputSizeIsPaddedAndCroppedBack) {
  Model m(small_config());
  m.eval();
  torch::NoGradGuard g;
  for (auto [h, w] : std::vector<std::pair<int, int>>{{1, 1}, {2, 3}, {5, 7}, {37, 53}, {64, 64}}) {
    const torch::Tensor logits = m.classify(torch::rand({1, 3, h, w}));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 4, h, w})) << h << "x" << w;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  }
  // Padding must not change what the unpadded part of a stride-aligned image sees
  // much, but the crop must be exact: a 36x52 input gives 36x52 logits.
  const torch::Tensor lr = torch::rand({1, 3, 9, 13});
  const torch::Tensor hr_logits = m.segment_lr(lr, {2, true, nullptr});
  EXPECT_EQ(hr_logits.sizes(), (std::vector<int64_t>{1, 4, 36, 52}));
  EXPECT_THROW(m.classify(torch::rand({3, 8, 8})), Error);
}

TEST(Networks, UpsampleIsBicubicByTheScaleFactor) {
  Model m(small_config());
  const torch::Tensor lr = torch::rand({1, 3, 5, 6});
  const torch::Tensor up = m.upsample_lr(lr);
  EXPECT_EQ(up.sizes(), (std::vector<int64_t>{1, 3, 20, 24}));
  EXPECT_GE(up.min().item<float>(), 0.0f);
  EXPECT_LE(up.max().item<float>(), 1.0f);
  // A constant image stays constant.
  EXPECT_TRUE(torch::allclose(m.upsample_lr(torch::full({1, 3, 4, 4}, 0.25)), torch::full({1, 3, 16, 16}, 0.25)));
}

TEST(Networks, TimestepEmbeddingIsSinusoidal) {
  const torch::Tensor e = timestep_embedding(torch::tensor({0.0f, 1.0f, 250.0f}), 8);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{3, 8}));
  for (int k = 0; k < 4; ++k) {
    const double f = std::exp(-std::log(10000.0) * k / 4);
    EXPECT_NEAR(e[0][k].item<float>(), 1.0, 1e-6);
    EXPECT_NEAR(e[0][4 + k].item<float>(), 0.0, 1e-6);
    EXPECT_NEAR(e[1][k].item<float>(), std::cos(f), 1e-5);
    EXPECT_NEAR(e[2][4 + k].item<float>(), std::sin(250 * f), 1e-3);
  }
}

TEST(Networks, BridgeNetDependsOnTimeAndCondition) {
  Model m(small_config());
  randomise_bridge(m);
  m.eval();
  torch::NoGradGuard g;
  const torch::Tensor zt = torch::randn({1, 6, 4, 4}), zlr = torch::randn({1, 6, 4, 4});
  auto& net = m.bridge_net();
  const torch::Tensor a = net->forward(zt, zlr, torch::tensor({10.0f}));
  EXPECT_EQ(a.sizes(), zt.sizes());
  EXPECT_FALSE(torch::allclose(a, net->forward(zt, zlr, torch::tensor({900.0f}))));
  EXPECT_FALSE(torch::allclose(a, net->forward(zt, torch::zeros_like(zlr), torch::tensor({10.0f}))));
}

TEST(Networks, UntrainedBridgeIsTheIdentityWalk) {
  // The output layer starts at zero, so pred_x0 = x_t, and each posterior
  // step mixes x_t with itself (coefficients sum to 1): z stays z1.
  Model m(small_config());
  m.eval();
  torch::NoGradGuard g;
  const torch::Tensor z1 = torch::randn({1, 6, 5, 5});
  EXPECT_TRUE(torch::allclose(m.run_bridge(z1, {4, true, nullptr}), z1, 1e-5, 1e-5));
  // So the whole path equals the classifier on the LR-up image.
  const torch::Tensor lr = torch::rand({1, 3, 6, 6});
  EXPECT_TRUE(torch::allclose(m.segment_lr(lr, {4, true, nullptr}), m.classify(m.upsample_lr(lr)), 1e-4, 1e-4));
}

TEST(Networks, SeedOrOtOdeMakesTheWholePathDeterministic) {
  Model m(small_config());
  randomise_bridge(m);
  m.eval();
  torch::NoGradGuard g;
  const torch::Tensor lr = torch::rand({1, 3, 8, 8});
  at::Generator g1 = make_generator(5), g2 = make_generator(5), g3 = make_generator(6);
  const torch::Tensor a = m.segment_lr(lr, {4, false, &g1});
  EXPECT_TRUE(torch::equal(a, m.segment_lr(lr, {4, false, &g2})));
  EXPECT_FALSE(torch::equal(a, m.segment_lr(lr, {4, false, &g3})));
  EXPECT_TRUE(torch::equal(m.segment_lr(lr, {4, true, nullptr}), m.segment_lr(lr, {4, true, nullptr})));
  // NFE 0 means the model's default, and NFE must stay below T.
  EXPECT_TRUE(torch::equal(m.segment_lr(lr, {0, true, nullptr}), m.segment_lr(lr, {m.config().default_nfe, true, nullptr})));
  EXPECT_THROW(m.segment_lr(lr, {1000, true, nullptr}), Error);
}

TEST(Networks, WithoutBridgeTheModelIsAPlainSegmenter) {
  Model m(small_config(false));
  m.eval();
  torch::NoGradGuard g;
  EXPECT_FALSE(m.has_bridge());
  EXPECT_THROW(m.bridge_net(), Error);
  EXPECT_EQ(m.parameter_count("bridge."), 0);
  const torch::Tensor lr = torch::rand({1, 3, 7, 5});
  EXPECT_TRUE(torch::equal(m.segment_lr(lr), m.classify(m.upsample_lr(lr))));
}

TEST(Networks, ClassifierLearnsATinyBatch) {
  torch::manual_seed(0);
  Model m(small_config());
  m.train();
  std::vector<torch::Tensor> params = m.encoder()->parameters();
  for (auto& p : m.decoder()->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(3e-3));
  // Class = the grey level of a 4x4 block; learnable from the pixels themselves.
  const torch::Tensor target =
      torch::randint(0, 4, {2, 4, 4}, torch::kLong).repeat_interleave(4, 1).repeat_interleave(4, 2).contiguous();
  const torch::Tensor palette = torch::tensor({0.1f, 0.4f, 0.7f, 0.95f});
  const torch::Tensor x = palette.index_select(0, target.flatten()).view({2, 1, 16, 16}).expand({2, 3, 16, 16}).contiguous();
  float first = 0, last = 0;
  for (int it = 0; it < 60; ++it) {
    opt.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(m.classify(x), target);
    loss.backward();
    opt.step();
    (it == 0 ? first : last) = loss.item<float>();
  }
  EXPECT_LT(last, 0.5f * first);
}

TEST(Networks, ParameterCountsAddUp) {
  Model m(small_config());
  const int64_t total = m.parameter_count();
  EXPECT_EQ(total, m.parameter_count("encoder.") + m.parameter_count("decoder.") + m.parameter_count("bridge."));
  int64_t direct = 0;
  for (const auto& p : m.encoder()->parameters()) direct += p.numel();
  EXPECT_EQ(direct, m.parameter_count("encoder."));
  EXPECT_GT(m.parameter_count("bridge."), 0);
}

// load_model counts a config's parameters from the networks' plans before
// building anything: that count must be what the built modules hold, for
// every architecture variant (skip convolutions, no blocks, no bridge...).
TEST(Networks, ThePlanCountsExactlyTheParametersTheModulesBuild) {
  std::vector<ModelConfig> configs(5, small_config());
  configs[1].bridge.reset();
  configs[2].classifier.blocks_per_level = 0;
  configs[2].bridge = BridgeArch{4, 0, 2};
  configs[3].classifier.widths = {5};
  configs[3].classifier.blocks_per_level = 3;
  configs[4].classifier.widths = {7, 12, 20, 24};  // odd widths: GroupNorm with fewer groups
  configs[4].bridge = BridgeArch{12, 3, 6};
  configs[4].classes = ModelConfig::make_default(9).classes;
  for (size_t i = 0; i < configs.size(); ++i) {
    const Model m(configs[i]);
    EXPECT_EQ(plan::parameter_count(configs[i]), static_cast<double>(m.parameter_count())) << "variant " << i;
  }
}
