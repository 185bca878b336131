// SPDX-License-Identifier: MIT
#include <i2sbseg/trainer.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <i2sbseg/batches.h>
#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include "common/archive_bytes.h"
#include "train/communicator.h"

#include <i2sbseg/device.h>

namespace i2sbseg {
namespace F = torch::nn::functional;
namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal = sig; }

// Installs SIGINT/SIGTERM handlers for the lifetime of the object, and
// ignores SIGXFSZ so that a file-size limit makes a write fail with an error
// the trainer reports instead of killing it mid-checkpoint.
class SignalGuard {
 public:
  SignalGuard() {
    g_signal = 0;
    old_int_ = std::signal(SIGINT, on_signal);
    old_term_ = std::signal(SIGTERM, on_signal);
    old_xfsz_ = std::signal(SIGXFSZ, SIG_IGN);
  }
  ~SignalGuard() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
    std::signal(SIGXFSZ, old_xfsz_);
  }

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
  void (*old_xfsz_)(int);
};

std::string format_seconds(double s) {
  char buf[32];
  const long t = static_cast<long>(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

struct Stage {
  std::string name;  // classifier, bridge, finetune, direct
  int iters;
};

ModelConfig config_for(const TrainOptions& o, const Dataset& data) {
  ModelConfig c;
  c.classifier.widths = o.widths;
  c.classifier.blocks_per_level = o.blocks_per_level;
  c.classifier.latent_channels = o.latent_channels;
  c.bridge = BridgeArch{o.bridge_channels, o.bridge_blocks, 64};
  c.classes = data.classes();
  c.scale_factor = o.scale;
  c.latent_mean.assign(o.latent_channels, 0.0f);
  c.latent_std.assign(o.latent_channels, 1.0f);
  c.default_nfe = o.default_nfe;
  return c;
}

class Trainer {
 public:
  explicit Trainer(const TrainOptions& o)
      : o_(o),
        device_(device_for(o)),
        data_(Dataset::load(o.data, "train")),
        model_((torch::manual_seed(o.seed), std::make_unique<Model>(initial_config()))),  // --seed fixes the init too
        gen_(make_generator(o.seed)) {
    if (!o_.init.empty()) {
      model_ = std::make_unique<Model>(load_model(o_.init, torch::kCPU));
      if (model_->config().scale_factor != o_.scale)
        throw Error(o_.init + ": its scale factor x" + std::to_string(model_->config().scale_factor) +
                    " differs from --scale " + std::to_string(o_.scale));
      if (!o_.direct) fresh_bridge();
    }
    if (o_.crop % (o_.scale * model_->config().classifier.downsample_factor()) != 0)
      throw Error("--crop " + std::to_string(o_.crop) + " must be a multiple of scale x encoder stride (" +
                  std::to_string(o_.scale * model_->config().classifier.downsample_factor()) + ")");
    if (model_->config().num_classes() != static_cast<int>(data_.classes().size()))
      throw Error(o_.data + ": has " + std::to_string(data_.classes().size()) + " classes but the model has " +
                  std::to_string(model_->config().num_classes()));
    if (o_.direct) {
      if (o_.init.empty()) stages_.push_back({"classifier", o_.classifier_iters});
      stages_.push_back({"direct", o_.direct_iters});
    } else {
      if (o_.init.empty()) stages_.push_back({"classifier", o_.classifier_iters});
      stages_.push_back({"bridge", o_.bridge_iters});
      if (o_.finetune_iters > 0) stages_.push_back({"finetune", o_.finetune_iters});
    }
    model_->to(device_);
    weights_ = class_weights(data_).to(device_);
    if (o_.threads > 0) torch::set_num_threads(o_.threads);
    if (o_.dist.distributed()) {
      comm_ = std::make_unique<Communicator>(o_.dist, device_);
      // Rank 0 alone writes; the others stay quiet.
      if (comm_->rank() != 0) o_.quiet = true;
    }
  }

  void run() {
    SignalGuard guard;
    bool restored = false;  // the resumed stage already has its optimizer and EMA
    if (o_.resume) {
      load_checkpoint();
      restored = true;
    }
    if (writer()) {
      for (const std::string& path : {checkpoint_path(), o_.out})
        for (const std::string& stale : remove_stale_temp_files(path))
          say("removed " + stale + ", a partial file left by a save that was killed");
      log_.open(log_path(), o_.resume ? std::ios::app : std::ios::trunc);
      if (!log_) throw Error(log_path() + ": cannot write the training log");
      if (o_.resume) log_event("resumed");
    }
    // Every rank starts from rank 0's weights (and, resuming, its checkpoint).
    if (comm_) {
      check_ranks_agree();
      comm_->broadcast(all_tensors());
    }
    say("training on " + std::to_string(data_.size()) + " images from " + o_.data + ", device " + device_.str() +
        ", " + std::to_string(torch::get_num_threads()) + " threads" +
        (comm_ ? ", " + std::to_string(world()) + " processes (" + comm_->backend() + "), batch " +
                     std::to_string(o_.batch) + " each"
               : ""));
    for (; stage_ < stages_.size(); ++stage_, iter_ = 0) {
      const Stage& s = stages_[stage_];
      if (!restored) begin_stage(s, false);
      restored = false;
      run_stage(s);
    }
    if (writer()) finish();
  }

 private:
  ModelConfig initial_config() const { return config_for(o_, data_); }

  // A distributed job on CUDA gives each process the GPU of its LOCAL_RANK.
  static torch::Device device_for(const TrainOptions& o) {
    torch::Device d = parse_device(o.device);
    if (o.dist.distributed() && d.is_cuda() && (o.device == "auto" || o.device == "cuda"))
      d = parse_device("cuda:" + std::to_string(o.dist.local_rank));
    return d;
  }
  int world() const { return comm_ ? comm_->world_size() : 1; }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  bool writer() const { return rank() == 0; }

  // The ranks pick images and crops from shared draws: they must see the
  // same number of images and use the same --batch, --crop and --seed, or
  // they would silently train on overlapping or missing shards. Equal values
  // are the only ones with W * sum(x^2) == sum(x)^2.
  void check_ranks_agree() {
    const std::vector<std::pair<const char*, double>> mine = {
        {"the number of training images", static_cast<double>(data_.size())},
        {"--batch", static_cast<double>(o_.batch)},
        {"--crop", static_cast<double>(o_.crop)},
        {"--seed", static_cast<double>(o_.seed % 1000003)}};
    std::vector<double> v;
    for (const auto& [name, x] : mine) {
      v.push_back(x);
      v.push_back(x * x);
    }
    const std::vector<double> s = comm_->sum(v);
    for (size_t i = 0; i < mine.size(); ++i)
      if (std::abs(world() * s[2 * i + 1] - s[2 * i] * s[2 * i]) > 1e-6 * (1 + s[2 * i] * s[2 * i]))
        throw Error(std::string("the ranks disagree on ") + mine[i].first + " (this rank: " +
                    std::to_string(static_cast<long long>(mine[i].second)) +
                    "); every rank needs the same dataset and options");
  }

  // What the ranks must agree on: the weights and the bridge's EMA (the
  // latent statistics each rank measures alike, from the shared generator).
  std::vector<torch::Tensor> all_tensors() {
    std::vector<torch::Tensor> t;
    for (auto& [name, v] : model_->named_tensors()) t.push_back(v);
    for (auto& v : ema_) t.push_back(v);
    return t;
  }

  // --init for the bridge stages: keep the classifier, train a new bridge of
  // the size asked for (--bridge-channels/--bridge-blocks, --nfe).
  void fresh_bridge() {
    ModelConfig c = model_->config();
    c.bridge = BridgeArch{o_.bridge_channels, o_.bridge_blocks, 64};
    c.default_nfe = o_.default_nfe;
    auto fresh = std::make_unique<Model>(c, torch::kCPU);
    torch::NoGradGuard no_grad;
    auto dst = fresh->named_tensors();
    std::map<std::string, torch::Tensor> src;
    for (auto& [name, t] : model_->named_tensors()) src[name] = t;
    for (auto& [name, t] : dst)
      if (name.rfind("bridge.", 0) != 0) t.copy_(src.at(name));
    model_ = std::move(fresh);
  }
  std::string checkpoint_path() const { return o_.checkpoint.empty() ? o_.out + ".ckpt" : o_.checkpoint; }
  std::string log_path() const { return o_.log.empty() ? o_.out + ".log.jsonl" : o_.log; }

  void say(const std::string& line) const {
    if (!o_.quiet) std::fprintf(stderr, "%s\n", line.c_str());
  }

  std::vector<torch::Tensor> stage_parameters(const std::string& name) {
    std::vector<torch::Tensor> p;
    auto add = [&](torch::nn::Module& m) {
      for (auto& t : m.parameters()) p.push_back(t);
    };
    if (name == "classifier" || name == "direct") {
      add(*model_->encoder());
      add(*model_->decoder());
    } else if (name == "bridge") {
      add(*model_->bridge_net());
    } else {
      add(*model_->decoder());
    }
    return p;
  }

  // `restoring`: a checkpoint supplies the latent statistics and the EMA.
  void begin_stage(const Stage& s, bool restoring) {
    const double lr = s.name == "bridge" ? o_.bridge_lr : s.name == "classifier" ? o_.lr : o_.lr * 0.25;
    optimizer_ = std::make_unique<torch::optim::AdamW>(stage_parameters(s.name),
                                                       torch::optim::AdamWOptions(lr).weight_decay(1e-4));
    base_lr_ = lr;
    if (s.name == "bridge" && !restoring) {
      measure_latent_stats();
      ema_.clear();
      for (auto& p : model_->bridge_net()->parameters()) ema_.push_back(p.detach().clone());
    }
    say("stage " + s.name + ": " + std::to_string(s.iters) + " iterations, batch " + std::to_string(o_.batch) +
        ", crop " + std::to_string(o_.crop));
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

  // The class-weighted cross-entropy of the whole job's batch, as this
  // rank's share: sum(w l) over its pixels / sum(w) over all ranks' pixels,
  // times the world size (the gradients are then averaged over the ranks).
  torch::Tensor weighted_ce(const torch::Tensor& logits, const torch::Tensor& mask) {
    const torch::Tensor wl = F::cross_entropy(logits, mask, F::CrossEntropyFuncOptions().weight(weights_).reduction(torch::kNone));
    const double local = weights_.index({mask}).sum().item<double>();
    const double total = comm_ ? comm_->sum({local})[0] : local;
    return wl.sum() * (world() / total);
  }

  float step(const Stage& s, const Batch& b) {
    const torch::Tensor hr = b.hr.to(device_), lr = b.lr.to(device_), mask = b.mask.to(device_);
    torch::Tensor loss;
    if (s.name == "classifier" || s.name == "direct") {
      model_->train();
      const torch::Tensor input = s.name == "classifier" ? hr : model_->upsample_lr(lr);
      loss = weighted_ce(model_->classify(input), mask);
    } else if (s.name == "bridge") {
      model_->eval();
      model_->bridge_net()->train();
      torch::Tensor z0, z1;
      {
        torch::NoGradGuard no_grad;
        z0 = model_->encode(hr);
        z1 = model_->encode(model_->upsample_lr(lr));
      }
      const Bridge& bridge = model_->bridge();
      // Time steps and noise for the whole job's batch (the same draws on
      // every rank); this rank takes its slots.
      const int64_t n = hr.size(0), first = n * rank();
      std::vector<int64_t> shape = z0.sizes().vec();
      shape[0] = n * world();
      const torch::Tensor t_all = torch::randint(bridge.steps(), {shape[0]}, gen_, torch::kLong);
      const torch::Tensor eps_all = at::randn(shape, gen_, torch::dtype(torch::kFloat32));
      const torch::Tensor t = t_all.slice(0, first, first + n).to(device_);
      const torch::Tensor xt = bridge.q_sample(t, z0, z1, eps_all.slice(0, first, first + n));
      const torch::Tensor out = model_->bridge_net()->forward(xt, z1, bridge.noise_level(t));
      loss = F::mse_loss(out, bridge.label(t, xt, z0));
    } else {  // finetune: the decoder learns to read bridged latents
      model_->eval();
      model_->decoder()->train();
      torch::Tensor z;
      {
        torch::NoGradGuard no_grad;
        // The sampler's noise for the whole job's batch; this rank's slots.
        const int64_t n = hr.size(0), first = n * rank();
        const std::vector<int64_t> shape = model_->latent_shape(n * world(), hr.size(2), hr.size(3));
        std::vector<torch::Tensor> noise;
        for (const torch::Tensor& all : model_->bridge().draw_noise(torch::empty(shape), model_->resolve_nfe(0), &gen_))
          noise.push_back(all.slice(0, first, first + n).to(device_));
        SampleOptions so;
        so.noise = &noise;
        z = model_->run_bridge(model_->encode(model_->upsample_lr(lr)), so);
      }
      loss = weighted_ce(model_->decode(z, hr.size(2), hr.size(3)), mask);
    }
    optimizer_->zero_grad();
    loss.backward();
    if (comm_) comm_->average_gradients(stage_parameters(s.name));
    optimizer_->step();
    // The job's loss (every rank sees the same value, so all stop on NaN).
    const float value =
        comm_ ? static_cast<float>(comm_->sum({loss.item<double>()})[0] / world()) : loss.item<float>();
    if (!std::isfinite(value))
      throw Error("the " + s.name + " loss became " + std::to_string(value) + " at iteration " + std::to_string(iter_) +
                  "; stopped without saving (" + last_checkpoint() + "); try a lower learning rate");
    if (s.name == "bridge") update_ema();
    return value;
  }

  void update_ema() {
    torch::NoGradGuard no_grad;
    const double d = std::min(o_.ema, (1.0 + iter_) / (10.0 + iter_));
    auto params = model_->bridge_net()->parameters();
    for (size_t i = 0; i < params.size(); ++i) ema_[i].mul_(d).add_(params[i].detach(), 1.0 - d);
  }

  void set_lr(const Stage& s) {
    // Cosine decay to 5 % over the stage.
    const double f = 0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * iter_ / std::max(1, s.iters)));
    current_lr_ = base_lr_ * f;
    for (auto& g : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(current_lr_);
  }

  void run_stage(const Stage& s) {
    const BatchOptions bo{o_.batch, o_.crop, o_.scale, true};
    const auto start = std::chrono::steady_clock::now();
    const int first = iter_;
    const bool tty = ::isatty(2) && !o_.quiet;
    double avg = 0;
    for (; iter_ < s.iters; ++iter_) {
      if (g_signal) interrupted();
      set_lr(s);
      // The job's batch for this step: a slice of this stage's epoch
      // permutations (the same on every rank); this rank builds its slots.
      const std::vector<long long> idx =
          shard_indices(data_.size(), o_.seed + 1000003ull * (stage_ + 1), iter_, 1, 0, o_.batch * world());
      const Batch batch = make_batch(data_, bo, gen_, std::vector<int64_t>(idx.begin(), idx.end()),
                                     static_cast<size_t>(o_.batch) * rank(), static_cast<size_t>(o_.batch));
      const float loss = step(s, batch);
      avg = iter_ == first ? loss : 0.95 * avg + 0.05 * loss;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double ips = (iter_ - first + 1) * o_.batch * world() / std::max(elapsed, 1e-9);  // the job's
      int left = s.iters - iter_ - 1;
      for (size_t k = stage_ + 1; k < stages_.size(); ++k) left += stages_[k].iters;
      const double eta = left * o_.batch * world() / std::max(ips, 1e-9);
      const bool log_now = (iter_ + 1) % o_.log_every == 0 || iter_ + 1 == s.iters;
      if (log_now && writer()) {
        nlohmann::json j{{"stage", s.name}, {"iter", iter_ + 1}, {"iters", s.iters}, {"loss", avg},
                         {"lr", current_lr_}, {"images_per_s", ips}, {"elapsed_s", elapsed}};
        if (comm_) j["world_size"] = world();
        log_ << j.dump() << "\n" << std::flush;
        if (!log_) throw Error(log_path() + ": cannot write the training log (is the disk full?)");
      }
      char line[200];
      std::snprintf(line, sizeof line, "[%s] %d/%d loss %.4f  %.1f img/s  ETA %s", s.name.c_str(), iter_ + 1,
                    s.iters, avg, ips, format_seconds(eta).c_str());
      if (tty)
        std::fprintf(stderr, "\r%-78s%s", line, iter_ + 1 == s.iters ? "\n" : "");
      else if (log_now && !o_.quiet)
        std::fprintf(stderr, "%s\n", line);
      if ((iter_ + 1) % o_.checkpoint_every == 0 && iter_ + 1 < s.iters && writer()) {
        ++iter_;
        save_checkpoint();
        --iter_;
      }
    }
  }

  [[noreturn]] void interrupted() {
    const int sig = g_signal;
    if (!writer())
      throw Error(std::string("rank ") + std::to_string(rank()) + " interrupted by " +
                  (sig == SIGINT ? "SIGINT" : "SIGTERM") + " at " + position() + " (rank 0 saves the checkpoint)");
    save_checkpoint();
    throw Error(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " at stage " +
                stages_[stage_].name + " iteration " + std::to_string(iter_) + "; checkpoint saved to " +
                checkpoint_path() + " (continue with --resume)");
  }

  // One JSON line for a checkpoint or a resume: where the run stands.
  void log_event(const char* event) {
    log_ << nlohmann::json{{"event", event}, {"stage", stages_[stage_].name}, {"iter", iter_}}.dump() << "\n"
         << std::flush;
  }

  std::string position() const { return "stage " + stages_[stage_].name + " iteration " + std::to_string(iter_); }

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
    if (!saved_at_.empty()) return "the last checkpoint, " + saved_at_ + ", is kept at " + checkpoint_path();
    return o_.resume ? "the checkpoint this run resumed from is kept at " + checkpoint_path()
                     : "no checkpoint was written by this run";
  }

  void save_checkpoint() {
    check_finite("checkpoint");
    torch::serialize::OutputArchive a;
    a.write("config", archive::from_string(model_->config().to_json()));
    a.write("position", torch::tensor({static_cast<int64_t>(stage_), static_cast<int64_t>(iter_)}));
    a.write("rng", gen_.get_state());
    for (const auto& [name, t] : model_->named_tensors()) a.write("model." + name, t.detach().to(torch::kCPU));
    for (size_t i = 0; i < ema_.size(); ++i) a.write("ema." + std::to_string(i), ema_[i].to(torch::kCPU));
    if (optimizer_) {
      torch::serialize::OutputArchive opt;
      optimizer_->save(opt);
      a.write("optimizer", opt);
    }
    std::ostringstream out;
    a.save_to(out);
    const std::string bytes = out.str();
    try {
      write_file_atomically(checkpoint_path(), std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    } catch (const Error& e) {
      throw Error(std::string("could not save the checkpoint at ") + position() + ": " + e.what() + "; " +
                  last_checkpoint());
    }
    saved_at_ = position();
    log_event("checkpoint");
  }

  void load_checkpoint() {
    const std::string path = checkpoint_path();
    // Rank 0 reads the file and hands its bytes to the others: only it
    // needs to see the checkpoint, and the world size may have changed.
    std::string bytes;
    if (writer()) {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (comm_) bytes = comm_->broadcast_bytes(bytes);
    if (bytes.empty())
      throw Error(path + ": cannot read the checkpoint to resume from" +
                  (writer() ? std::string() : " (on rank 0's machine)"));
    torch::serialize::InputArchive a;
    try {
      std::istringstream in(bytes);
      a.load_from(in);
    } catch (const std::exception&) {
      throw Error(path + ": cannot read the checkpoint to resume from (not a checkpoint, or damaged)");
    }
    try {
      model_ = std::make_unique<Model>(ModelConfig::from_json(archive::to_string(archive::read(a, "config"))), torch::kCPU);
      const torch::Tensor pos = archive::read(a, "position");
      stage_ = static_cast<size_t>(pos[0].item<int64_t>());
      iter_ = static_cast<int>(pos[1].item<int64_t>());
      if (stage_ >= stages_.size()) throw Error("its stage does not exist with these options");
      gen_.set_state(archive::read(a, "rng"));
      torch::NoGradGuard no_grad;
      for (auto& [name, p] : model_->named_tensors()) p.copy_(archive::read(a, "model." + name));
      model_->to(device_);
      ema_.clear();
      if (stages_[stage_].name != "classifier" && model_->has_bridge())
        for (size_t i = 0; i < model_->bridge_net()->parameters().size(); ++i)
          ema_.push_back(archive::read(a, "ema." + std::to_string(i)).to(device_));
      begin_stage(stages_[stage_], true);
      torch::serialize::InputArchive opt;
      if (a.try_read("optimizer", opt)) optimizer_->load(opt);
    } catch (const Error& e) {
      throw Error(path + ": cannot resume: " + e.what());
    } catch (const std::exception& e) {
      throw Error(path + ": damaged checkpoint (" + std::string(e.what()).substr(0, 200) + ")");
    }
    say("resumed from " + path + " at stage " + stages_[stage_].name + " iteration " + std::to_string(iter_));
  }

  void finish() {
    if (!ema_.empty()) {
      torch::NoGradGuard no_grad;
      auto params = model_->bridge_net()->parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(ema_[i]);
    }
    model_->eval();
    check_finite("model");
    ModelConfig c = model_->config();
    nlohmann::json meta{{"trained_by", "i2sbseg train"}, {"dataset", o_.data}, {"train_images", data_.size()},
                        {"crop", o_.crop}, {"batch", o_.batch}, {"seed", o_.seed}, {"direct", o_.direct}};
    for (const Stage& s : stages_) meta["iterations"][s.name] = s.iters;
    if (!o_.init.empty()) meta["init"] = o_.init;
    Model out(with_metadata(c, meta.dump()), torch::kCPU);
    {
      torch::NoGradGuard no_grad;
      // Same order (encoder, decoder, bridge); a direct model simply stops before the bridge.
      const auto src = model_->named_tensors();
      auto dst = out.named_tensors();
      for (size_t i = 0; i < dst.size(); ++i) dst[i].second.copy_(src[i].second.to(torch::kCPU));
    }
    save_model(out, o_.out);
    say("wrote " + o_.out);
  }

  ModelConfig with_metadata(ModelConfig c, const std::string& meta) const {
    c.metadata_json = meta;
    if (o_.direct) c.bridge.reset();  // the direct baseline is a plain segmenter
    return c;
  }

  TrainOptions o_;
  torch::Device device_;
  Dataset data_;
  std::unique_ptr<Model> model_;
  at::Generator gen_;
  torch::Tensor weights_;
  std::vector<Stage> stages_;
  size_t stage_ = 0;
  int iter_ = 0;
  double base_lr_ = 0, current_lr_ = 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> ema_;
  std::ofstream log_;
  std::string saved_at_;  // position of this run's last checkpoint
  std::unique_ptr<Communicator> comm_;  // a distributed job's link to the other ranks
};

}  // namespace

void train(const TrainOptions& options) {
  if (options.out.empty()) throw Error("--out: where to write the model is required");
  if (options.batch < 1 || options.crop < 1 || options.scale < 1)
    throw Error("--batch, --crop and --scale must be positive");
  TrainOptions o = options;
  o.dist = resolve_dist_options(options.dist);
  Trainer(o).run();
}

}  // namespace i2sbseg
