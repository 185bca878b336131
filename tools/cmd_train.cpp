// SPDX-License-Identifier: MIT
// `i2sbseg train`: the training stages (or the direct baseline).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <i2sbseg/error.h>
#include <i2sbseg/trainer.h>

#include "commands.h"
#include "field_flags.h"
#include "stop_signals.h"
#ifdef I2SBSEG_HAVE_OPENCV
#include "charts.h"
#endif

namespace i2sbseg::tools {
namespace {

// TrainOptions fields (Error::field) -> this command's flags.
const FieldFlags& option_flags() {
  static const FieldFlags flags{
      {"data", "--data"},
      {"out", "--out"},
      {"direct_out", "--direct-out"},
      {"checkpoint", "--checkpoint"},
      {"log", "--log"},
      {"init", "--init"},
      {"scale", "--scale"},
      {"scale_factor", "--scale"},
      {"family", "--arch"},
      {"crop", "--crop"},
      {"batch", "--batch"},
      {"widths", "--widths"},
      {"blocks_per_level", "--blocks"},
      {"stem_channels", "--stem-channels"},
      {"context_widths", "--context-widths"},
      {"fpn_channels", "--fpn-channels"},
      {"latent_channels", "--latent-channels"},
      {"bridge_channels", "--bridge-channels"},
      {"bridge_blocks", "--bridge-blocks"},
      {"bridge_type", "--bridge-type"},
      {"classifier_iters", "--classifier-iters"},
      {"bridge_iters", "--bridge-iters"},
      {"finetune_iters", "--finetune-iters"},
      {"e2e_iters", "--e2e-iters"},
      {"weight_decay", "--weight-decay"},
      {"classifier_ema", "--classifier-ema"},
      {"e2e_bridge_weight", "--e2e-bridge-weight"},
      {"direct_iters", "--direct-iters"},
      {"lr", "--lr"},
      {"bridge_lr", "--bridge-lr"},
      {"default_nfe", "--nfe"},
      {"device", "--device"},
      {"threads", "--threads"},
      {"seed", "--seed"},
      {"checkpoint_every", "--checkpoint-every"},
      {"log_every", "--log-every"},
      {"dist.world_size", "--world-size"},
      {"dist.rank", "--rank"},
      {"dist.local_rank", "--local-rank"},
      {"dist.master_addr", "--master-addr"},
      {"dist.master_port", "--master-port"},
      {"dist.backend", "--dist-backend"},
      {"dist.timeout_s", "--dist-timeout"},
  };
  return flags;
}

// The fields whose flags were on the command line.
std::vector<std::string> fields_given(const CLI::App& sub) {
  std::vector<std::string> given;
  for (const auto& [field, flag] : option_flags())
    if (sub.count(flag) > 0) given.push_back(field);
  return given;
}

// The library's message in the tool's words.
std::string message_for(const Error& e, int signal) {
  std::string m = with_flag(e, option_flags()).what();
  if (e.kind() == ErrorKind::kInterrupted)
    m = std::string("interrupted by ") + signal_label(signal) + ": " + m + "; continue with --resume";
  return m;
}

// Each stage's (iteration, loss) points from the JSON-lines log, stages in
// the order they first appear. A resumed run retraces the iterations after
// its checkpoint: where a stage's iteration goes back, its points from there
// on are dropped, so each curve is the history of the final model (the
// first run up to the checkpoint, then the resumed run).
using Curves = std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>>;
Curves read_loss_curves(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  Curves curves;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);  // a line cut short by a kill: skipped
    if (j.is_discarded() || j.contains("event") || !j.contains("stage") || !j.contains("iter") || !j.contains("loss"))
      continue;
    const std::string stage = j["stage"].get<std::string>();
    const double iter = j["iter"].get<double>(), loss = j["loss"].get<double>();
    auto c = std::find_if(curves.begin(), curves.end(), [&](const auto& e) { return e.first == stage; });
    if (c == curves.end()) {
      curves.emplace_back(stage, std::vector<std::pair<double, double>>{});
      c = std::prev(curves.end());
    }
    auto& pts = c->second;
    while (!pts.empty() && pts.back().first >= iter) pts.pop_back();
    pts.emplace_back(iter, loss);
  }
  return curves;
}

#ifdef I2SBSEG_HAVE_OPENCV
// One panel per stage, stacked; y on a log scale when the loss spans more
// than a factor of ten.
void write_loss_plot(const Curves& curves, const std::string& png) {
  std::vector<cv::Mat> panels;
  for (const auto& [stage, pts] : curves) {
    charts::Series s;
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (const auto& [x, y] : pts) {
      s.points.emplace_back(x, y);
      lo = std::min(lo, y), hi = std::max(hi, y);
    }
    charts::ChartOptions o;
    o.title = stage, o.x_label = "iteration", o.y_label = "loss";
    o.size = {720, 240};
    o.log_y = lo > 0 && hi > 10 * lo;
    panels.push_back(charts::draw_line_chart({s}, o));
  }
  charts::write_png(charts::stack_vertically(panels), png);
}
#endif

// The loss curves beside the log (LOG without .jsonl, + .png), by the
// process that wrote the log. The model is saved by now: a failure here is
// a warning.
void plot_losses(const TrainOptions& o) {
  try {
    const std::string log = o.log.empty() ? o.out + ".log.jsonl" : o.log;
    if (resolve_dist_options(o.dist).rank != 0 || !std::filesystem::exists(log)) return;
    const Curves curves = read_loss_curves(log);
    if (curves.empty()) return;
    const std::string suffix = ".jsonl";
    const bool jsonl = log.size() > suffix.size() && log.compare(log.size() - suffix.size(), suffix.size(), suffix) == 0;
    const std::string png = (jsonl ? log.substr(0, log.size() - suffix.size()) : log) + ".png";
#ifdef I2SBSEG_HAVE_OPENCV
    write_loss_plot(curves, png);
    if (!o.quiet) std::fprintf(stderr, "wrote %s (loss curves)\n", png.c_str());
#else
    throw std::runtime_error("this build has no OpenCV to draw " + png);
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "i2sbseg train: warning: no loss curves: %s\n", e.what());
  }
}

int run_train(const TrainOptions& parsed, const CLI::App& sub, bool plot) {
  StopSignals signals;
  TrainOptions o;
  try {
    o = inherit_init_settings(parsed, fields_given(sub));
    o.stop_request = &StopSignals::request();
    train(o);
  } catch (const Error& e) {
    std::fprintf(stderr, "i2sbseg train: %s\n", message_for(e, StopSignals::request().load()).c_str());
    return 1;
  }
  if (plot) plot_losses(o);
  return 0;
}

void add_model_options(CLI::App* sub, TrainOptions& o) {
  const std::string inherited = " (with --init: that bundle's, unless given)";
  sub->add_option("--scale", o.scale, "LR -> HR scale factor" + inherited)->capture_default_str()->check(CLI::Range(1, 16));
  sub->add_option("--crop", o.crop, "HR crop side in pixels" + inherited)->capture_default_str()->check(CLI::Range(8, 4096));
  sub->add_option("--batch", o.batch, "Batch size" + inherited)->capture_default_str()->check(CLI::Range(1, 4096));
  sub->add_option_function<std::string>(
         "--arch", [&o](const std::string& v) { o.family = v == "v1" ? ModelFamily::kV1 : ModelFamily::kV2; },
         "Model family: v2 (LR encoder, sub-pixel decoder) or v1 (GroupNorm encoder at HR)" + inherited)
      ->check(CLI::IsMember({"v1", "v2"}))
      ->default_str(to_string(o.family));
  sub->add_option("--widths", o.widths, "Encoder/decoder widths per level (v1 only)")->capture_default_str();
  sub->add_option("--blocks", o.blocks_per_level, "Residual blocks per level (v1 only)")->capture_default_str();
  sub->add_option("--stem-channels", o.stem_channels, "Encoder stem width at the LR grid (v2 only)")->capture_default_str();
  sub->add_option("--context-widths", o.context_widths, "Encoder widths at 1/2, 1/4, ... of the LR grid (v2 only)")
      ->capture_default_str();
  sub->add_option("--fpn-channels", o.fpn_channels, "Encoder top-down (FPN) width (v2 only)")->capture_default_str();
  sub->add_option("--latent-channels", o.latent_channels, "Latent channels")->capture_default_str();
  sub->add_option("--bridge-channels", o.bridge_channels, "Bridge network width")->capture_default_str();
  sub->add_option("--bridge-blocks", o.bridge_blocks, "Bridge network residual blocks")->capture_default_str();
  sub->add_option_function<std::string>(
         "--bridge-type",
         [&o](const std::string& v) { o.bridge_type = v == "groupnorm" ? BridgeType::kGroupNorm : BridgeType::kConvBn; },
         "Bridge network: conv_bn (conv + BatchNorm, time input a per-step bias: folds at load) or groupnorm "
         "(the earlier ResBlock net with a time MLP per step)")
      ->check(CLI::IsMember({"conv_bn", "groupnorm"}))
      ->default_str(to_string(o.bridge_type));
  sub->add_option("--classifier-iters", o.classifier_iters, "Classifier stage iterations")->capture_default_str();
  sub->add_option("--bridge-iters", o.bridge_iters, "Bridge stage iterations")->capture_default_str();
  sub->add_option("--finetune-iters", o.finetune_iters, "Decoder fine-tune iterations (0: skip)")->capture_default_str();
  sub->add_option("--e2e-iters", o.e2e_iters,
                  "End-to-end iterations: bridge + decoder on the segmentation loss through the sampler (0: skip)")
      ->capture_default_str();
  sub->add_option("--e2e-bridge-weight", o.e2e_bridge_weight, "Weight of the I2SB loss in the end-to-end stage")
      ->capture_default_str();
  sub->add_option("--direct-iters", o.direct_iters,
                  "v2: LR-encoder stage iterations (with or without --direct); v1: --direct fine-tune iterations")
      ->capture_default_str();
  sub->add_flag("--blur-augment", o.blur_augment,
                "Blur half the training crops (Gaussian, sigma 0.3-1.5 px): less reliance on fine textures");
  sub->add_flag("--strong-augment", o.strong_augment,
                "Wider zoom (0.6x-1.5x), rotations up to 20 degrees, 15 % of crops in grey");
  sub->add_option("--classifier-ema", o.classifier_ema,
                  "EMA decay of the classifier, LR-encoder and direct stages' weights, which those stages end on "
                  "(0: off, the last iterate)")
      ->capture_default_str();
  sub->add_option_function<std::string>(
         "--class-weights", [&o](const std::string& v) { o.weight_classes = v == "inverse-sqrt"; },
         "Cross-entropy class weights: inverse-sqrt (1/sqrt of each class's pixel share) or none")
      ->check(CLI::IsMember({"inverse-sqrt", "none"}))
      ->default_str("none");
  sub->add_option("--lr", o.lr, "Learning rate of the classifier and LR-encoder stages")->capture_default_str();
  sub->add_option("--bridge-lr", o.bridge_lr, "Bridge learning rate")->capture_default_str();
  sub->add_option("--weight-decay", o.weight_decay, "AdamW weight decay (every stage)")->capture_default_str();
  sub->add_option("--nfe", o.default_nfe, "Default NFE stored in the bundle")->capture_default_str();
  sub->add_option("--device", o.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->add_option("--threads", o.threads, "CPU threads (0: LibTorch default)" + inherited)->capture_default_str();
  sub->add_option("--seed", o.seed, "Random seed")->capture_default_str();
}

// Data parallelism, launched like PyTorch jobs (torchrun, srun, a shell
// loop): the environment gives the values, these flags override it.
void add_dist_options(CLI::App* sub, DistOptions& d) {
  const char* group = "Distributed (defaults from the environment)";
  sub->add_option("--world-size", d.world_size, "Processes in the job ($WORLD_SIZE, $SLURM_NTASKS; 1)")->group(group);
  sub->add_option("--rank", d.rank, "This process's rank ($RANK, $SLURM_PROCID; 0)")->group(group);
  sub->add_option("--local-rank", d.local_rank,
                  "Rank on this machine: the GPU used with --device cuda ($LOCAL_RANK, $SLURM_LOCALID)")
      ->group(group);
  sub->add_option("--master-addr", d.master_addr,
                  std::string("Where rank 0 serves the rendezvous ($MASTER_ADDR; ") + kDefaultMasterAddr + ")")
      ->group(group);
  sub->add_option("--master-port", d.master_port,
                  "Its TCP port ($MASTER_PORT; " + std::to_string(kDefaultMasterPort) + ")")
      ->group(group);
  sub->add_option("--dist-backend", d.backend, "auto (nccl on CUDA, else gloo), gloo or nccl")
      ->capture_default_str()
      ->group(group);
  sub->add_option("--dist-timeout", d.timeout_s,
                  "Seconds the rendezvous or one collective may wait for the other ranks (" +
                      std::to_string(kDefaultTimeoutSeconds) + ")")
      ->group(group);
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* sub =
      app.add_subcommand("train", "Train a model: classifier, LR encoder (v2), bridge, optional decoder fine-tune");
  sub->add_option("--data", o->data, "Dataset folder (images/, masks/, classes.json) or packed file")->required();
  sub->add_option("--out", o->out, "Model bundle to write (missing folders are created)")->required();
  sub->add_option("--checkpoint", o->checkpoint, "Checkpoint file (default: OUT.ckpt)");
  sub->add_flag("--keep-checkpoint", o->keep_checkpoint, "Keep the checkpoint after a successful run (default: removed)");
  sub->add_option("--log", o->log, "JSON-lines log (default: OUT.log.jsonl)");
  sub->add_flag("--resume", o->resume, "Continue from the checkpoint (weights, optimizer, iteration)");
  sub->add_option("--init", o->init,
                  "Start from this v1 bundle's weights (skips the classifier stage; --arch, --scale, --crop, "
                  "--batch and --threads default to the bundle's)");
  sub->add_flag("--direct", o->direct,
                "Make the direct baseline, a bundle without a bridge: v2 stops after the LR-encoder stage; v1 "
                "fine-tunes the classifier on LR-up input");
  sub->add_option("--direct-out", o->direct_out,
                  "v2 without --direct: also write the direct baseline here when the LR-encoder stage ends (what "
                  "a --direct run with the same options makes)");
  add_model_options(sub, *o);
  sub->add_option("--checkpoint-every", o->checkpoint_every, "Iterations between checkpoints")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--log-every", o->log_every, "Iterations between log lines")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_flag("--quiet", o->quiet, "No progress output");
  auto no_plot = std::make_shared<bool>(false);
  sub->add_flag("--no-plot", *no_plot, "Skip the picture of the loss curves (LOG without .jsonl, + .png)");
  add_dist_options(sub, o->dist);
  return {sub, [o, sub, no_plot] { return run_train(*o, *sub, !*no_plot); }};
}

}  // namespace i2sbseg::tools
