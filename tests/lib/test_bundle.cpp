// SPDX-License-Identifier: MIT
// The bundle file: identical outputs after a round trip, and a clear error
// naming the file for every kind of bad file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::TempDir;

namespace {

ModelConfig small_config() {
  ModelConfig c = ModelConfig::make_default(3);
  c.classes[1] = {"animal", {200, 10, 10}};
  c.classes[2] = {"plant", {10, 200, 10}};
  c.classifier.widths = {8, 16};
  c.classifier.latent_channels = 4;
  c.latent_mean = {0.1f, -0.2f, 0.3f, 0.0f};
  c.latent_std = {1.5f, 0.5f, 1.0f, 2.0f};
  c.bridge = BridgeArch{8, 1, 8};
  c.default_nfe = 2;
  c.metadata_json = R"({"trained_on":"unit test"})";
  return c;
}

Model trained_looking_model() {
  Model m(small_config());
  torch::NoGradGuard g;
  for (auto& [name, t] : m.named_tensors()) t.add_(torch::randn_like(t) * 0.05);
  m.eval();
  return m;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Expects load_model(path) to throw an Error whose message names the path and contains `problem`.
void expect_load_error(const std::string& path, const std::string& problem) {
  try {
    load_model(path);
    FAIL() << "loading " << path << " should fail with '" << problem << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Bundle, Crc32MatchesTheStandardCheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), 0xCBF43926u);
}

TEST(Bundle, ConfigJsonRoundTrip) {
  const ModelConfig c = small_config();
  const ModelConfig back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.classes[1].name, "animal");
  EXPECT_EQ(back.latent_std[1], 0.5f);
  EXPECT_EQ(back.bridge->channels, 8);
  EXPECT_EQ(back.metadata_json, c.metadata_json);
}

TEST(Bundle, SaveLoadGivesIdenticalOutputs) {
  TempDir dir;
  Model m = trained_looking_model();
  const std::string path = dir.file("model.i2sb");
  save_model(m, path);
  Model back = load_model(path);
  EXPECT_EQ(back.config().to_json(), m.config().to_json());
  torch::NoGradGuard g;
  const torch::Tensor lr = torch::rand({1, 3, 6, 7});
  EXPECT_TRUE(torch::equal(back.segment_lr(lr, {2, true, nullptr}), m.segment_lr(lr, {2, true, nullptr})));
  at::Generator g1 = make_generator(1), g2 = make_generator(1);
  EXPECT_TRUE(torch::equal(back.segment_lr(lr, {2, false, &g1}), m.segment_lr(lr, {2, false, &g2})));
  EXPECT_TRUE(torch::equal(back.classify(m.upsample_lr(lr)), m.classify(m.upsample_lr(lr))));
  // No temporary file is left beside the bundle.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(Bundle, MissingFileDirectoryAndEmptyFileAreNamed) {
  TempDir dir;
  expect_load_error(dir.file("nope.i2sb"), "no such model file");
  expect_load_error(dir.path().string(), "is a directory");
  write_bytes(dir.file("empty.i2sb"), {});
  expect_load_error(dir.file("empty.i2sb"), "file is empty");
}

TEST(Bundle, WrongMagicAndUnknownVersionAreNamed) {
  TempDir dir;
  const std::string good = dir.file("good.i2sb");
  save_model(trained_looking_model(), good);
  std::vector<std::uint8_t> bytes = read_bytes(good);

  std::vector<std::uint8_t> png = bytes;
  png[0] = 0x89;
  write_bytes(dir.file("magic.i2sb"), png);
  expect_load_error(dir.file("magic.i2sb"), "wrong magic");

  std::vector<std::uint8_t> v2 = bytes;
  v2[8] = 2;  // format version (u32 after the 8 magic bytes)
  write_bytes(dir.file("v2.i2sb"), v2);
  expect_load_error(dir.file("v2.i2sb"), "unsupported bundle format version 2");
}

TEST(Bundle, TruncatedAndCorruptFilesAreNamed) {
  TempDir dir;
  const std::string good = dir.file("good.i2sb");
  save_model(trained_looking_model(), good);
  const std::vector<std::uint8_t> bytes = read_bytes(good);
  // Cut inside the header, the config, the tensors and the checksum.
  for (std::size_t keep : {std::size_t{5}, std::size_t{12}, std::size_t{40}, bytes.size() / 2, bytes.size() - 2}) {
    const std::string path = dir.file("cut" + std::to_string(keep) + ".i2sb");
    write_bytes(path, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + keep));
    expect_load_error(path, keep < 8 ? "wrong magic" : "truncated");
  }
  std::vector<std::uint8_t> flipped = bytes;
  flipped[bytes.size() - 100] ^= 0x40;  // inside the last tensor's data
  write_bytes(dir.file("flip.i2sb"), flipped);
  expect_load_error(dir.file("flip.i2sb"), "checksum mismatch");
  std::vector<std::uint8_t> longer = bytes;
  longer.push_back(0);
  write_bytes(dir.file("long.i2sb"), longer);
  expect_load_error(dir.file("long.i2sb"), "unexpected bytes");
}

TEST(Bundle, WeightsThatDoNotMatchTheConfigAreNamed) {
  TempDir dir;
  const std::string good = dir.file("good.i2sb");
  save_model(trained_looking_model(), good);
  const BundleContents contents = read_bundle_file(good);

  BundleContents wrong_shape = contents;
  wrong_shape.tensors[0].shape[0] += 1;
  wrong_shape.tensors[0].data.resize(wrong_shape.tensors[0].numel());
  write_bundle_file(dir.file("shape.i2sb"), wrong_shape);
  expect_load_error(dir.file("shape.i2sb"), "tensor '" + contents.tensors[0].name + "' has shape");

  BundleContents missing = contents;
  missing.tensors.pop_back();
  write_bundle_file(dir.file("missing.i2sb"), missing);
  expect_load_error(dir.file("missing.i2sb"), "tensor '" + contents.tensors.back().name + "' is missing");

  BundleContents extra = contents;
  extra.tensors.push_back({"bridge.extra", {2}, {1.0f, 2.0f}});
  write_bundle_file(dir.file("extra.i2sb"), extra);
  expect_load_error(dir.file("extra.i2sb"), "unexpected tensor 'bridge.extra'");

  // A config that asks for a wider encoder than the weights hold.
  ModelConfig wider = small_config();
  wider.classifier.widths = {12, 16};
  BundleContents mismatch = contents;
  mismatch.config_json = wider.to_json();
  write_bundle_file(dir.file("wider.i2sb"), mismatch);
  expect_load_error(dir.file("wider.i2sb"), "weights do not match the config");

  BundleContents nan = contents;
  nan.tensors[1].data[0] = std::nanf("");
  write_bundle_file(dir.file("nan.i2sb"), nan);
  expect_load_error(dir.file("nan.i2sb"), "NaN");
}

// A config asking for huge networks next to a few weights is refused before
// the model is built (building it first would allocate ~100 GB).
TEST(Bundle, AHugeConfigWithFewWeightsIsRefusedBeforeAllocating) {
  TempDir dir;
  const std::string good = dir.file("good.i2sb");
  save_model(trained_looking_model(), good);
  BundleContents contents = read_bundle_file(good);
  ModelConfig huge = small_config();
  huge.classifier.widths = {4096, 4096, 4096, 4096, 4096, 4096};
  huge.classifier.blocks_per_level = 16;
  huge.bridge = BridgeArch{4096, 64, 4096};
  contents.config_json = huge.to_json();
  write_bundle_file(dir.file("huge.i2sb"), contents);
  expect_load_error(dir.file("huge.i2sb"), "networks need at least");
}

// The size check above must never refuse a real model: every architecture
// variant loads after saving.
TEST(Bundle, EveryArchitectureVariantLoads) {
  TempDir dir;
  std::vector<ModelConfig> configs(4, small_config());
  configs[1].bridge.reset();
  configs[2].classifier.blocks_per_level = 0;
  configs[2].bridge = BridgeArch{4, 0, 2};
  configs[3].classifier.widths = {5};
  configs[3].classifier.latent_channels = 1;
  configs[3].latent_mean = {0.0f};
  configs[3].latent_std = {1.0f};
  configs[3].scale_factor = 1;
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string path = dir.file("v" + std::to_string(i) + ".i2sb");
    save_model(Model(configs[i]), path);
    EXPECT_NO_THROW(load_model(path)) << "variant " << i;
  }
}

TEST(Bundle, BadConfigsNameTheField) {
  TempDir dir;
  const std::string good = dir.file("good.i2sb");
  save_model(trained_looking_model(), good);
  const BundleContents contents = read_bundle_file(good);
  auto with_config = [&](const std::string& name, const std::string& json) {
    BundleContents c = contents;
    c.config_json = json;
    write_bundle_file(dir.file(name), c);
    return dir.file(name);
  };
  expect_load_error(with_config("notjson.i2sb", "{not json"), "not valid JSON");
  std::string cfg = small_config().to_json(-1);
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = cfg;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  expect_load_error(with_config("ver.i2sb", replaced("\"format_version\":1", "\"format_version\":7")),
                    "unsupported format_version 7");
  expect_load_error(with_config("scale.i2sb", replaced("\"scale_factor\":4", "\"scale_factor\":0")), "scale_factor");
  expect_load_error(with_config("nokey.i2sb", replaced("\"default_nfe\":2,", "")), "missing field 'default_nfe'");
  expect_load_error(with_config("sched.i2sb", replaced("\"symmetric\"", "\"wiggly\"")), "unknown schedule 'wiggly'");
  expect_load_error(with_config("stats.i2sb", replaced("\"std\":[1.5,", "\"std\":[")), "latent_std");
}

// The v1 models (shipped until the v2 ones, kept in models/v1/ for
// comparison) were written with "decoder_skips": false, a field no longer
// written: they must still load (from the source tree: meson test runs in
// the build root, against which __FILE__ is resolved).
TEST(Bundle, ShippedV1ModelsStillLoad) {
  const std::filesystem::path models = std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "models" / "v1";
  for (const char* name : {"default.i2sb", "direct.i2sb"}) {
    const std::string path = (models / name).string();
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " not found from " << std::filesystem::current_path();
    const BundleContents b = read_bundle_file(path);
    const auto config = nlohmann::json::parse(b.config_json);
    EXPECT_EQ(config["classifier"].value("decoder_skips", true), false) << name << ": the case under test";
    const Model m = load_model(path);
    EXPECT_EQ(m.config().classes[0].name, "background") << name;
    EXPECT_EQ(m.config().to_json().find("decoder_skips"), std::string::npos) << name << ": no longer written";
  }
}

TEST(Bundle, DecoderSkipsTrueIsRefusedNamingTheField) {
  std::string cfg = small_config().to_json(-1);
  const std::string widths = "\"widths\":[8,16]";
  ASSERT_NE(cfg.find(widths), std::string::npos) << cfg;
  const std::string with_false = std::string(cfg).replace(cfg.find(widths), widths.size(), widths + ",\"decoder_skips\":false");
  EXPECT_NO_THROW(ModelConfig::from_json(with_false));
  const std::string with_true = std::string(cfg).replace(cfg.find(widths), widths.size(), widths + ",\"decoder_skips\":true");
  try {
    ModelConfig::from_json(with_true);
    FAIL() << "decoder_skips true should be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("classifier.decoder_skips"), std::string::npos) << e.what();
    EXPECT_EQ(e.field(), "classifier.decoder_skips");
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
  }
}

// The config's classes follow the one class-list rule set (class_list.h).
TEST(Bundle, ConfigClassesFollowTheClassListRules) {
  auto config_error = [](const ModelConfig& c) -> std::string {
    try {
      ModelConfig::from_json(c.to_json());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  ModelConfig c = small_config();
  c.classes[2].name = "animal";
  EXPECT_NE(config_error(c).find("classes[2] (\"animal\"): the name is already used by classes[1]"), std::string::npos)
      << config_error(c);
  c = small_config();
  c.classes.resize(1);
  EXPECT_NE(config_error(c).find("needs 2 to 256 classes"), std::string::npos) << config_error(c);
  c = small_config();
  c.classes.resize(256, {"x", {1, 2, 3}});
  for (size_t k = 3; k < c.classes.size(); ++k) c.classes[k].name = "x" + std::to_string(k);
  EXPECT_EQ(config_error(c), "") << "256 classes fit an 8-bit class map";
  c.classes.push_back({"one too many", {1, 2, 3}});
  EXPECT_NE(config_error(c).find("has 257"), std::string::npos) << config_error(c);
  std::string cfg = small_config().to_json(-1);
  const std::string color = "\"color\":[200,10,10]";
  ASSERT_NE(cfg.find(color), std::string::npos) << cfg;
  cfg.replace(cfg.find(color), color.size(), "\"color\":[200,10]");
  try {
    ModelConfig::from_json(cfg);
    FAIL() << "a two-value colour should be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("classes[1] (\"animal\")"), std::string::npos) << e.what();
  }
}

TEST(Bundle, WriteFailuresNameThePathAndLeaveNoPartialFile) {
  TempDir dir;
  const Model m = trained_looking_model();
  const std::string bad = dir.file("no/such/dir/model.i2sb");
  try {
    save_model(m, bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  // Overwriting keeps the old file until the new one is complete.
  const std::string path = dir.file("m.i2sb");
  save_model(m, path);
  const auto before = read_bytes(path);
  save_model(m, path);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}
