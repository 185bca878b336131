// SPDX-License-Identifier: MIT
#include <i2sbseg/networks.h>

#include <cmath>
#include <numeric>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>

#include "model/network_plan.h"

namespace i2sbseg {
namespace F = torch::nn::functional;
namespace {

// Largest group count <= 8 that divides the channel count.
int groups_for(int channels) {
  for (int g = 8; g > 1; --g)
    if (channels % g == 0) return g;
  return 1;
}

torch::nn::GroupNorm group_norm(int channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups_for(channels), channels));
}

torch::nn::Conv2d conv(const plan::Conv& c) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in, c.out, c.kernel).stride(c.stride).padding(c.kernel / 2));
}

torch::nn::Linear linear(const plan::Linear& l) { return torch::nn::Linear(l.in, l.out); }

}  // namespace

ResBlockImpl::ResBlockImpl(int in_channels, int out_channels, int embed_dim) {
  const plan::BlockLayers l = plan::block_layers({in_channels, out_channels, embed_dim});
  norm1_ = register_module("norm1", group_norm(l.norm1));
  norm2_ = register_module("norm2", group_norm(l.norm2));
  conv1_ = register_module("conv1", conv(l.conv1));
  conv2_ = register_module("conv2", conv(l.conv2));
  if (l.skip.out > 0) skip_ = register_module("skip", conv(l.skip));
  if (l.embed.in > 0) embed_proj_ = register_module("embed", linear(l.embed));
}

namespace {

// A level's modules, in the plan's order.
torch::nn::ModuleList build_level(const plan::Level& plan) {
  torch::nn::ModuleList level;
  for (const auto& layer : plan) {
    if (const auto* c = std::get_if<plan::Conv>(&layer)) {
      level->push_back(conv(*c));
    } else {
      const plan::Block& b = std::get<plan::Block>(layer);
      level->push_back(ResBlock(b.in, b.out, b.embed));
    }
  }
  return level;
}

}  // namespace

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& embed) {
  torch::Tensor h = conv1_(F::silu(norm1_(x)));
  if (!embed_proj_.is_empty() && embed.defined()) h = h + embed_proj_(embed).unsqueeze(-1).unsqueeze(-1);
  h = conv2_(F::silu(norm2_(h)));
  return h + (skip_.is_empty() ? x : skip_(x));
}

// A level is a ModuleList of stride/upsample convolutions and ResBlocks, run
// in order; `upsample_before_conv` doubles the size before each convolution.
static torch::Tensor run_level(torch::nn::ModuleListImpl& level, torch::Tensor h, bool upsample_before_conv) {
  for (const auto& m : level) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      if (upsample_before_conv)
        h = F::interpolate(h, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
      h = c->forward(h);
    } else {
      h = m->as<ResBlock>()->forward(h);
    }
  }
  return h;
}

EncoderImpl::EncoderImpl(const ClassifierArch& arch) {
  const plan::EncoderPlan p = plan::encoder_plan(arch);
  stem_ = register_module("stem", conv(p.stem));
  levels_ = register_module("levels", torch::nn::ModuleList());
  for (const plan::Level& level : p.levels) levels_->push_back(build_level(level));
  to_latent_ = register_module("to_latent", conv(p.to_latent));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = stem_(x);
  for (const auto& level : *levels_) h = run_level(*level->as<torch::nn::ModuleList>(), h, false);
  return to_latent_(h);
}

DecoderImpl::DecoderImpl(const ClassifierArch& arch, int num_classes) {
  const plan::DecoderPlan p = plan::decoder_plan(arch, num_classes);
  from_latent_ = register_module("from_latent", conv(p.from_latent));
  levels_ = register_module("levels", torch::nn::ModuleList());
  for (const plan::Level& level : p.levels) levels_->push_back(build_level(level));  // convs run after a x2 upsample
  head_norm_ = register_module("head_norm", group_norm(p.head_norm));
  head_ = register_module("head", conv(p.head));
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& z) {
  torch::Tensor h = from_latent_(z);
  for (const auto& level : *levels_) h = run_level(*level->as<torch::nn::ModuleList>(), h, true);
  return head_(F::silu(head_norm_(h)));
}

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim, torch::ScalarType dtype) {
  const int half = dim / 2;
  const auto opts = torch::TensorOptions().dtype(dtype).device(t.device());
  const torch::Tensor freqs = torch::exp(-std::log(10000.0) * torch::arange(half, opts) / half);
  const torch::Tensor args = t.to(dtype).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

GroupNormBridgeImpl::GroupNormBridgeImpl(int latent_channels, const BridgeArch& arch)
    : time_dim_(arch.time_dim), latent_channels_(latent_channels) {
  const plan::BridgePlan p = plan::bridge_plan(latent_channels, arch);
  time_mlp_ = register_module("time_mlp",
                              torch::nn::Sequential(linear(p.time_in), torch::nn::SiLU(), linear(p.time_out)));
  in_ = register_module("in", conv(p.in));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (const plan::Block& b : p.blocks) blocks_->push_back(ResBlock(b.in, b.out, b.embed));
  out_norm_ = register_module("out_norm", group_norm(p.out_norm));
  out_ = register_module("out", conv(p.out));
  // Zero output: an untrained bridge predicts x0 = x_t (a no-op walk).
  torch::NoGradGuard no_grad;
  out_->weight.zero_();
  out_->bias.zero_();
}

torch::Tensor GroupNormBridgeImpl::forward(const torch::Tensor& z_t, const torch::Tensor& z_lr, const torch::Tensor& t) {
  return body(in_(torch::cat({z_t, z_lr}, 1)), t);
}

torch::Tensor GroupNormBridgeImpl::condition(const torch::Tensor& z_lr) {
  const auto& o = in_->options;
  return F::conv2d(z_lr, in_->weight.slice(1, latent_channels_, 2 * latent_channels_),
                   F::Conv2dFuncOptions().bias(in_->bias).padding(o.padding()));
}

torch::Tensor GroupNormBridgeImpl::forward_conditioned(const torch::Tensor& z_t, const torch::Tensor& cond,
                                                 const torch::Tensor& t) {
  const auto& o = in_->options;
  return body(F::conv2d(z_t, in_->weight.slice(1, 0, latent_channels_), F::Conv2dFuncOptions().padding(o.padding())) +
                  cond,
              t);
}

torch::Tensor GroupNormBridgeImpl::body(torch::Tensor h, const torch::Tensor& t) {
  // The embedding is built in float32; the layers may run in fp16/bf16.
  const torch::Tensor emb = time_mlp_->forward(timestep_embedding(t, time_dim_).to(h.scalar_type()));
  for (const auto& block : *blocks_) h = block->as<ResBlock>()->forward(h, emb);
  return out_(F::silu(out_norm_(h)));
}

}  // namespace i2sbseg
