// SPDX-License-Identifier: MIT
// The training driver: runs the planned stages, reports progress, saves
// and restores checkpoints, and writes the bundle.
#include <i2sbseg/trainer.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <i2sbseg/batches.h>
#include <i2sbseg/bridge.h>
#include <i2sbseg/bundle.h>
#include <i2sbseg/device.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include "common/atomic_file.h"
#include "train/checkpoint.h"
#include "train/communicator.h"
#include "train/progress.h"
#include "train/stage.h"
#include "train/stage_steps.h"
#include "train/train_options.h"

namespace i2sbseg {
namespace {

// v2's decoder widths for a scale: one per x2 step, halving from 64, at least 16.
std::vector<int> v2_decoder_widths(int scale) {
  std::vector<int> w{64};
  for (int s = scale / 2, c = 32; s > 1; s /= 2, c = std::max(16, c / 2)) w.push_back(c);
  return w;
}

ModelConfig config_for(const TrainOptions& o, const Dataset& data) {
  ModelConfig c;
  c.family = o.family;
  c.v2.latent_channels = o.latent_channels;
  c.v2.stem_channels = o.stem_channels;
  c.v2.context_widths = o.context_widths;
  c.v2.fpn_channels = o.fpn_channels;
  c.v2.decoder_widths = v2_decoder_widths(o.scale);
  c.classifier.widths = o.widths;
  c.classifier.blocks_per_level = o.blocks_per_level;
  c.classifier.latent_channels = o.latent_channels;
  c.bridge = BridgeArch{o.bridge_channels, o.bridge_blocks, 64, o.bridge_type};
  c.classes = data.classes();
  c.scale_factor = o.scale;
  c.latent_mean.assign(o.latent_channels, 0.0f);
  c.latent_std.assign(o.latent_channels, 1.0f);
  c.default_nfe = o.default_nfe;
  return c;
}

// v2's LR encoder starts as the trained HR encoder's trunk: only the stems
// differ (3x3 on LR pixels vs patchify on HR).
void init_lr_encoder_from_hr(Model& m) {
  torch::NoGradGuard no_grad;
  auto src = m.hr_encoder()->named_parameters();
  for (auto& p : m.lr_encoder()->named_parameters())
    if (p.key().rfind("stem.", 0) != 0) p.value().copy_(src[p.key()]);
  auto src_buffers = m.hr_encoder()->named_buffers();
  for (auto& b : m.lr_encoder()->named_buffers())
    if (b.key().rfind("stem.", 0) != 0) b.value().copy_(src_buffers[b.key()]);
}

// A run from a bundle for the bridge stages: keep its classifier, train a
// new bridge of the size asked for (bridge_channels/bridge_blocks, default_nfe).
std::unique_ptr<Model> with_fresh_bridge(Model& init, const TrainOptions& o) {
  ModelConfig c = init.config();
  c.bridge = BridgeArch{o.bridge_channels, o.bridge_blocks, 64, o.bridge_type};
  c.default_nfe = o.default_nfe;
  auto fresh = std::make_unique<Model>(c, torch::kCPU);
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> src;
  for (auto& [name, t] : init.named_tensors()) src[name] = t;
  for (auto& [name, t] : fresh->named_tensors())
    if (name.rfind("bridge.", 0) != 0) t.copy_(src.at(name));
  return fresh;
}

// A distributed job on CUDA gives each process the GPU of its LOCAL_RANK.
torch::Device device_for(const TrainOptions& o) {
  try {
    torch::Device d = parse_device(o.device);
    if (o.dist.distributed() && d.is_cuda() && (o.device == "auto" || o.device == "cuda"))
      d = parse_device("cuda:" + std::to_string(o.dist.local_rank));
    return d;
  } catch (const Error& e) {
    throw Error(e.kind() == ErrorKind::kRuntime ? ErrorKind::kInvalidOption : e.kind(), e.what(), "device");
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class Trainer {
 public:
  explicit Trainer(const TrainOptions& o)
      : o_(o),
        device_(device_for(o)),
        data_(Dataset::load(o.data, "train")),
        gen_(make_generator(o.seed)),
        stages_(plan_stages(o)),
        progress_(stages_.size()) {
    model_ = o_.init.empty() ? std::make_unique<Model>(config_for(o_, data_)) : model_from_init();
    check_crop(o_, model_->config());
    if (model_->config().num_classes() != static_cast<int>(data_.classes().size()))
      throw Error(ErrorKind::kInvalidOption,
                  "the dataset " + o_.data + " has " + std::to_string(data_.classes().size()) +
                      " classes but the bundle " + o_.init + " has " + std::to_string(model_->config().num_classes()),
                  "init");
    model_->to(device_);
    weights_ = o_.weight_classes ? class_weights(data_).to(device_)
                                 : torch::ones({static_cast<int64_t>(data_.classes().size())}).to(device_);
    for (size_t k = 0; k < stages_.size(); ++k) progress_[k].iters = stages_[k].iters;
    if (o_.dist.distributed()) {
      comm_ = std::make_unique<Communicator>(o_.dist, device_);
      // Rank 0 alone writes; the others stay quiet.
      if (comm_->rank() != 0) o_.quiet = true;
    }
  }

  void run() {
    bool restored = false;  // the resumed stage already has its optimizer and EMA
    if (o_.resume) {
      load_checkpoint();
      restored = true;
    }
    for (size_t k = 0; k < pos_.stage; ++k) progress_[k].done = progress_[k].iters;
    if (writer()) open_log();
    // Every rank starts from rank 0's weights (and, resuming, its checkpoint).
    if (comm_) {
      check_ranks_agree();
      comm_->broadcast(all_tensors());
    }
    say(describe_run());
    if (restored) check_direct_out_written();
    for (; pos_.stage < stages_.size(); ++pos_.stage, pos_.iter = 0) {
      if (!restored) begin_stage(false);
      restored = false;
      run_stage();
      if (network_ema_on()) adopt_network_ema();
      if (stage() == Stage::kLrEncoder && !o_.direct_out.empty() && writer()) {
        write_bundle(o_.direct_out, true, pos_.stage + 1);
        say("wrote " + o_.direct_out + " (direct baseline)");
      }
    }
    if (writer()) finish();
  }

 private:
  int world() const { return comm_ ? comm_->world_size() : 1; }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  bool writer() const { return rank() == 0; }
  Stage stage() const { return stages_[pos_.stage].stage; }
  std::string position() const {
    return std::string("stage ") + stage_name(stage()) + " iteration " + std::to_string(pos_.iter);
  }

  void say(const std::string& line) const {
    if (!o_.quiet) std::fprintf(stderr, "%s\n", line.c_str());
  }
  // Even when quiet: something the caller must act on.
  void warn(const std::string& line) const {
    if (writer()) std::fprintf(stderr, "warning: %s\n", line.c_str());
  }

  std::unique_ptr<Model> model_from_init() {
    auto m = std::make_unique<Model>(load_model(o_.init, torch::kCPU));
    // The planned stages are the family's (inherit_init_settings takes the bundle's).
    if (m->family() != o_.family)
      throw Error(ErrorKind::kInvalidOption, o_.init + ": a " + to_string(m->family()) + " bundle, but family " +
                  to_string(o_.family) + " was asked for", "family");
    if (m->config().scale_factor != o_.scale)
      throw Error(ErrorKind::kInvalidOption,
                  o_.init + ": its scale factor x" + std::to_string(m->config().scale_factor) +
                      " differs from the scale factor x" + std::to_string(o_.scale) + " asked for",
                  "scale");
    return o_.direct ? std::move(m) : with_fresh_bridge(*m, o_);
  }

  std::string describe_run() const {
    std::string line = "training on " + std::to_string(data_.size()) + " images from " + o_.data + ", device " +
                       device_.str() + ", " + std::to_string(torch::get_num_threads()) + " threads";
    if (comm_)
      line += ", " + std::to_string(world()) + " processes (" + comm_->backend() + "), batch " +
              std::to_string(o_.batch) + " each";
    return line;
  }

  void open_log() {
    for (const std::string& path : {checkpoint_path(o_), o_.out, o_.direct_out})
      if (!path.empty())
        for (const std::string& stale : remove_stale_temp_files(path))
          say("removed " + stale + ", a partial file left by a save that was killed");
    log_.open(log_path(o_), o_.resume ? std::ios::app : std::ios::trunc);
    if (!log_) throw Error(ErrorKind::kWriteFailed, log_path(o_) + ": cannot write the training log", "log");
    if (o_.resume) log_event("resumed");
  }

  // The ranks pick images and crops from shared draws: they must see the
  // same number of images and use the same batch, crop and seed, or they
  // would silently train on overlapping or missing shards. Equal values are
  // the only ones with W * sum(x^2) == sum(x)^2.
  void check_ranks_agree() {
    struct Agreed {
      const char* field;
      const char* what;
      double value;
    };
    const std::vector<Agreed> mine = {{"data", "the number of training images", static_cast<double>(data_.size())},
                                      {"batch", "the batch size", static_cast<double>(o_.batch)},
                                      {"crop", "the crop size", static_cast<double>(o_.crop)},
                                      {"seed", "the seed", static_cast<double>(o_.seed % 1000003)}};
    std::vector<double> v;
    for (const Agreed& a : mine) {
      v.push_back(a.value);
      v.push_back(a.value * a.value);
    }
    const std::vector<double> s = comm_->sum(v);
    for (size_t i = 0; i < mine.size(); ++i)
      if (std::abs(world() * s[2 * i + 1] - s[2 * i] * s[2 * i]) > 1e-6 * (1 + s[2 * i] * s[2 * i]))
        throw Error(ErrorKind::kInvalidOption,
                    std::string("the ranks disagree on ") + mine[i].what + " (this rank: " +
                        std::to_string(static_cast<long long>(mine[i].value)) +
                        "); every rank needs the same dataset and options",
                    mine[i].field);
  }

  // What the ranks must agree on: the weights and the bridge's EMA (the
  // latent statistics each rank measures alike, from the shared generator).
  std::vector<torch::Tensor> all_tensors() {
    std::vector<torch::Tensor> t;
    for (auto& [name, v] : model_->named_tensors()) t.push_back(v);
    for (auto& v : ema_) t.push_back(v);
    return t;
  }

  // `restoring`: a checkpoint supplies the latent statistics and the EMA.
  void begin_stage(bool restoring) {
    const PlannedStage& s = stages_[pos_.stage];
    if (s.stage == Stage::kClassifier || s.stage == Stage::kLrEncoder) check_batch_statistics(o_, model_->config());
    base_lr_ = stage_learning_rate(s.stage, o_);
    optimizer_ = std::make_unique<torch::optim::AdamW>(stage_parameters(s.stage, *model_),
                                                       torch::optim::AdamWOptions(base_lr_).weight_decay(o_.weight_decay));
    // From a bundle the LR encoder is its own trained one.
    if (s.stage == Stage::kLrEncoder && !restoring && o_.init.empty()) init_lr_encoder_from_hr(*model_);
    if (network_ema_on() && !restoring) {
      ema_.clear();
      for (const torch::Tensor& t : ema_targets()) ema_.push_back(t.detach().clone());
    }
    if (s.stage == Stage::kEndToEnd && !restoring) start_from_ema();
    if (s.stage == Stage::kBridge && !restoring) {
      measure_latent_stats();
      ema_.clear();
      for (const torch::Tensor& t : stage_state(Stage::kBridge, *model_)) ema_.push_back(t.detach().clone());
    }
    say(std::string("stage ") + stage_name(s.stage) + ": " + std::to_string(s.iters) + " iterations, batch " +
        std::to_string(o_.batch) + ", crop " + std::to_string(o_.crop));
  }

  // Per-channel statistics of E(HR) over training crops (docs/design.md §4: latents ~ unit scale).
  void measure_latent_stats() {
    torch::NoGradGuard no_grad;
    model_->eval();
    model_->set_latent_stats(std::vector<float>(o_.latent_channels, 0.0f), std::vector<float>(o_.latent_channels, 1.0f));
    // The whole job's batch on every rank: the same statistics everywhere,
    // and the same as one process with the combined batch.
    const int batch = o_.batch * world();
    BatchOptions bo{batch, o_.crop, o_.scale, false};
    std::vector<torch::Tensor> zs;
    for (int i = 0; i < std::max(4, 256 / batch); ++i) zs.push_back(model_->encode(sample_batch(data_, bo, gen_).hr.to(device_)));
    const torch::Tensor z = torch::cat(zs, 0).transpose(0, 1).reshape({o_.latent_channels, -1}).to(torch::kCPU);
    const torch::Tensor mean = z.mean(1), std = z.std(1).clamp_min(1e-4);
    model_->set_latent_stats(std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel()),
                             std::vector<float>(std.data_ptr<float>(), std.data_ptr<float>() + std.numel()));
  }

  // The job's batch for this step: a slice of this stage's epoch
  // permutations (the same on every rank); this rank builds its slots.
  Batch next_batch(const BatchOptions& bo) {
    const std::vector<long long> idx =
        shard_indices(data_.size(), o_.seed + 1000003ull * (pos_.stage + 1), pos_.iter, 1, 0, o_.batch * world());
    return make_batch(data_, bo, gen_, std::vector<int64_t>(idx.begin(), idx.end()),
                      static_cast<size_t>(o_.batch) * rank(), static_cast<size_t>(o_.batch));
  }

  float step(const Batch& batch) {
    StepContext ctx{*model_, device_, gen_, weights_, comm_.get(), rank(), world(), o_.e2e_bridge_weight};
    const torch::Tensor loss = stage_loss(stage(), ctx, batch);
    optimizer_->zero_grad();
    loss.backward();
    if (comm_) comm_->average_gradients(stage_parameters(stage(), *model_));
    optimizer_->step();
    // Each rank's BatchNorm running statistics moved with its own shard: all
    // take their mean (for running_mean, the combined batch's; docs/distributed.md).
    if (comm_) comm_->average(stage_buffers(stage(), *model_));
    // The job's loss (every rank sees the same value, so all stop on NaN).
    const float value =
        comm_ ? static_cast<float>(comm_->sum({loss.item<double>()})[0] / world()) : loss.item<float>();
    if (!std::isfinite(value))
      throw Error(std::string("the ") + stage_name(stage()) + " loss became " + std::to_string(value) +
                  " at iteration " + std::to_string(pos_.iter) + "; stopped without saving (" + last_checkpoint() +
                  "); try a lower learning rate");
    if (updates_bridge_ema(stage()) || network_ema_on()) update_ema();
    return value;
  }

  bool network_ema_on() const { return o_.classifier_ema > 0 && has_network_ema(stage()); }

  // What the EMA follows in this stage: the bridge's weights, or the
  // trained networks' weights and BatchNorm statistics (network_ema_on).
  std::vector<torch::Tensor> ema_targets() {
    // The bridge's weights and, for conv_bn, its BatchNorm statistics.
    if (has_bridge_ema(stage()) && model_->has_bridge()) return stage_state(Stage::kBridge, *model_);
    if (network_ema_on()) return stage_state(stage(), *model_);
    return {};
  }

  void update_ema() {
    torch::NoGradGuard no_grad;
    const double decay = network_ema_on() ? o_.classifier_ema : o_.ema;
    const double d = std::min(decay, (1.0 + pos_.iter) / (10.0 + pos_.iter));
    const std::vector<torch::Tensor> targets = ema_targets();
    for (size_t i = 0; i < targets.size(); ++i) ema_[i].mul_(d).add_(targets[i].detach(), 1.0 - d);
  }

  // The stage's networks take their EMA weights.
  void adopt_network_ema() {
    torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> targets = ema_targets();
    for (size_t i = 0; i < targets.size(); ++i) targets[i].copy_(ema_[i]);
    ema_.clear();
  }

  void set_lr(int iters) {
    // Cosine decay to 5 % over the stage.
    const double f = 0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * pos_.iter / std::max(1, iters)));
    current_lr_ = base_lr_ * f;
    for (auto& g : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(current_lr_);
  }

  void run_stage() {
    const int iters = stages_[pos_.stage].iters;
    const BatchOptions bo{o_.batch, o_.crop, o_.scale, true, o_.blur_augment, o_.strong_augment};
    const auto start = std::chrono::steady_clock::now();
    const int first = pos_.iter;
    double avg = 0;
    for (; pos_.iter < iters; ++pos_.iter) {
      if (o_.stop_request && o_.stop_request->load() != 0) stopped();
      set_lr(iters);
      const float loss = step(next_batch(bo));
      avg = pos_.iter == first ? loss : 0.95 * avg + 0.05 * loss;
      const int done = pos_.iter - first + 1;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress_[pos_.stage].done = pos_.iter + 1;
      progress_[pos_.stage].seconds_per_iter = elapsed / done;
      report(avg, done * o_.batch * world() / std::max(elapsed, 1e-9), elapsed);
      if ((pos_.iter + 1) % o_.checkpoint_every == 0 && pos_.iter + 1 < iters && writer()) {
        ++pos_.iter;
        save_checkpoint();
        --pos_.iter;
      }
    }
  }

  // The log line (every log_every iterations) and the progress line after
  // iteration pos_.iter; `ips`: the job's images per second.
  void report(double loss, double ips, double elapsed) {
    const char* name = stage_name(stage());
    const int iters = stages_[pos_.stage].iters, done = pos_.iter + 1;
    const bool log_now = done % o_.log_every == 0 || done == iters;
    if (log_now && writer()) {
      nlohmann::json j{{"stage", name},        {"iter", done}, {"iters", iters},         {"loss", loss},
                       {"lr", current_lr_}, {"images_per_s", ips}, {"elapsed_s", elapsed}};
      if (comm_) j["world_size"] = world();
      log_ << j.dump() << "\n" << std::flush;
      if (!log_)
        throw Error(ErrorKind::kWriteFailed, log_path(o_) + ": cannot write the training log (is the disk full?)",
                    "log");
    }
    if (o_.quiet) return;
    // "~": a later stage's time is guessed from the stage under way.
    char line[200];
    std::snprintf(line, sizeof line, "[%s] %d/%d loss %.4f  %.1f img/s  ETA %s%s", name, done, iters, loss, ips,
                  is_estimate_guessed(progress_) ? "~" : "", format_seconds(remaining_seconds(progress_)).c_str());
    if (::isatty(2))
      std::fprintf(stderr, "\r%-78s%s", line, done == iters ? "\n" : "");
    else if (log_now)
      std::fprintf(stderr, "%s\n", line);
  }

  // A stop request: the writer saves where the run stands.
  [[noreturn]] void stopped() {
    if (!writer())
      throw Error(ErrorKind::kInterrupted,
                  "rank " + std::to_string(rank()) + " stopped on request at " + position() +
                      " (rank 0 saves the checkpoint)");
    save_checkpoint();
    throw Error(ErrorKind::kInterrupted,
                "stopped on request at " + position() + "; checkpoint saved to " + checkpoint_path(o_));
  }

  // One JSON line for a checkpoint or a resume: where the run stands.
  void log_event(const char* event) {
    log_ << nlohmann::json{{"event", event}, {"stage", stage_name(stage())}, {"iter", pos_.iter}}.dump() << "\n"
         << std::flush;
  }

  // Diverged weights must not replace a good checkpoint or become the model.
  void check_finite(const char* what) const {
    bool finite = true;
    for (const auto& [name, t] : model_->named_tensors()) finite = finite && torch::isfinite(t).all().item<bool>();
    for (const torch::Tensor& t : ema_) finite = finite && torch::isfinite(t).all().item<bool>();
    if (!finite)
      throw Error("the weights hold NaN or infinite values at " + position() + "; stopped without writing the " +
                  what + " (" + last_checkpoint() + "); try a lower learning rate");
  }

  std::string last_checkpoint() const {
    if (!saved_at_.empty()) return "the last checkpoint, " + saved_at_ + ", is kept at " + checkpoint_path(o_);
    return o_.resume ? "the checkpoint this run resumed from is kept at " + checkpoint_path(o_)
                     : "no checkpoint was written by this run";
  }

  void save_checkpoint() {
    check_finite("checkpoint");
    const std::string bytes = checkpoint_bytes(*model_, pos_, gen_, ema_, optimizer_.get());
    try {
      write_file_atomically(checkpoint_path(o_), std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    } catch (const Error& e) {
      throw Error(ErrorKind::kWriteFailed,
                  "could not save the checkpoint at " + position() + ": " + e.what() + "; " + last_checkpoint(),
                  "checkpoint");
    }
    saved_at_ = position();
    log_event("checkpoint");
  }

  void load_checkpoint() {
    const std::string path = checkpoint_path(o_);
    // Rank 0 reads the file and hands its bytes to the others: only it
    // needs to see the checkpoint, and the world size may have changed.
    std::string bytes = writer() ? read_file(path) : std::string();
    if (comm_) bytes = comm_->broadcast_bytes(bytes);
    if (bytes.empty())
      throw Error(ErrorKind::kNotFound,
                  path + ": cannot read the checkpoint to resume from" + (writer() ? "" : " (on rank 0's machine)"),
                  "checkpoint");
    CheckpointReader reader(bytes, path);
    try {
      restore(reader);
    } catch (const Error& e) {
      throw Error(e.kind(), path + ": cannot resume: " + e.what(), e.field());
    } catch (const std::exception& e) {
      throw Error(ErrorKind::kBadFile, path + ": damaged checkpoint (" + std::string(e.what()).substr(0, 200) + ")");
    }
    say("resumed from " + path + " at " + position());
  }

  void restore(CheckpointReader& reader) {
    pos_ = reader.position();
    if (pos_.stage >= stages_.size())
      throw Error(ErrorKind::kInvalidOption, "it was saved in stage " + std::to_string(pos_.stage + 1) +
                                                 " but these options make only " + std::to_string(stages_.size()) +
                                                 " stages");
    model_ = reader.model(device_);
    reader.restore_generator(gen_);
    ema_.clear();
    if (const size_t n = ema_targets().size()) ema_ = reader.ema(n, device_);
    begin_stage(true);
    reader.restore_optimizer(*optimizer_);
  }

  // `direct`: the baseline's; `stages`: how many planned stages made the model.
  std::string metadata(bool direct, size_t stages) const {
    nlohmann::json meta{{"trained_by", "i2sbseg train"}, {"dataset", o_.data},   {"train_images", data_.size()},
                        {"crop", o_.crop},               {"batch", o_.batch},    {"threads", o_.threads},
                        {"scale", o_.scale},             {"seed", o_.seed},      {"direct", direct},
                        {"family", to_string(o_.family)}};
    for (size_t k = 0; k < stages; ++k) meta["iterations"][stage_name(stages_[k].stage)] = stages_[k].iters;
    if (!o_.init.empty()) meta["init"] = o_.init;
    return meta.dump();
  }

  // The model as it stands as the bundle at `path` (atomically); `direct`:
  // without its bridge, the baseline.
  void write_bundle(const std::string& path, bool direct, size_t stages) {
    model_->eval();
    check_finite(direct && !o_.direct ? "direct baseline" : "model");
    ModelConfig c = model_->config();
    c.metadata_json = metadata(direct, stages);
    if (direct) c.bridge.reset();  // the direct baseline is a plain segmenter
    Model out(c, torch::kCPU);
    {
      torch::NoGradGuard no_grad;
      // Same order (encoder, decoder, bridge); a direct model simply stops before the bridge.
      const auto src = model_->named_tensors();
      auto dst = out.named_tensors();
      for (size_t i = 0; i < dst.size(); ++i) dst[i].second.copy_(src[i].second.to(torch::kCPU));
    }
    save_model(out, path);
  }

  // A resumed run past the LR-encoder stage does not write direct_out
  // again (the run that finished that stage did), but says when it is gone.
  void check_direct_out_written() const {
    if (o_.direct_out.empty() || std::filesystem::exists(o_.direct_out)) return;
    for (size_t k = 0; k < pos_.stage; ++k)
      if (stages_[k].stage == Stage::kLrEncoder)
        warn("the direct baseline " + o_.direct_out + " is missing: it was written when the " +
             stage_name(Stage::kLrEncoder) + " stage ended, before this checkpoint, and a resumed run does not "
             "write it again (a direct run with the same settings and seed makes the same model)");
  }

  // The bridge takes its EMA weights (what the bundle would get).
  void start_from_ema() {
    torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> state = stage_state(Stage::kBridge, *model_);
    for (size_t i = 0; i < ema_.size(); ++i) state[i].copy_(ema_[i]);
    ema_.clear();
  }

  void finish() {
    if (!ema_.empty()) start_from_ema();
    write_bundle(o_.out, o_.direct, stages_.size());
    say("wrote " + o_.out);
    // The bundle holds all the run made; its checkpoint only matters to a
    // caller who wants to train on from it.
    std::error_code ec;
    if (!o_.keep_checkpoint && std::filesystem::remove(checkpoint_path(o_), ec) && !ec)
      say("removed the checkpoint " + checkpoint_path(o_));
  }

  TrainOptions o_;
  torch::Device device_;
  Dataset data_;
  std::unique_ptr<Model> model_;
  at::Generator gen_;
  torch::Tensor weights_;
  std::vector<PlannedStage> stages_;
  std::vector<StageProgress> progress_;  // per stage, for the time estimate
  TrainPosition pos_;
  double base_lr_ = 0, current_lr_ = 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> ema_;
  std::ofstream log_;
  std::string saved_at_;  // position of this run's last checkpoint
  std::unique_ptr<Communicator> comm_;  // a distributed job's link to the other ranks
};

}  // namespace

void train(const TrainOptions& options) {
  TrainOptions o = options;
  check_train_options(o);
  o.dist = resolve_dist_options(options.dist);
  // Process-wide, once, before any module is made (see trainer.h).
  if (o.seed_global_generator) torch::manual_seed(o.seed);
  if (o.threads > 0) torch::set_num_threads(o.threads);
  if (o.dist.rank == 0) create_output_folders(o);
  Trainer(o).run();
}

}  // namespace i2sbseg
