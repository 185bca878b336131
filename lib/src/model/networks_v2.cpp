// SPDX-License-Identifier: MIT
#include <i2sbseg/networks_v2.h>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/pixelshuffle.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>

#include "model/network_plan_v2.h"

namespace i2sbseg {
namespace F = torch::nn::functional;
namespace {

ConvBnAct build(const plan::ConvBn& c) { return ConvBnAct(c.in, c.out, c.kernel, c.stride, c.groups, c.bn, c.act); }

torch::nn::ModuleList build_list(const std::vector<plan::ConvBn>& layers) {
  torch::nn::ModuleList list;
  for (const plan::ConvBn& c : layers) list->push_back(build(c));
  return list;
}

torch::Tensor run(torch::nn::ModuleList& list, size_t i, const torch::Tensor& x) {
  return list->at<ConvBnActImpl>(i).forward(x);
}

torch::Tensor resize(const torch::Tensor& x, int64_t h, int64_t w) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

}  // namespace

ConvBnActImpl::ConvBnActImpl(int in, int out, int kernel, int stride, int groups, bool bn, bool act) : act_(act) {
  // Kernel = stride (patchify) needs no padding; odd kernels keep the size.
  const int pad = kernel == stride ? 0 : kernel / 2;
  conv_ = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(pad).groups(groups)));
  if (bn) bn_ = register_module("bn", torch::nn::BatchNorm2d(out));
}

torch::Tensor ConvBnActImpl::forward(const torch::Tensor& x, const torch::Tensor& shift) {
  torch::Tensor h = conv_(x);
  if (!bn_.is_empty() && !folded_) h = bn_(h);
  if (shift.defined()) h = h + shift.unsqueeze(-1).unsqueeze(-1);
  return act_ ? F::silu(h) : h;
}

torch::Tensor ConvBnActImpl::forward_with_bias(const torch::Tensor& x, const torch::Tensor& bias) {
  const auto& o = conv_->options;
  torch::Tensor h = F::conv2d(
      x, conv_->weight,
      F::Conv2dFuncOptions().bias(bias).stride(o.stride()).padding(o.padding()).groups(o.groups()));
  return act_ ? F::silu(h) : h;
}

void ConvBnActImpl::fold() {
  if (bn_.is_empty() || folded_) return;
  torch::NoGradGuard no_grad;
  const double eps = bn_->options.eps();
  const torch::Tensor scale = bn_->weight.to(torch::kFloat64) / (bn_->running_var.to(torch::kFloat64) + eps).sqrt();
  const torch::Tensor w = conv_->weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1});
  const torch::Tensor b = (conv_->bias.to(torch::kFloat64) - bn_->running_mean.to(torch::kFloat64)) * scale +
                          bn_->bias.to(torch::kFloat64);
  conv_->weight.copy_(w);
  conv_->bias.copy_(b);
  // Identity BatchNorm: sqrt(var + eps) = 1.
  bn_->weight.fill_(1.0);
  bn_->bias.zero_();
  bn_->running_mean.zero_();
  bn_->running_var.fill_(1.0 - eps);
  folded_ = true;
}

EncoderV2Impl::EncoderV2Impl(const V2Arch& arch, int stem_stride) {
  const plan::EncoderV2Plan p = plan::encoder_v2_plan(arch, stem_stride);
  bins_ = p.bins;
  stem_ = register_module("stem", build(p.stem));
  std::vector<plan::ConvBn> down, refine;
  for (const plan::TrunkLevel& l : p.levels) {
    down.push_back(l.down);
    refine.push_back(l.refine);
  }
  down_ = register_module("down", build_list(down));
  refine_ = register_module("refine", build_list(refine));
  pool_ = register_module("pool", build_list(p.pool));
  context_ = register_module("context", build(p.context));
  lateral_ = register_module("lateral", build_list(p.lateral));
  smooth_ = register_module("smooth", build_list(p.smooth));
  lr_smooth_ = register_module("lr_smooth", build(p.lr_smooth));
  to_latent_ = register_module("to_latent", build(p.to_latent));
}

// Pyramid pooling: each bin size's average pool through a 1x1 conv, resized
// back and concatenated with the bottom features: context from the whole frame.
torch::Tensor EncoderV2Impl::context(const torch::Tensor& bottom) {
  std::vector<torch::Tensor> parts{bottom};
  for (size_t i = 0; i < bins_.size(); ++i) {
    const torch::Tensor pooled = F::adaptive_avg_pool2d(bottom, F::AdaptiveAvgPool2dFuncOptions({bins_[i], bins_[i]}));
    parts.push_back(resize(run(pool_, i, pooled), bottom.size(2), bottom.size(3)));
  }
  return context_(torch::cat(parts, 1));
}

torch::Tensor EncoderV2Impl::forward(const torch::Tensor& x) {
  const torch::Tensor stem = stem_(x);
  std::vector<torch::Tensor> feats;  // each level's output, 1/2 ... of the LR grid
  torch::Tensor h = stem;
  for (size_t i = 0; i < down_->size(); ++i) {
    h = run(down_, i, h);
    h = h + run(refine_, i, h);
    feats.push_back(h);
  }
  // Top-down: x2 upsample, add the lateral of the level above, smooth.
  torch::Tensor p = context(feats.back());
  for (size_t i = feats.size() - 1; i-- > 0;) {
    p = resize(p, feats[i].size(2), feats[i].size(3)) + run(lateral_, i + 1, feats[i]);
    p = run(smooth_, i, p);
  }
  p = resize(p, stem.size(2), stem.size(3)) + run(lateral_, 0, stem);
  return to_latent_(lr_smooth_(p));
}

DecoderV2Impl::DecoderV2Impl(const V2Arch& arch, int scale_factor, int num_classes) {
  const plan::DecoderV2Plan p = plan::decoder_v2_plan(arch, scale_factor, num_classes);
  in_ = register_module("in", build(p.in));
  steps_ = register_module("steps", build_list(p.steps));
  if (p.head.out > 0) head_ = register_module("head", build(p.head));
}

torch::Tensor DecoderV2Impl::forward(const torch::Tensor& z) {
  torch::Tensor h = in_(z);
  for (size_t i = 0; i < steps_->size(); ++i) h = F::pixel_shuffle(run(steps_, i, h), 2);
  return head_.is_empty() ? h : head_(h);
}

void fold_batch_norms(torch::nn::Module& module) {
  for (const auto& m : module.modules(/*include_self=*/true))
    if (auto* c = m->as<ConvBnActImpl>()) c->fold();
}

}  // namespace i2sbseg
