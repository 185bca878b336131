// SPDX-License-Identifier: MIT
// The bridge network types (docs/design.md §4 "Bridge networks"): the
// conv_bn net's folded inference against its unfolded layers in float64 at
// every step index and through the sampler at every NFE, the config's type
// field, and bundles of both types.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/bridge_net.h>
#include <i2sbseg/bridge_net_conv_bn.h>
#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include "../../lib/src/model/network_plan.h"  // internal: the parameter count load_model checks
#include "../common/small_model.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::randomise;
using i2sbseg::testing::TempDir;

namespace {

// Random weights, and BatchNorm statistics far from the identity so that
// folding them has something to do.
void randomise_with_statistics(torch::nn::Module& net, int seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard g;
  for (auto& p : net.named_parameters()) p.value().copy_(torch::randn_like(p.value()) * 0.3);
  for (auto& b : net.named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().copy_(torch::randn_like(b.value()) * 0.5);
    if (b.key().find("running_var") != std::string::npos) b.value().copy_(torch::rand_like(b.value()) * 2 + 0.2);
  }
}

ModelConfig conv_bn_config(int steps) {
  ModelConfig c = ModelConfig::make_default_v2(4);
  c.v2.stem_channels = 8;
  c.v2.context_widths = {8, 16};
  c.v2.fpn_channels = 8;
  c.v2.latent_channels = 6;
  c.v2.decoder_widths = {8, 8};
  c.v2.pool_bins = {1, 2};
  c.latent_mean.assign(6, 0.1f);
  c.latent_std.assign(6, 2.0f);
  c.bridge = BridgeArch{8, 2, 8, BridgeType::kConvBn};
  c.schedule.steps = steps;
  c.default_nfe = 1;
  return c;
}

}  // namespace

// Every step index of a 1000-step schedule (so every NFE's steps): the
// folded step, in float64, equals the unfolded layers (BatchNorm with its
// statistics, the time MLP and shifts) within 1e-10 of the output's size.
TEST(BridgeNets, FoldedConvBnStepEqualsTheUnfoldedNetworkInFloat64AtEveryStep) {
  const int latent = 5;
  const Bridge bridge(Schedule::make({}));
  BridgeNet net = make_bridge_net(latent, BridgeArch{8, 3, 16, BridgeType::kConvBn});
  ASSERT_NE(net->as<ConvBnBridgeImpl>(), nullptr);
  randomise_with_statistics(*net, 7);
  net->to(torch::kFloat64);
  net->eval();
  torch::NoGradGuard g;
  torch::manual_seed(8);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor zt = torch::randn({2, latent, 5, 7}, f64), zlr = torch::randn({2, latent, 5, 7}, f64);
  const torch::Tensor steps = torch::arange(bridge.steps(), torch::kLong);
  const torch::Tensor levels = bridge.noise_level(steps).to(torch::kFloat64);

  // The reference: every step's output before folding.
  std::vector<torch::Tensor> reference;
  const torch::Tensor cond = net->condition(zlr);
  for (int k = 0; k < bridge.steps(); ++k)
    reference.push_back(net->forward(zt, zlr, levels.narrow(0, k, 1).expand({2})));
  EXPECT_FALSE(net->folded());
  net->fold(bridge.noise_level(steps));  // float32 levels, as Model passes them
  ASSERT_TRUE(net->folded());
  const torch::Tensor folded_cond = net->condition(zlr);
  double worst = 0, scale = 0;
  for (int k = 0; k < bridge.steps(); ++k) {
    const torch::Tensor out = net->forward_step(zt, folded_cond, k, torch::Tensor());
    worst = std::max(worst, (out - reference[k]).abs().max().item<double>());
    scale = std::max(scale, reference[k].abs().max().item<double>());
  }
  ASSERT_GT(scale, 0.5) << "the random net must act";
  EXPECT_LT(worst, 1e-10 * scale) << "worst " << worst;
  // The steps differ: the time input is not folded away.
  EXPECT_GT((reference[0] - reference[999]).abs().max().item<double>(), 1e-3 * scale);
  EXPECT_THROW(net->forward_step(zt, folded_cond, bridge.steps(), torch::Tensor()), Error);
}

// Through Model: the folded path of fold_for_inference against the same
// model unfolded, for every NFE a 24-step schedule allows (1 ... 23),
// stochastic sampling with noise drawn ahead and the OT-ODE, float32.
TEST(BridgeNets, FoldedModelWalksAsTheUnfoldedOneAtEveryNfe) {
  const ModelConfig c = conv_bn_config(24);
  Model plain(c), folded(c);
  randomise(plain, 3);
  randomise_with_statistics(*plain.bridge_net(), 4);
  {
    torch::NoGradGuard g;
    const auto src = plain.named_tensors();
    auto dst = folded.named_tensors();
    for (size_t i = 0; i < src.size(); ++i) dst[i].second.copy_(src[i].second);
  }
  plain.eval();
  folded.eval();
  folded.fold_for_inference();
  ASSERT_TRUE(folded.bridge_net()->folded());
  ASSERT_FALSE(plain.bridge_net()->folded());
  torch::NoGradGuard g;
  const torch::Tensor z1 = torch::randn({2, 6, 4, 5});
  for (int nfe = 1; nfe < c.schedule.steps; ++nfe) {
    at::Generator gen = make_generator(10 + nfe);
    const std::vector<torch::Tensor> noise = plain.bridge().draw_noise(z1, nfe, &gen);
    for (bool ot_ode : {false, true}) {
      SampleOptions so;
      so.nfe = nfe;
      so.ot_ode = ot_ode;
      so.noise = &noise;
      const torch::Tensor a = plain.run_bridge(z1, so), b = folded.run_bridge(z1, so);
      ASSERT_GT((a - z1).abs().max().item<float>(), 1e-3f) << "the bridge must move z1";
      EXPECT_LT((a - b).abs().max().item<float>(), 1e-4f * (1 + a.abs().max().item<float>()))
          << "nfe " << nfe << (ot_ode ? " ot-ode" : "");
    }
  }
}

// An untrained conv_bn net is the identity walk, as the GroupNorm one is.
TEST(BridgeNets, UntrainedConvBnBridgeIsTheIdentityWalk) {
  Model m(conv_bn_config(1000));
  m.eval();
  m.fold_for_inference();
  torch::NoGradGuard g;
  const torch::Tensor z1 = torch::randn({1, 6, 3, 4});
  EXPECT_TRUE(torch::allclose(m.run_bridge(z1, {4, true, nullptr}), z1, 1e-5, 1e-5));
}

// The config names the type; a bundle without one (written before conv_bn
// existed) is groupnorm; an unknown type is refused naming it.
TEST(BridgeNets, ConfigNamesTheTypeAndRefusesAnUnknownOne) {
  ModelConfig c = conv_bn_config(1000);
  EXPECT_NE(c.to_json(-1).find("\"type\":\"conv_bn\""), std::string::npos);
  EXPECT_EQ(ModelConfig::from_json(c.to_json()).bridge->type, BridgeType::kConvBn);
  c.bridge->type = BridgeType::kGroupNorm;
  EXPECT_EQ(ModelConfig::from_json(c.to_json()).bridge->type, BridgeType::kGroupNorm);

  const std::string json = c.to_json(-1);  // compact: keys in order, "type" last in "bridge"
  const std::string typed = ",\"type\":\"groupnorm\"";
  const size_t at = json.find(typed);
  ASSERT_NE(at, std::string::npos) << json;
  std::string untyped = json;
  untyped.erase(at, typed.size());
  EXPECT_EQ(ModelConfig::from_json(untyped).bridge->type, BridgeType::kGroupNorm);

  std::string unknown = json;
  unknown.replace(at, typed.size(), ",\"type\":\"transformer\"");
  try {
    ModelConfig::from_json(unknown);
    FAIL() << "an unknown bridge type must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
    EXPECT_EQ(e.field(), "bridge.type");
    EXPECT_NE(std::string(e.what()).find("'transformer'"), std::string::npos) << e.what();
  }
}

// Each type's bundle loads back as that type with the same weights and
// output; the plan counts each type's weights as the module holds them.
TEST(BridgeNets, BundlesOfEachTypeRoundTrip) {
  TempDir dir;
  for (BridgeType type : {BridgeType::kConvBn, BridgeType::kGroupNorm}) {
    ModelConfig c = conv_bn_config(1000);
    c.bridge->type = type;
    Model m(c);
    randomise(m, 5);
    EXPECT_EQ(plan::parameter_count(c), static_cast<double>(m.parameter_count())) << to_string(type);
    const std::string path = dir.file(to_string(type) + ".i2sb");
    save_model(m, path);
    Model back = load_model(path);
    EXPECT_EQ(back.config().bridge->type, type);
    m.eval();
    torch::NoGradGuard g;
    const torch::Tensor lr = torch::rand({1, 3, 8, 12});
    EXPECT_TRUE(torch::equal(m.segment_lr(lr, {2, true, nullptr}), back.segment_lr(lr, {2, true, nullptr})))
        << to_string(type);
  }
}
