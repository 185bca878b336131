// SPDX-License-Identifier: MIT
// Writes the fuzzer's seed corpus: small valid bundles that differ in what
// the loader branches on (family, bridge or not, schedule kind, classes,
// metadata), saved by the same code path as `i2sbseg train`.
//   make_seeds OUT_DIR
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include <i2sbseg/config.h>
#include <i2sbseg/model.h>

using namespace i2sbseg;

namespace {

ModelConfig tiny(int classes, int latent) {
  ModelConfig c = ModelConfig::make_default(classes);
  c.classifier.widths = {4, 8};
  c.classifier.latent_channels = latent;
  c.latent_mean.assign(latent, 0.25f);
  c.latent_std.assign(latent, 1.5f);
  c.bridge = BridgeArch{4, 1, 4};
  c.schedule.steps = 20;
  c.default_nfe = 2;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    torch::manual_seed(1);
    int n = 0;
    auto save = [&](const ModelConfig& c) { save_model(Model(c), (dir / ("seed-" + std::to_string(n++) + ".i2sb")).string()); };

    save(tiny(2, 2));
    ModelConfig no_bridge = tiny(3, 2);
    no_bridge.bridge.reset();
    save(no_bridge);
    ModelConfig linear = tiny(4, 3);
    linear.schedule.kind = ScheduleKind::Linear;
    linear.metadata_json = R"({"trained_on":"seed","iters":[1,2,3]})";
    save(linear);
    ModelConfig cosine = tiny(2, 1);
    cosine.schedule.kind = ScheduleKind::Cosine;
    cosine.scale_factor = 2;
    cosine.classifier.widths = {4};
    cosine.classes[1].name = "n\u00e4me with \"quotes\"";
    save(cosine);
    // Family v2: its own arch section and tensor names.
    ModelConfig v2 = ModelConfig::make_default_v2(3);
    v2.v2 = V2Arch{4, {4, 6}, 4, 2, {4}, {1, 2}};
    v2.scale_factor = 2;
    v2.latent_mean.assign(2, 0.25f);
    v2.latent_std.assign(2, 1.5f);
    v2.bridge = BridgeArch{4, 1, 4};
    v2.schedule.steps = 20;
    v2.default_nfe = 2;
    save(v2);
    std::printf("%d seeds in %s\n", n, dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
}
