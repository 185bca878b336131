// SPDX-License-Identifier: MIT
#include "train/train_options.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>

namespace i2sbseg {
namespace {

void require(bool ok, const std::string& field, const std::string& message) {
  if (!ok) throw Error(ErrorKind::kInvalidOption, message, field);
}

void require_positive(int value, const std::string& field, const std::string& what) {
  require(value >= 1, field, what + " must be at least 1, got " + std::to_string(value));
}

void create_parent(const std::string& path, const std::string& field) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  // create_directories also fails when another rank made it first: what counts is that it is there.
  if (!std::filesystem::is_directory(parent))
    throw Error(ErrorKind::kWriteFailed,
                "cannot create the folder " + parent.string() + " for " + path + " (" + ec.message() + ")", field);
}

// The same file under two spellings ("m.i2sb", "./m.i2sb") counts as one.
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  const std::filesystem::path ca = std::filesystem::weakly_canonical(a, ea), cb = std::filesystem::weakly_canonical(b, eb);
  if (ea || eb) return std::filesystem::path(a).lexically_normal() == std::filesystem::path(b).lexically_normal();
  return ca == cb;
}

void check_direct_out(const TrainOptions& o) {
  if (o.direct_out.empty()) return;
  require(!o.direct, "direct_out",
          "a direct run writes the direct baseline to its bundle path; a second path is for runs that go on to "
          "the bridge");
  require(o.family == ModelFamily::kV2, "direct_out",
          "only family v2 passes through the direct baseline on the way to the bridge (v1's is a separate "
          "fine-tune: make it with a direct run)");
  for (const auto& [path, what] : {std::pair{o.out, "the model bundle"},
                                   {checkpoint_path(o), "the checkpoint"},
                                   {log_path(o), "the training log"}})
    require(!same_file(o.direct_out, path), "direct_out",
            "the direct baseline would overwrite " + std::string(what) + " (" + path + ")");
}

}  // namespace

void check_train_options(const TrainOptions& o) {
  require(!o.out.empty(), "out", "no path was given for the model bundle to write");
  require(!o.data.empty(), "data", "no training dataset was given");
  require_positive(o.batch, "batch", "the batch size");
  require_positive(o.crop, "crop", "the crop size");
  require_positive(o.scale, "scale", "the scale factor");
  require_positive(o.checkpoint_every, "checkpoint_every", "the checkpoint interval");
  require_positive(o.log_every, "log_every", "the log interval");
  require(!o.widths.empty(), "widths", "the encoder needs at least one level width");
  require_positive(o.latent_channels, "latent_channels", "the number of latent channels");
  require_positive(o.stem_channels, "stem_channels", "the v2 stem width");
  require_positive(o.fpn_channels, "fpn_channels", "the v2 FPN width");
  require(!o.context_widths.empty(), "context_widths", "the v2 trunk needs at least one context level");
  for (int w : o.context_widths) require_positive(w, "context_widths", "every v2 context width");
  for (const auto& [iters, field] : {std::pair{o.classifier_iters, "classifier_iters"},
                                     {o.bridge_iters, "bridge_iters"},
                                     {o.finetune_iters, "finetune_iters"},
                                     {o.e2e_iters, "e2e_iters"},
                                     {o.direct_iters, "direct_iters"}})
    require(iters >= 0, field, std::string("the iteration count ") + field + " must not be negative");
  require(o.threads >= 0, "threads", "the thread count must not be negative, got " + std::to_string(o.threads));
  require(o.weight_decay >= 0, "weight_decay", "the weight decay must not be negative, got " + std::to_string(o.weight_decay));
  require(o.e2e_bridge_weight >= 0, "e2e_bridge_weight",
          "the end-to-end stage's I2SB loss weight must not be negative, got " + std::to_string(o.e2e_bridge_weight));
  require(o.ema >= 0 && o.ema < 1, "ema", "the EMA decay must be in [0, 1), got " + std::to_string(o.ema));
  require(o.classifier_ema >= 0 && o.classifier_ema < 1, "classifier_ema",
          "the classifier EMA decay must be in [0, 1), got " + std::to_string(o.classifier_ema));
  check_direct_out(o);
  if (o.init.empty()) {  // a bundle to start from brings its own encoder
    ModelConfig fresh;
    fresh.family = o.family;
    fresh.classifier.widths = o.widths;
    fresh.v2.context_widths = o.context_widths;
    fresh.scale_factor = o.scale;
    check_crop(o, fresh);
  }
}

void check_crop(const TrainOptions& o, const ModelConfig& model) {
  // v2's trunk goes context_widths levels below the LR grid.
  const int down =
      model.family == ModelFamily::kV2 ? model.v2.trunk_stride() : model.classifier.downsample_factor();
  const int cell = model.scale_factor * down;
  require(o.crop % cell == 0, "crop",
          "crop size " + std::to_string(o.crop) + " must be a multiple of the scale factor times the encoder's " +
              "downsampling factor (" + std::to_string(model.scale_factor) + " x " + std::to_string(down) + " = " +
              std::to_string(cell) + ")");
}

void check_batch_statistics(const TrainOptions& o, const ModelConfig& model) {
  if (model.family != ModelFamily::kV2) return;  // v1 has no BatchNorm
  const int cells = o.crop / (model.scale_factor * model.v2.trunk_stride());
  require(o.batch * cells * cells > 1, "crop",
          "crop size " + std::to_string(o.crop) + " at batch " + std::to_string(o.batch) +
              " leaves the v2 encoder's deepest level one value per channel, too few for BatchNorm: use a crop of " +
              std::to_string(2 * model.scale_factor * model.v2.trunk_stride()) + " or a batch of 2 or more");
}

std::string checkpoint_path(const TrainOptions& o) { return o.checkpoint.empty() ? o.out + ".ckpt" : o.checkpoint; }
std::string log_path(const TrainOptions& o) { return o.log.empty() ? o.out + ".log.jsonl" : o.log; }

void create_output_folders(const TrainOptions& o) {
  create_parent(o.out, "out");
  if (!o.direct_out.empty()) create_parent(o.direct_out, "direct_out");
  create_parent(checkpoint_path(o), "checkpoint");
  create_parent(log_path(o), "log");
}

TrainOptions inherit_init_settings(TrainOptions o, const std::vector<std::string>& given) {
  if (o.init.empty()) return o;
  const ModelConfig c = ModelConfig::from_json(read_bundle_file(o.init).config_json);
  const nlohmann::json meta = c.metadata_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(c.metadata_json);
  auto unset = [&](const char* field) { return std::find(given.begin(), given.end(), field) == given.end(); };
  auto take = [&](const char* field, int& value) {
    if (unset(field) && meta.contains(field) && meta[field].is_number_integer()) value = meta[field].get<int>();
  };
  take("crop", o.crop);
  take("batch", o.batch);
  take("threads", o.threads);
  // Every bundle records its scale and family (absent: v1).
  if (unset("scale")) o.scale = c.scale_factor;
  if (unset("family")) o.family = c.family;
  return o;
}

}  // namespace i2sbseg
