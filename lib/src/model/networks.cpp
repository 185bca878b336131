// SPDX-License-Identifier: MIT
#include <i2sbseg/networks.h>

#include <cmath>
#include <numeric>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>

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

torch::nn::Conv2d conv(int in, int out, int kernel, int stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

}  // namespace

ResBlockImpl::ResBlockImpl(int in_channels, int out_channels, int embed_dim)
    : norm1_(register_module("norm1", group_norm(in_channels))),
      norm2_(register_module("norm2", group_norm(out_channels))),
      conv1_(register_module("conv1", conv(in_channels, out_channels, 3))),
      conv2_(register_module("conv2", conv(out_channels, out_channels, 3))) {
  if (in_channels != out_channels) skip_ = register_module("skip", conv(in_channels, out_channels, 1));
  if (embed_dim > 0) embed_proj_ = register_module("embed", torch::nn::Linear(embed_dim, out_channels));
}

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
  const std::vector<int>& w = arch.widths;
  stem_ = register_module("stem", conv(arch.in_channels, w[0], 3));
  levels_ = register_module("levels", torch::nn::ModuleList());
  for (size_t i = 0; i < w.size(); ++i) {
    torch::nn::ModuleList level;
    if (i > 0) level->push_back(conv(w[i - 1], w[i], 3, 2));  // stride-2 conv halves the size
    for (int b = 0; b < arch.blocks_per_level; ++b) level->push_back(ResBlock(w[i], w[i]));
    levels_->push_back(level);
  }
  to_latent_ = register_module("to_latent", conv(w.back(), arch.latent_channels, 1));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = stem_(x);
  for (const auto& level : *levels_) h = run_level(*level->as<torch::nn::ModuleList>(), h, false);
  return to_latent_(h);
}

DecoderImpl::DecoderImpl(const ClassifierArch& arch, int num_classes) {
  const std::vector<int>& w = arch.widths;
  from_latent_ = register_module("from_latent", conv(arch.latent_channels, w.back(), 3));
  levels_ = register_module("levels", torch::nn::ModuleList());
  for (size_t i = w.size(); i-- > 0;) {
    torch::nn::ModuleList level;
    for (int b = 0; b < arch.blocks_per_level; ++b) level->push_back(ResBlock(w[i], w[i]));
    if (i > 0) level->push_back(conv(w[i], w[i - 1], 3));  // runs after a x2 nearest upsample
    levels_->push_back(level);
  }
  head_norm_ = register_module("head_norm", group_norm(w[0]));
  head_ = register_module("head", conv(w[0], num_classes, 1));
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& z) {
  torch::Tensor h = from_latent_(z);
  for (const auto& level : *levels_) h = run_level(*level->as<torch::nn::ModuleList>(), h, true);
  return head_(F::silu(head_norm_(h)));
}

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim) {
  const int half = dim / 2;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(t.device());
  const torch::Tensor freqs = torch::exp(-std::log(10000.0) * torch::arange(half, opts) / half);
  const torch::Tensor args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

BridgeNetImpl::BridgeNetImpl(int latent_channels, const BridgeArch& arch)
    : time_dim_(arch.time_dim), latent_channels_(latent_channels) {
  const int ch = arch.channels;
  const int embed = 4 * arch.time_dim;
  time_mlp_ = register_module("time_mlp", torch::nn::Sequential(torch::nn::Linear(arch.time_dim, embed),
                                                                 torch::nn::SiLU(), torch::nn::Linear(embed, embed)));
  in_ = register_module("in", conv(2 * latent_channels, ch, 3));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int b = 0; b < arch.blocks; ++b) blocks_->push_back(ResBlock(ch, ch, embed));
  out_norm_ = register_module("out_norm", group_norm(ch));
  out_ = register_module("out", conv(ch, latent_channels, 3));
  // Zero output: an untrained bridge predicts x0 = x_t (a no-op walk).
  torch::NoGradGuard no_grad;
  out_->weight.zero_();
  out_->bias.zero_();
}

torch::Tensor BridgeNetImpl::forward(const torch::Tensor& z_t, const torch::Tensor& z_lr, const torch::Tensor& t) {
  return body(in_(torch::cat({z_t, z_lr}, 1)), t);
}

torch::Tensor BridgeNetImpl::condition(const torch::Tensor& z_lr) {
  const auto& o = in_->options;
  return F::conv2d(z_lr, in_->weight.slice(1, latent_channels_, 2 * latent_channels_),
                   F::Conv2dFuncOptions().bias(in_->bias).padding(o.padding()));
}

torch::Tensor BridgeNetImpl::forward_conditioned(const torch::Tensor& z_t, const torch::Tensor& cond,
                                                 const torch::Tensor& t) {
  const auto& o = in_->options;
  return body(F::conv2d(z_t, in_->weight.slice(1, 0, latent_channels_), F::Conv2dFuncOptions().padding(o.padding())) +
                  cond,
              t);
}

torch::Tensor BridgeNetImpl::body(torch::Tensor h, const torch::Tensor& t) {
  // The embedding is built in float32; the layers may run in fp16/bf16.
  const torch::Tensor emb = time_mlp_->forward(timestep_embedding(t, time_dim_).to(h.scalar_type()));
  for (const auto& block : *blocks_) h = block->as<ResBlock>()->forward(h, emb);
  return out_(F::silu(out_norm_(h)));
}

}  // namespace i2sbseg
