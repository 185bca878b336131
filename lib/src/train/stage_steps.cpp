// SPDX-License-Identifier: MIT
#include "train/stage_steps.h"

#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/error.h>

#include "train/communicator.h"

namespace i2sbseg {
namespace F = torch::nn::functional;
namespace {

// The class-weighted cross-entropy of the whole job's batch, as this
// rank's share: sum(w l) over its labelled pixels / sum(w) over all ranks'
// labelled pixels, times the world size (the gradients are then averaged
// over the ranks); unlabelled pixels (kIgnoreIndex) are skipped. With no
// labelled pixel in the job's batch: 0, with a zero gradient, not 0/0.
// One process: segmentation_loss().
torch::Tensor weighted_ce(StepContext& c, const torch::Tensor& logits, const torch::Tensor& mask) {
  const CrossEntropyTerms t = cross_entropy_terms(logits, mask, c.class_weights);
  const double total = c.comm ? c.comm->sum({t.weight})[0] : t.weight;
  return total > 0 ? t.sum * (c.world / total) : t.sum * 0.0;
}

// Classifier (HR input) or direct (LR-up input): segmentation straight from pixels.
torch::Tensor classify_loss(StepContext& c, const torch::Tensor& input, const torch::Tensor& mask) {
  c.model.train();
  return weighted_ce(c, c.model.classify(input), mask);
}

// The frozen encoders' latents of a batch: z0 = E_HR(HR), z1 = E_LR(LR)
// (v1: E(LR-up)).
struct LatentPair {
  torch::Tensor z0, z1;
};
LatentPair encode_pair(Model& m, const torch::Tensor& hr, const torch::Tensor& lr) {
  torch::NoGradGuard no_grad;
  return {m.encode_hr(hr), m.encode_lr(lr)};
}

// The I2SB loss on a latent pair; the bridge must be in train mode.
torch::Tensor i2sb_loss(StepContext& c, const LatentPair& p) {
  Model& m = c.model;
  const Bridge& bridge = m.bridge();
  // Time steps and noise for the whole job's batch (the same draws on
  // every rank); this rank takes its slots.
  const int64_t n = p.z0.size(0), first = n * c.rank;
  std::vector<int64_t> shape = p.z0.sizes().vec();
  shape[0] = n * c.world;
  const torch::Tensor t_all = torch::randint(bridge.steps(), {shape[0]}, c.gen, torch::kLong);
  const torch::Tensor eps_all = at::randn(shape, c.gen, torch::dtype(torch::kFloat32));
  const torch::Tensor t = t_all.slice(0, first, first + n).to(c.device);
  const torch::Tensor xt = bridge.q_sample(t, p.z0, p.z1, eps_all.slice(0, first, first + n));
  const torch::Tensor out = m.bridge_net()->forward(xt, p.z1, bridge.noise_level(t));
  return F::mse_loss(out, bridge.label(t, xt, p.z0));
}

torch::Tensor bridge_loss(StepContext& c, const torch::Tensor& hr, const torch::Tensor& lr) {
  Model& m = c.model;
  m.eval();
  m.bridge_net()->train();
  return i2sb_loss(c, encode_pair(m, hr, lr));
}

// v2: the LR encoder learns to give latents the frozen decoder reads as it
// reads E_HR's (initialised from E_HR's trunk at the stage's start).
torch::Tensor lr_encoder_loss(StepContext& c, const torch::Tensor& lr, const torch::Tensor& mask) {
  Model& m = c.model;
  m.eval();
  m.lr_encoder()->train();
  return weighted_ce(c, m.classify_lr(lr), mask);
}

torch::nn::Module& decoder_of(Model& m) {
  if (m.family() == ModelFamily::kV2) return *m.decoder_v2();
  return *m.decoder();
}

// The sampler's noise for this rank's slots of the whole job's batch (the
// same draws on every rank, and as one process with the combined batch).
std::vector<torch::Tensor> sampler_noise(StepContext& c, const torch::Tensor& hr) {
  Model& m = c.model;
  const int64_t n = hr.size(0), first = n * c.rank;
  const std::vector<int64_t> shape = m.latent_shape(n * c.world, hr.size(2), hr.size(3));
  std::vector<torch::Tensor> noise;
  for (const torch::Tensor& all : m.bridge().draw_noise(torch::empty(shape), m.resolve_nfe(0), &c.gen))
    noise.push_back(all.slice(0, first, first + n).to(c.device));
  return noise;
}

// z1 through the sampler with the job's noise (default NFE); with the
// gradient unless the caller holds a NoGradGuard.
torch::Tensor bridged(StepContext& c, const torch::Tensor& z1, const torch::Tensor& hr) {
  const std::vector<torch::Tensor> noise = sampler_noise(c, hr);
  SampleOptions so;
  so.noise = &noise;
  return c.model.run_bridge(z1, so);
}

// The decoder reads bridged latents and keeps reading E_HR's (half the loss
// each): on bridged latents alone it drifts away from E_HR and the HR
// classifier and oracle rows lost 0.01-0.1 mIoU.
torch::Tensor decoder_loss(StepContext& c, const torch::Tensor& z, const torch::Tensor& z_hr, const torch::Tensor& hr,
                           const torch::Tensor& mask) {
  const int64_t h = hr.size(2), w = hr.size(3);
  return 0.5 * (weighted_ce(c, c.model.decode(z, h, w), mask) + weighted_ce(c, c.model.decode(z_hr, h, w), mask));
}

// The decoder alone, on latents bridged without a gradient.
torch::Tensor finetune_loss(StepContext& c, const torch::Tensor& hr, const torch::Tensor& lr, const torch::Tensor& mask) {
  Model& m = c.model;
  m.eval();
  decoder_of(m).train();
  const LatentPair p = encode_pair(m, hr, lr);
  torch::Tensor z;
  {
    torch::NoGradGuard no_grad;
    z = bridged(c, p.z1, hr);
  }
  return decoder_loss(c, z, p.z0, hr, mask);
}

// The bridge and decoder on what the element runs: the loss of the
// fine-tune with the gradient through every sampler step, plus the I2SB
// loss, weighted, so the network stays a bridge (a predictor of x0 from x_t
// at every t) rather than a one-step regressor.
torch::Tensor end_to_end_loss(StepContext& c, const torch::Tensor& hr, const torch::Tensor& lr, const torch::Tensor& mask) {
  Model& m = c.model;
  m.eval();
  m.bridge_net()->train();
  // A conv_bn bridge keeps the bridge stage's BatchNorm statistics: the
  // sampler's batches all sit at one step, whose statistics are not the
  // mix over every step that inference normalises with.
  for (const auto& sub : m.bridge_net()->modules(/*include_self=*/false))
    if (auto* bn = sub->as<torch::nn::BatchNorm2d>()) bn->eval();
  decoder_of(m).train();
  const LatentPair p = encode_pair(m, hr, lr);
  const torch::Tensor i2sb = i2sb_loss(c, p);  // its draws come before the sampler's
  return decoder_loss(c, bridged(c, p.z1, hr), p.z0, hr, mask) + c.e2e_bridge_weight * i2sb;
}

}  // namespace

namespace {

// The networks a stage trains.
std::vector<torch::nn::Module*> stage_modules(Stage stage, Model& model) {
  const bool v2 = model.family() == ModelFamily::kV2;
  switch (stage) {
    case Stage::kClassifier:
    case Stage::kDirect:
      return {v2 ? static_cast<torch::nn::Module*>(model.hr_encoder().get()) : model.encoder().get(), &decoder_of(model)};
    case Stage::kLrEncoder: return {model.lr_encoder().get()};
    case Stage::kBridge: return {model.bridge_net().get()};
    case Stage::kFinetune: return {&decoder_of(model)};
    case Stage::kEndToEnd: return {model.bridge_net().get(), &decoder_of(model)};
  }
  return {};
}

}  // namespace

std::vector<torch::Tensor> stage_parameters(Stage stage, Model& model) {
  std::vector<torch::Tensor> p;
  for (torch::nn::Module* m : stage_modules(stage, model))
    for (auto& t : m->parameters()) p.push_back(t);
  return p;
}

std::vector<torch::Tensor> stage_buffers(Stage stage, Model& model) {
  std::vector<torch::Tensor> b;
  for (torch::nn::Module* m : stage_modules(stage, model))
    for (auto& t : m->buffers())
      if (t.is_floating_point()) b.push_back(t);
  return b;
}

std::vector<torch::Tensor> stage_state(Stage stage, Model& model) {
  std::vector<torch::Tensor> p = stage_parameters(stage, model);
  for (torch::Tensor& t : stage_buffers(stage, model)) p.push_back(t);
  return p;
}

torch::Tensor stage_loss(Stage stage, StepContext& c, const Batch& b) {
  const torch::Tensor hr = b.hr.to(c.device), lr = b.lr.to(c.device), mask = b.mask.to(c.device);
  switch (stage) {
    case Stage::kClassifier: return classify_loss(c, hr, mask);
    case Stage::kDirect: return classify_loss(c, c.model.upsample_lr(lr), mask);
    case Stage::kBridge: return bridge_loss(c, hr, lr);
    case Stage::kFinetune: return finetune_loss(c, hr, lr, mask);
    case Stage::kLrEncoder: return lr_encoder_loss(c, lr, mask);
    case Stage::kEndToEnd: return end_to_end_loss(c, hr, lr, mask);
  }
  throw Error("unknown training stage");
}

}  // namespace i2sbseg
