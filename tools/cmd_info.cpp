// SPDX-License-Identifier: MIT
// `i2sbseg info MODEL`: what a bundle holds, without loading LibTorch modules.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include <i2sbseg/bundle.h>
#include <i2sbseg/config.h>
#include <i2sbseg/error.h>

#include "commands.h"

namespace i2sbseg::tools {
namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
};

std::string joined(const std::vector<int>& v) {
  std::string out;
  for (int w : v) out += (out.empty() ? "" : "/") + std::to_string(w);
  return out;
}

// The family and its layer widths, one line per network.
void print_networks(const ModelConfig& c) {
  std::printf("family         %s\n", to_string(c.family).c_str());
  if (c.family == ModelFamily::kV2) {
    const V2Arch& v = c.v2;
    std::printf("encoders       LR (3x3 stem) and HR (%dx%d patchify stem): stem %d ch at the LR grid, context %s "
                "at 1/2..1/%d of it, pyramid pooling bins %s, FPN %d ch; latent %d ch at the LR grid\n",
                c.scale_factor, c.scale_factor, v.stem_channels, joined(v.context_widths).c_str(), v.trunk_stride(),
                joined(v.pool_bins).c_str(), v.fpn_channels, v.latent_channels);
    std::printf("decoder        sub-pixel, widths %s, x%d to HR, reads the latent only\n",
                joined(v.decoder_widths).c_str(), c.scale_factor);
    return;
  }
  const ClassifierArch& a = c.classifier;
  std::printf("classifier     widths %s, %d block(s)/level, latent %d ch at 1/%d, decoder reads the latent only\n",
              joined(a.widths).c_str(), a.blocks_per_level, a.latent_channels, a.downsample_factor());
}

int run_info(const InfoOptions& o) {
  const BundleContents b = read_bundle_file(o.model);
  ModelConfig c;
  try {
    c = ModelConfig::from_json(b.config_json);
  } catch (const Error& e) {
    throw Error(o.model + ": " + e.what());
  }
  std::map<std::string, std::int64_t> params{{"encoder", 0}, {"decoder", 0}, {"bridge", 0}};
  if (c.family == ModelFamily::kV2) params["encoder_hr"] = 0;
  std::int64_t total = 0;
  for (const TensorRecord& t : b.tensors) {
    const std::string part = t.name.substr(0, t.name.find('.'));
    params[part] += t.numel();
    total += t.numel();
  }
  const auto size = std::filesystem::file_size(o.model);
  if (o.json) {
    nlohmann::json j;
    j["file"] = o.model;
    j["size_bytes"] = size;
    j["format_version"] = b.format_version;
    j["config"] = nlohmann::json::parse(c.to_json());
    j["parameters"] = params;
    j["parameters"]["total"] = total;
    j["tensors"] = b.tensors.size();
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("%s: i2sbseg bundle, format %d, %.2f MB, %zu tensors\n", o.model.c_str(), b.format_version,
              size / 1e6, b.tensors.size());
  std::printf("scale factor   x%d (LR WxH -> HR %dW x %dH)\n", c.scale_factor, c.scale_factor, c.scale_factor);
  print_networks(c);
  if (c.bridge)
    std::printf("bridge         %s, %d ch, %d blocks, time embedding %d; schedule %s T=%d beta_max=%g; default NFE %d\n",
                to_string(c.bridge->type).c_str(), c.bridge->channels, c.bridge->blocks, c.bridge->time_dim, to_string(c.schedule.kind).c_str(),
                c.schedule.steps, c.schedule.beta_max, c.default_nfe);
  else
    std::printf("bridge         none (a plain segmenter on LR-up input)\n");
  std::printf("parameters     encoder %lld,%s decoder %lld, bridge %lld, total %lld\n",
              static_cast<long long>(params["encoder"]),
              c.family == ModelFamily::kV2
                  ? (" HR encoder " + std::to_string(params["encoder_hr"]) + ",").c_str()
                  : "",
              static_cast<long long>(params["decoder"]), static_cast<long long>(params["bridge"]),
              static_cast<long long>(total));
  std::printf("classes        %d\n", c.num_classes());
  for (int i = 0; i < c.num_classes(); ++i) {
    const ClassInfo& k = c.classes[i];
    std::printf("  %3d  %-20s #%02x%02x%02x\n", i, k.name.c_str(), k.color[0], k.color[1], k.color[2]);
  }
  if (!c.metadata_json.empty()) std::printf("metadata       %s\n", c.metadata_json.c_str());
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "Describe a model bundle: config, classes, parameter counts, size");
  sub->add_option("model", o->model, "Model bundle (.i2sb)")->required();
  sub->add_flag("--json", o->json, "Print JSON");
  return {sub, [o] { return run_info(*o); }};
}

}  // namespace i2sbseg::tools
