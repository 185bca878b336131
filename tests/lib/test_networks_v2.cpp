// SPDX-License-Identifier: MIT
// The v2 family: latent and logit shapes at every scale and odd sizes, the
// config's family field, BatchNorm folding against float64, bundles round
// trips, and v1 bundles unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <torch/torch.h>

#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include "../../lib/src/model/network_plan.h"  // internal: the parameter count load_model checks
#include "../common/fnv1a.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;

namespace {

// A small v2 config at `scale` (decoder widths: one per x2 step).
ModelConfig v2_config(int scale = 4, bool with_bridge = true) {
  ModelConfig c = ModelConfig::make_default_v2(4);
  c.scale_factor = scale;
  c.v2.stem_channels = 6;
  c.v2.context_widths = {8, 12};
  c.v2.fpn_channels = 8;
  c.v2.latent_channels = 5;
  c.v2.pool_bins = {1, 3};
  c.v2.decoder_widths.clear();
  for (int s = scale, w = 12; s > 1 || c.v2.decoder_widths.empty(); s /= 2, w -= 2) c.v2.decoder_widths.push_back(w);
  c.latent_mean.assign(5, 0.1f);
  c.latent_std.assign(5, 2.0f);
  if (with_bridge)
    c.bridge = BridgeArch{8, 1, 8};
  else
    c.bridge.reset();
  return c;
}

// Non-trivial BatchNorm statistics and affine maps, and a bridge that acts.
void randomise(Model& m) {
  torch::NoGradGuard g;
  for (auto& [name, t] : m.named_tensors()) {
    if (name.find("running_var") != std::string::npos)
      t.copy_(torch::rand_like(t) * 1.5 + 0.25);
    else if (name.find("running_mean") != std::string::npos || name.find(".bn.") != std::string::npos)
      t.copy_(torch::randn_like(t) * 0.5 + (name.find("bn.weight") != std::string::npos ? 1.0 : 0.0));
    else if (name.rfind("bridge.", 0) == 0)
      t.add_(torch::randn_like(t) * 0.05);
  }
}

std::filesystem::path models_dir() {
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "models";
}

// The fingerprint tests' LR input: smooth ramps and a checker, 32x24, no
// random numbers.
torch::Tensor fingerprint_picture() {
  const torch::Tensor y = torch::arange(24, torch::kFloat32).view({1, 1, 24, 1}) / 24;
  const torch::Tensor x = torch::arange(32, torch::kFloat32).view({1, 1, 1, 32}) / 32;
  const torch::Tensor lr = torch::cat({y.expand({1, 1, 24, 32}), x.expand({1, 1, 24, 32}),
                                       (torch::sin(y * 17) * torch::cos(x * 11) + 1) / 2},
                                      1);
  return lr;
}

}  // namespace

TEST(NetworksV2, LatentsAndLogitsHaveTheLrGridShapeAtEveryScale) {
  torch::manual_seed(0);
  for (int s : {1, 2, 4, 8}) {
    Model m(v2_config(s));
    m.eval();
    torch::NoGradGuard g;
    for (auto [h, w] : std::vector<std::pair<int, int>>{{17, 23}, {1, 1}, {8, 8}, {5, 12}}) {
      const torch::Tensor lr = torch::rand({2, 3, h, w}), hr = torch::rand({2, 3, s * h, s * w});
      const std::vector<int64_t> latent{2, 5, h, w};
      EXPECT_EQ(m.encode_lr(lr).sizes(), latent) << "x" << s << " " << h << "x" << w;
      EXPECT_EQ(m.encode_hr(hr).sizes(), latent) << "x" << s << " " << h << "x" << w;
      EXPECT_EQ(m.latent_shape(2, s * h, s * w), latent);
      const std::vector<int64_t> logits{2, 4, s * h, s * w};
      EXPECT_EQ(m.classify_lr(lr).sizes(), logits);
      EXPECT_EQ(m.classify(hr).sizes(), logits);
      EXPECT_EQ(m.segment_lr(lr, {2, true, nullptr}).sizes(), logits);
    }
    // An HR size that is not a multiple of the scale: ceil cells, exact crop.
    EXPECT_EQ(m.classify(torch::rand({1, 3, 3 * s + 1, 2 * s + 1})).sizes(),
              (std::vector<int64_t>{1, 4, 3 * s + 1, 2 * s + 1}));
  }
}

TEST(NetworksV2, ScalesThatAreNotPowersOfTwoAreRefusedNamingTheField) {
  ModelConfig c = v2_config(4);
  c.scale_factor = 3;
  try {
    c.validate();
    FAIL() << "scale 3 should be refused for v2";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "scale_factor") << e.what();
  }
  c = v2_config(4);
  c.v2.decoder_widths = {8};  // x4 needs two steps
  try {
    c.validate();
    FAIL() << "one decoder width for two steps should be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "v2.decoder_widths") << e.what();
  }
  c = v2_config(4);
  c.v2.context_widths = {8};  // one level: only 1/8 of HR
  try {
    c.validate();
    FAIL() << "one context level should be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "v2.context_widths") << e.what();
  }
}

TEST(NetworksV2, ConfigRoundTripsAndTheFamilyDefaultsToV1) {
  const ModelConfig c = v2_config(8);
  const ModelConfig back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.family, ModelFamily::kV2);
  EXPECT_EQ(back.v2.context_widths, c.v2.context_widths);
  EXPECT_EQ(back.v2.decoder_widths, c.v2.decoder_widths);
  EXPECT_EQ(back.v2.pool_bins, c.v2.pool_bins);
  EXPECT_EQ(back.v2.stem_channels, 6);
  EXPECT_EQ(back.v2.fpn_channels, 8);
  EXPECT_EQ(back.latent_channels(), 5);
  EXPECT_EQ(back.to_json(), c.to_json());
  // A config without the key (every bundle before v2) is v1.
  std::string v1 = ModelConfig::make_default(3).to_json(-1);
  const std::string key = "\"family\":\"v1\",";
  ASSERT_NE(v1.find(key), std::string::npos) << v1;
  v1.erase(v1.find(key), key.size());
  EXPECT_EQ(ModelConfig::from_json(v1).family, ModelFamily::kV1);
}

TEST(NetworksV2, AnUnknownFamilyIsRefusedNamingIt) {
  std::string text = v2_config().to_json(-1);
  text.replace(text.find("\"v2\""), 4, "\"v7\"");
  try {
    ModelConfig::from_json(text);
    FAIL() << "family v7 should be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
    EXPECT_EQ(e.field(), "family");
    EXPECT_NE(std::string(e.what()).find("'v7'"), std::string::npos) << e.what();
  }
}

// The fold's formula on one channel, by hand: W' = W*g/sqrt(v+eps),
// b' = (b-m)*g/sqrt(v+eps) + beta.
TEST(NetworksV2, FoldingOneChannelMatchesTheFormula) {
  ConvBnAct layer(1, 1, 1, 1, 1, true, false);
  layer->eval();
  torch::NoGradGuard g;
  auto p = layer->named_parameters();
  auto b = layer->named_buffers();
  p["conv.weight"].fill_(2.0);
  p["conv.bias"].fill_(1.0);
  p["bn.weight"].fill_(3.0);
  p["bn.bias"].fill_(0.5);
  b["bn.running_mean"].fill_(0.25);
  b["bn.running_var"].fill_(4.0 - 1e-5);  // sqrt(v + eps) = 2
  const torch::Tensor x = torch::tensor({-1.0f, 0.0f, 2.0f}).view({1, 1, 1, 3});
  const torch::Tensor before = layer->forward(x);
  layer->fold();
  EXPECT_TRUE(layer->folded());
  EXPECT_NEAR(p["conv.weight"].item<float>(), 3.0, 1e-6);    // 2*3/2
  EXPECT_NEAR(p["conv.bias"].item<float>(), 1.625, 1e-6);    // (1-0.25)*3/2 + 0.5
  EXPECT_TRUE(torch::allclose(layer->forward(x), before, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(before, torch::tensor({-1.375f, 1.625f, 7.625f}).view({1, 1, 1, 3}), 1e-6, 1e-6));
}

// Folded and unfolded networks in float64 (eval mode, random BatchNorm
// statistics): the same logits to 1e-9 relative, so the fold is exact up to
// float64 rounding; in float32 through Model, to 1e-4.
TEST(NetworksV2, FoldedBatchNormGivesTheUnfoldedLogits) {
  torch::manual_seed(3);
  Model m(v2_config(4, false));
  randomise(m);
  m.eval();
  torch::NoGradGuard g;
  const torch::Tensor lr = torch::rand({2, 3, 12, 8});
  const torch::Tensor lr64 = m.normalise(lr).to(torch::kFloat64);
  EncoderV2& enc = m.lr_encoder();
  DecoderV2& dec = m.decoder_v2();
  enc->to(torch::kFloat64);
  dec->to(torch::kFloat64);
  const torch::Tensor reference = dec->forward(enc->forward(lr64));
  fold_batch_norms(*enc);
  fold_batch_norms(*dec);
  const torch::Tensor folded = dec->forward(enc->forward(lr64));
  const double scale = reference.abs().max().item<double>();
  EXPECT_GT(scale, 0.1);
  EXPECT_LT((folded - reference).abs().max().item<double>(), 1e-9 * scale);

  torch::manual_seed(3);
  Model f(v2_config(4, true));
  randomise(f);
  f.eval();
  const torch::Tensor hr = torch::rand({1, 3, 40, 28});
  const torch::Tensor a = f.segment_lr(lr, {2, true, nullptr}), c = f.classify(hr);
  const torch::Tensor w = f.decoder_v2()->named_parameters()["in.conv.weight"].clone();
  f.fold_for_inference();
  EXPECT_FALSE(torch::equal(w, f.decoder_v2()->named_parameters()["in.conv.weight"])) << "nothing was folded";
  EXPECT_TRUE(torch::allclose(f.segment_lr(lr, {2, true, nullptr}), a, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(f.classify(hr), c, 1e-4, 1e-4));
}

TEST(NetworksV2, SaveLoadKeepsTheLogitsAndAFoldedModelStillSavesCorrectly) {
  i2sbseg::testing::TempDir dir;
  torch::manual_seed(4);
  Model m(v2_config(2));
  randomise(m);
  m.eval();
  torch::NoGradGuard g;
  const torch::Tensor lr = torch::rand({1, 3, 9, 11});
  const torch::Tensor expected = m.segment_lr(lr, {3, true, nullptr});
  save_model(m, dir.file("v2.i2sb"));
  Model loaded = load_model(dir.file("v2.i2sb"));
  EXPECT_EQ(loaded.family(), ModelFamily::kV2);
  EXPECT_GT(loaded.parameter_count("encoder_hr."), 0);
  EXPECT_TRUE(torch::equal(loaded.segment_lr(lr, {3, true, nullptr}), expected));
  loaded.fold_for_inference();
  save_model(loaded, dir.file("folded.i2sb"));
  EXPECT_TRUE(torch::allclose(load_model(dir.file("folded.i2sb")).segment_lr(lr, {3, true, nullptr}), expected, 1e-4,
                              1e-4));
}

TEST(NetworksV2, WithoutBridgeItIsTheDirectModel) {
  Model m(v2_config(4, false));
  m.eval();
  torch::NoGradGuard g;
  EXPECT_EQ(m.parameter_count("bridge."), 0);
  const torch::Tensor lr = torch::rand({1, 3, 7, 5});
  EXPECT_TRUE(torch::equal(m.segment_lr(lr), m.classify_lr(lr)));
  // BatchNorm trains on a batch (running statistics move).
  m.train();
  const torch::Tensor mean = m.lr_encoder()->named_buffers()["stem.bn.running_mean"].clone();
  m.classify_lr(torch::rand({2, 3, 8, 8}));
  EXPECT_FALSE(torch::equal(mean, m.lr_encoder()->named_buffers()["stem.bn.running_mean"]));
}

TEST(NetworksV2, ThePlanCountsExactlyTheTensorsTheModulesHold) {
  std::vector<ModelConfig> configs{v2_config(1), v2_config(2, false), v2_config(4), v2_config(8)};
  configs[2].v2.context_widths = {7, 9, 11, 13};
  configs[2].v2.pool_bins = {1, 2, 3, 6};
  for (size_t i = 0; i < configs.size(); ++i) {
    const Model m(configs[i]);
    EXPECT_EQ(plan::parameter_count(configs[i]), static_cast<double>(m.parameter_count())) << "variant " << i;
    EXPECT_EQ(m.parameter_count(), m.parameter_count("encoder.") + m.parameter_count("encoder_hr.") +
                                       m.parameter_count("decoder.") + m.parameter_count("bridge."));
  }
}

// A hostile v2 config is refused from the plan's count before any allocation.
TEST(NetworksV2, AHugeV2ConfigWithFewWeightsIsRefusedBeforeAllocating) {
  i2sbseg::testing::TempDir dir;
  save_model(Model(v2_config(4)), dir.file("good.i2sb"));
  BundleContents contents = read_bundle_file(dir.file("good.i2sb"));
  ModelConfig huge = v2_config(16);
  huge.v2.context_widths = {4096, 4096, 4096, 4096, 4096, 4096};
  huge.v2.fpn_channels = 4096;
  huge.v2.decoder_widths.assign(4, 4096);
  contents.config_json = huge.to_json();
  write_bundle_file(dir.file("huge.i2sb"), contents);
  try {
    load_model(dir.file("huge.i2sb"));
    FAIL() << "a huge config should be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadFile);
    EXPECT_NE(std::string(e.what()).find("networks need at least"), std::string::npos) << e.what();
  }
}

// v1 bundles (models/v1/, shipped until the v2 ones) load as v1 and give the
// class maps they gave before v2 existed
// (fingerprints computed with the v1-only library on the same input).
TEST(NetworksV2, ShippedV1BundlesGiveTheSameMasksAsBefore) {
  const std::vector<std::pair<const char*, std::uint64_t>> expected{{"default.i2sb", 0x41048218adf5b996ull},
                                                                    {"direct.i2sb", 0x298cfa02a9950fdaull}};
  torch::set_num_threads(1);
  torch::NoGradGuard g;
  const torch::Tensor lr = fingerprint_picture();
  for (const auto& [name, hash] : expected) {
    Model m = load_model((models_dir() / "v1" / name).string());
    EXPECT_EQ(m.family(), ModelFamily::kV1) << name;
    EXPECT_EQ(ModelConfig::from_json(m.config().to_json()).family, ModelFamily::kV1);
    const torch::Tensor map = m.segment_lr(lr, {0, true, nullptr}).argmax(1).to(torch::kUInt8).contiguous();
    const std::uint64_t h = i2sbseg::testing::fnv1a(map.data_ptr<std::uint8_t>(), map.numel());
    EXPECT_EQ(h, hash) << name;
  }
}

// The v2 bridge model shipped until 2026-12-04 (models/v2-groupnorm/: a
// groupnorm bridge, its config without a bridge type) loads as that type and
// gives the class maps it gave when it was the default; the fingerprints
// were first computed on 2026-12-04 by the code that added the conv_bn type,
// whose groupnorm path is the earlier code's, and the demo's figures for this
// model (labelled clip, flicker) were checked equal to the ones before.
constexpr std::uint64_t kGroupNormNfe1 = 0x9c2de3bcbf8cd3f6ull, kGroupNormNfe4 = 0x7361f04830c35281ull;
TEST(NetworksV2, TheGroupNormV2BundleGivesTheSameMasksAsBefore) {
  torch::set_num_threads(1);
  torch::NoGradGuard g;
  const torch::Tensor lr = fingerprint_picture();
  const std::string path = (models_dir() / "v2-groupnorm" / "default.i2sb").string();
  EXPECT_EQ(read_bundle_file(path).config_json.find("\"type\""), std::string::npos)
      << "a bundle from before the bridge types";
  Model m = load_model(path);
  ASSERT_TRUE(m.has_bridge());
  EXPECT_EQ(m.config().bridge->type, BridgeType::kGroupNorm);
  m.fold_for_inference();  // as Segmenter::open does
  std::vector<std::uint64_t> hashes;
  for (int nfe : {1, 4}) {
    const torch::Tensor map = m.segment_lr(lr, {nfe, true, nullptr}).argmax(1).to(torch::kUInt8).contiguous();
    hashes.push_back(i2sbseg::testing::fnv1a(map.data_ptr<std::uint8_t>(), map.numel()));
  }
  EXPECT_EQ(hashes, (std::vector<std::uint64_t>{kGroupNormNfe1, kGroupNormNfe4}));
}

// The shipped models are v2: the bridge model and its direct baseline share
// the classes and scale, and folding their BatchNorms for inference leaves
// the masks they give unchanged (float32 rounding aside: <0.1% of pixels).
TEST(NetworksV2, ShippedModelsAreV2AndFoldWithoutChangingTheirMasks) {
  torch::set_num_threads(1);
  torch::NoGradGuard g;
  Model bridge = load_model((models_dir() / "default.i2sb").string());
  Model direct = load_model((models_dir() / "direct.i2sb").string());
  EXPECT_EQ(bridge.family(), ModelFamily::kV2);
  EXPECT_EQ(direct.family(), ModelFamily::kV2);
  EXPECT_TRUE(bridge.has_bridge());
  EXPECT_FALSE(direct.has_bridge());
  EXPECT_EQ(bridge.config().scale_factor, direct.config().scale_factor);
  ASSERT_EQ(bridge.config().num_classes(), direct.config().num_classes());
  for (int k = 0; k < bridge.config().num_classes(); ++k)
    EXPECT_EQ(bridge.config().classes[k].name, direct.config().classes[k].name);
  at::Generator gen = make_generator(5);
  const torch::Tensor lr = torch::rand({1, 3, 24, 32}, gen);
  const int64_t s = bridge.config().scale_factor;
  for (Model* m : {&bridge, &direct}) {
    m->eval();
    const torch::Tensor before = m->segment_lr(lr, {0, true, nullptr}).argmax(1);
    m->fold_for_inference();
    const torch::Tensor after = m->segment_lr(lr, {0, true, nullptr}).argmax(1);
    EXPECT_EQ(before.sizes(), (std::vector<int64_t>{1, 24 * s, 32 * s}));
    EXPECT_LT(before.ne(after).sum().item<int64_t>(), before.numel() / 1000 + 1);
  }
}
