// SPDX-License-Identifier: MIT
#include <i2sbseg/config.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include <i2sbseg/class_list.h>
#include <i2sbseg/error.h>

#include "bundle/class_list_json.h"

namespace i2sbseg {
namespace {

using nlohmann::json;

// Reads config fields with errors that name the field path.
class Reader {
 public:
  Reader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw Error("config: '" + path_ + "' must be an object");
  }
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& at(const char* key) const {
    if (!j_.contains(key)) throw Error("config: missing field '" + field(key) + "'");
    return j_.at(key);
  }
  std::string field(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  int get_int(const char* key) const {
    const json& v = at(key);
    if (!v.is_number_integer()) throw Error("config: field '" + field(key) + "' must be an integer");
    const auto x = v.get<long long>();
    if (x < -2147483647LL || x > 2147483647LL) throw Error("config: field '" + field(key) + "' is out of range");
    return static_cast<int>(x);
  }
  int get_int(const char* key, int fallback) const { return has(key) ? get_int(key) : fallback; }
  double get_double(const char* key) const {
    const json& v = at(key);
    if (!v.is_number()) throw Error("config: field '" + field(key) + "' must be a number");
    return v.get<double>();
  }
  double get_double(const char* key, double fallback) const { return has(key) ? get_double(key) : fallback; }
  bool get_bool(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_boolean()) throw Error("config: field '" + field(key) + "' must be true or false");
    return j_.at(key).get<bool>();
  }
  std::string get_string(const char* key) const {
    const json& v = at(key);
    if (!v.is_string()) throw Error("config: field '" + field(key) + "' must be a string");
    return v.get<std::string>();
  }
  std::vector<double> get_numbers(const char* key) const {
    const json& v = at(key);
    if (!v.is_array()) throw Error("config: field '" + field(key) + "' must be an array of numbers");
    std::vector<double> out;
    for (const json& e : v) {
      if (!e.is_number()) throw Error("config: field '" + field(key) + "' must be an array of numbers");
      out.push_back(e.get<double>());
    }
    return out;
  }
  std::vector<int> get_ints(const char* key) const {
    const json& v = at(key);
    if (!v.is_array()) throw Error("config: field '" + field(key) + "' must be an array of integers");
    std::vector<int> out;
    for (const json& e : v) {
      if (!e.is_number_integer() || std::abs(e.get<long long>()) > 1000000)
        throw Error("config: field '" + field(key) + "' must be an array of integers");
      out.push_back(static_cast<int>(e.get<long long>()));
    }
    return out;
  }

 private:
  const json& j_;
  std::string path_;
};

std::vector<float> to_floats(const std::vector<double>& v) { return {v.begin(), v.end()}; }

template <size_t N>
std::array<float, N> to_array(const std::vector<double>& v, const std::string& field) {
  if (v.size() != N) throw Error("config: field '" + field + "' must have " + std::to_string(N) + " values");
  std::array<float, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<float>(v[i]);
  return a;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw Error("config: " + message);
}

// As require, for a field callers may want to point at.
void require_field(bool ok, const std::string& field, const std::string& rule) {
  if (!ok) throw Error(ErrorKind::kInvalidOption, "config: " + field + " " + rule, field);
}

void require_widths(const std::vector<int>& widths, size_t min, size_t max, const std::string& field) {
  require_field(widths.size() >= min && widths.size() <= max, field,
                "must list " + std::to_string(min) + " to " + std::to_string(max) + " entries");
  for (int w : widths) require_field(w >= 1 && w <= 4096, field, "entries must be in [1, 4096]");
}

int log2_exact(int n) {
  int k = 0;
  while ((1 << k) < n) ++k;
  return (1 << k) == n ? k : -1;
}

void validate_v2(const V2Arch& a, int scale_factor) {
  require_field(a.stem_channels >= 1 && a.stem_channels <= 4096, "v2.stem_channels", "must be in [1, 4096]");
  // At least two levels below the LR grid: 1/16 of HR at scale 4.
  require_widths(a.context_widths, 2, 6, "v2.context_widths");
  require_field(a.fpn_channels >= 1 && a.fpn_channels <= 4096, "v2.fpn_channels", "must be in [1, 4096]");
  require_field(a.latent_channels >= 1 && a.latent_channels <= 4096, "v2.latent_channels", "must be in [1, 4096]");
  require_field(!a.pool_bins.empty() && a.pool_bins.size() <= 6, "v2.pool_bins", "must list 1 to 6 bin sizes");
  for (int b : a.pool_bins) require_field(b >= 1 && b <= 64, "v2.pool_bins", "entries must be in [1, 64]");
  // Sub-pixel steps double the size: the scale must be a power of two.
  const int steps = log2_exact(scale_factor);
  require_field(steps >= 0, "scale_factor", "must be a power of two (1, 2, 4, 8, 16) for family v2");
  const size_t n = static_cast<size_t>(std::max(1, steps));
  require_widths(a.decoder_widths, n, n, "v2.decoder_widths");
}

nlohmann::json v2_json(const V2Arch& a) {
  return {{"stem_channels", a.stem_channels}, {"context_widths", a.context_widths},
          {"fpn_channels", a.fpn_channels},   {"latent_channels", a.latent_channels},
          {"decoder_widths", a.decoder_widths}, {"pool_bins", a.pool_bins}};
}

V2Arch v2_from_json(const Reader& a) {
  V2Arch v;
  v.stem_channels = a.get_int("stem_channels");
  v.context_widths = a.get_ints("context_widths");
  v.fpn_channels = a.get_int("fpn_channels");
  v.latent_channels = a.get_int("latent_channels");
  v.decoder_widths = a.get_ints("decoder_widths");
  v.pool_bins = a.get_ints("pool_bins");
  return v;
}

ModelFamily family_from_json(const Reader& r) {
  if (!r.has("family")) return ModelFamily::kV1;  // bundles from before v2
  const std::string f = r.get_string("family");
  for (ModelFamily known : {ModelFamily::kV1, ModelFamily::kV2})
    if (f == to_string(known)) return known;
  throw Error(ErrorKind::kUnsupported, "config: family '" + f + "' is not one this build knows (v1, v2)", "family");
}

BridgeType bridge_type_from_json(const Reader& b) {
  if (!b.has("type")) return BridgeType::kGroupNorm;  // bundles from before the conv_bn type
  const std::string t = b.get_string("type");
  for (BridgeType known : {BridgeType::kGroupNorm, BridgeType::kConvBn})
    if (t == to_string(known)) return known;
  throw Error(ErrorKind::kUnsupported,
              "config: bridge.type '" + t + "' is not one this build knows (groupnorm, conv_bn)", "bridge.type");
}

void validate_v1(const ClassifierArch& c) {
  require(c.in_channels == 3, "classifier.in_channels must be 3");
  require(!c.widths.empty() && c.widths.size() <= 6, "classifier.widths must list 1 to 6 level widths");
  for (int w : c.widths) require(w >= 1 && w <= 4096, "classifier.widths entries must be in [1, 4096]");
  require(c.blocks_per_level >= 0 && c.blocks_per_level <= 16, "classifier.blocks_per_level must be in [0, 16]");
  require(c.latent_channels >= 1 && c.latent_channels <= 4096, "classifier.latent_channels must be in [1, 4096]");
}

ClassifierArch v1_from_json(const Reader& a) {
  ClassifierArch c;
  c.in_channels = a.get_int("in_channels");
  c.widths = a.get_ints("widths");
  c.blocks_per_level = a.get_int("blocks_per_level");
  c.latent_channels = a.get_int("latent_channels");
  // Bundles written before the field was dropped say false: still fine.
  if (a.get_bool("decoder_skips", false))
    throw Error(ErrorKind::kUnsupported,
                "config: classifier.decoder_skips is true: this version's decoder reads the latent only",
                "classifier.decoder_skips");
  return c;
}

}  // namespace

std::string to_string(ModelFamily family) { return family == ModelFamily::kV2 ? "v2" : "v1"; }
std::string to_string(BridgeType type) { return type == BridgeType::kConvBn ? "conv_bn" : "groupnorm"; }

void ModelConfig::validate() const {
  require_field(scale_factor >= 1 && scale_factor <= 16, "scale_factor", "must be in [1, 16]");
  require(family == ModelFamily::kV1 || family == ModelFamily::kV2, "family must be v1 or v2");
  if (family == ModelFamily::kV1)
    validate_v1(classifier);
  else
    validate_v2(v2, scale_factor);
  if (bridge) {
    require(bridge->channels >= 1 && bridge->channels <= 4096, "bridge.channels must be in [1, 4096]");
    require(bridge->blocks >= 0 && bridge->blocks <= 64, "bridge.blocks must be in [0, 64]");
    require(bridge->time_dim >= 2 && bridge->time_dim <= 4096 && bridge->time_dim % 2 == 0,
            "bridge.time_dim must be even and in [2, 4096]");
  }
  check_class_list(classes, "config");
  for (int i = 0; i < 3; ++i) {
    require(std::isfinite(input_mean[i]), "input_mean must be finite");
    require(std::isfinite(input_std[i]) && input_std[i] > 0, "input_std must be positive");
  }
  const int latent = latent_channels();
  require(latent_mean.size() == static_cast<size_t>(latent),
          "latent_mean must have latent_channels (" + std::to_string(latent) + ") values, has " +
              std::to_string(latent_mean.size()));
  require(latent_std.size() == static_cast<size_t>(latent),
          "latent_std must have latent_channels (" + std::to_string(latent) + ") values, has " +
              std::to_string(latent_std.size()));
  for (float v : latent_mean) require(std::isfinite(v), "latent_mean must be finite");
  for (float v : latent_std) require(std::isfinite(v) && v > 0, "latent_std must be positive");
  try {
    i2sbseg::validate(schedule);
  } catch (const Error& e) {
    throw Error(std::string("config: ") + e.what());
  }
  require(default_nfe >= 1 && default_nfe < schedule.steps, "default_nfe must be in [1, schedule.steps)");
  if (!metadata_json.empty()) {
    const json m = json::parse(metadata_json, nullptr, false);
    require(!m.is_discarded() && m.is_object(), "metadata must be a JSON object");
  }
}

std::string ModelConfig::to_json(int indent) const {
  json j;
  j["format_version"] = kFormatVersion;
  j["family"] = to_string(family);
  if (family == ModelFamily::kV2)
    j["v2"] = v2_json(v2);
  else
    j["classifier"] = {{"in_channels", classifier.in_channels},
                       {"widths", classifier.widths},
                       {"blocks_per_level", classifier.blocks_per_level},
                       {"latent_channels", classifier.latent_channels}};
  if (bridge)
    j["bridge"] = {{"type", to_string(bridge->type)},
                   {"channels", bridge->channels},
                   {"blocks", bridge->blocks},
                   {"time_dim", bridge->time_dim}};
  else
    j["bridge"] = nullptr;
  j["classes"] = class_list_json_array(classes);
  j["scale_factor"] = scale_factor;
  j["input_normalisation"] = {{"mean", input_mean}, {"std", input_std}};
  j["latent_stats"] = {{"mean", latent_mean}, {"std", latent_std}};
  j["schedule"] = {{"kind", i2sbseg::to_string(schedule.kind)},
                   {"steps", schedule.steps},
                   {"beta_max", schedule.beta_max},
                   {"beta_min", schedule.beta_min}};
  j["default_nfe"] = default_nfe;
  j["metadata"] = metadata_json.empty() ? json::object() : json::parse(metadata_json);
  return j.dump(indent);
}

ModelConfig ModelConfig::from_json(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error("config: not valid JSON");
  const Reader r(j, "");
  const int version = r.get_int("format_version");
  if (version != kFormatVersion)
    throw Error("config: unsupported format_version " + std::to_string(version) + " (this build reads " +
                std::to_string(kFormatVersion) + ")");
  ModelConfig c;
  c.family = family_from_json(r);
  if (c.family == ModelFamily::kV2)
    c.v2 = v2_from_json(Reader(r.at("v2"), "v2"));
  else
    c.classifier = v1_from_json(Reader(r.at("classifier"), "classifier"));
  if (r.has("bridge")) {
    const Reader b(r.at("bridge"), "bridge");
    c.bridge = BridgeArch{b.get_int("channels"), b.get_int("blocks"), b.get_int("time_dim"), bridge_type_from_json(b)};
  }
  c.classes = class_entries_from_json(r.at("classes"), "config");
  c.scale_factor = r.get_int("scale_factor");
  {
    const Reader n(r.at("input_normalisation"), "input_normalisation");
    c.input_mean = to_array<3>(n.get_numbers("mean"), n.field("mean"));
    c.input_std = to_array<3>(n.get_numbers("std"), n.field("std"));
  }
  {
    const Reader s(r.at("latent_stats"), "latent_stats");
    c.latent_mean = to_floats(s.get_numbers("mean"));
    c.latent_std = to_floats(s.get_numbers("std"));
  }
  {
    const Reader s(r.at("schedule"), "schedule");
    try {
      c.schedule.kind = schedule_kind_from_string(s.get_string("kind"));
    } catch (const Error& e) {
      throw Error(std::string("config: schedule.kind: ") + e.what());
    }
    c.schedule.steps = s.get_int("steps");
    c.schedule.beta_max = s.get_double("beta_max");
    c.schedule.beta_min = s.get_double("beta_min", 1e-4);
  }
  c.default_nfe = r.get_int("default_nfe");
  if (r.has("metadata")) {
    if (!r.at("metadata").is_object()) throw Error("config: field 'metadata' must be an object");
    if (!r.at("metadata").empty()) c.metadata_json = r.at("metadata").dump();
  }
  c.validate();
  return c;
}

ModelConfig ModelConfig::make_default(int num_classes) {
  static const std::array<std::array<std::uint8_t, 3>, 8> palette{{{0, 0, 0},
                                                                   {230, 25, 75},
                                                                   {60, 180, 75},
                                                                   {255, 225, 25},
                                                                   {0, 130, 200},
                                                                   {245, 130, 48},
                                                                   {145, 30, 180},
                                                                   {70, 240, 240}}};
  ModelConfig c;
  c.bridge = BridgeArch{};
  for (int i = 0; i < num_classes; ++i)
    c.classes.push_back({i == 0 ? "background" : "class" + std::to_string(i), palette[i % palette.size()]});
  c.latent_mean.assign(c.classifier.latent_channels, 0.0f);
  c.latent_std.assign(c.classifier.latent_channels, 1.0f);
  return c;
}

ModelConfig ModelConfig::make_default_v2(int num_classes) {
  ModelConfig c = make_default(num_classes);
  c.family = ModelFamily::kV2;
  c.latent_mean.assign(c.v2.latent_channels, 0.0f);
  c.latent_std.assign(c.v2.latent_channels, 1.0f);
  return c;
}

}  // namespace i2sbseg
