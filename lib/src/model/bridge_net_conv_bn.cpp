// SPDX-License-Identifier: MIT
#include <i2sbseg/bridge_net_conv_bn.h>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <i2sbseg/error.h>
#include <i2sbseg/networks.h>
#include <i2sbseg/networks_v2.h>

#include "model/network_plan.h"

namespace i2sbseg {
namespace F = torch::nn::functional;

ConvBnBridgeImpl::ConvBnBridgeImpl(int latent_channels, const BridgeArch& arch)
    : time_dim_(arch.time_dim), latent_channels_(latent_channels) {
  const plan::ConvBnBridgePlan p = plan::conv_bn_bridge_plan(latent_channels, arch);
  time_mlp_ = register_module("time_mlp", torch::nn::Sequential(torch::nn::Linear(p.time_in.in, p.time_in.out),
                                                                torch::nn::SiLU(),
                                                                torch::nn::Linear(p.time_out.in, p.time_out.out)));
  in_ = register_module("in", torch::nn::Conv2d(torch::nn::Conv2dOptions(p.in.in, p.in.out, 1)));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  shifts_ = register_module("shifts", torch::nn::ModuleList());
  for (int b = 0; b < p.blocks; ++b) {
    blocks_->push_back(ConvBnAct(p.channels, p.channels, 3, 1, 1, true, true));
    shifts_->push_back(torch::nn::Linear(p.shift.in, p.shift.out));
  }
  out_ = register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(p.out.in, p.out.out, 1)));
  // Zero output: an untrained bridge predicts x0 = x_t (a no-op walk).
  torch::NoGradGuard no_grad;
  out_->weight.zero_();
  out_->bias.zero_();
}

torch::Tensor ConvBnBridgeImpl::input(const torch::Tensor& z_t, const torch::Tensor& cond) {
  return F::silu(F::conv2d(z_t, in_->weight.slice(1, 0, latent_channels_)) + cond);
}

torch::Tensor ConvBnBridgeImpl::shifted_blocks(torch::Tensor h, const torch::Tensor& t) {
  // The embedding is built in float32 (float64 for a float64 net, the
  // folding tests' reference); the layers may run in fp16/bf16.
  const torch::ScalarType built = h.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  const torch::Tensor emb = time_mlp_->forward(timestep_embedding(t, time_dim_, built).to(h.scalar_type()));
  for (size_t b = 0; b < blocks_->size(); ++b)
    h = h + blocks_->at<ConvBnActImpl>(b).forward(h, shifts_[b]->as<torch::nn::Linear>()->forward(emb));
  return out_(h);
}

torch::Tensor ConvBnBridgeImpl::forward(const torch::Tensor& z_t, const torch::Tensor& z_lr, const torch::Tensor& t) {
  return shifted_blocks(F::silu(in_(torch::cat({z_t, z_lr}, 1))), t);
}

torch::Tensor ConvBnBridgeImpl::condition(const torch::Tensor& z_lr) {
  return F::conv2d(z_lr, in_->weight.slice(1, latent_channels_, 2 * latent_channels_),
                   F::Conv2dFuncOptions().bias(in_->bias));
}

torch::Tensor ConvBnBridgeImpl::forward_conditioned(const torch::Tensor& z_t, const torch::Tensor& cond,
                                                    const torch::Tensor& t) {
  return shifted_blocks(input(z_t, cond), t);
}

torch::Tensor ConvBnBridgeImpl::forward_step(const torch::Tensor& z_t, const torch::Tensor& cond, int step,
                                             const torch::Tensor& level) {
  if (!folded()) return forward_conditioned(z_t, cond, level);
  if (step < 0 || step >= step_bias_.front().size(0))
    throw Error("bridge: step index " + std::to_string(step) + " is outside the folded schedule's " +
                std::to_string(step_bias_.front().size(0)) + " steps");
  torch::Tensor h = input(z_t, cond);
  for (size_t b = 0; b < blocks_->size(); ++b)
    h = h + blocks_->at<ConvBnActImpl>(b).forward_with_bias(h, step_bias_[b][step]);
  return out_(h);
}

void ConvBnBridgeImpl::fold(const torch::Tensor& levels) {
  if (folded() || blocks_->size() == 0) {
    if (blocks_->size() == 0) step_bias_.clear();
    return;
  }
  if (levels.dim() != 1 || levels.size(0) < 1) throw Error("bridge: fold needs the (T) noise levels of the schedule");
  torch::NoGradGuard no_grad;
  const torch::Device device = in_->weight.device();
  const torch::ScalarType dtype = in_->weight.scalar_type();
  // The time MLP and each block's shift over every level in float64: the
  // table rows are what forward() adds at those levels, rounded once.
  const auto lin64 = [](torch::nn::Module& m, const torch::Tensor& x) {
    auto& l = *m.as<torch::nn::Linear>();
    return torch::addmm(l.bias.to(torch::kFloat64), x, l.weight.to(torch::kFloat64).t());
  };
  const torch::Tensor sinus = timestep_embedding(levels.to(device), time_dim_, torch::kFloat64);
  auto& mlp = *time_mlp_;
  const torch::Tensor emb = lin64(*mlp[2], F::silu(lin64(*mlp[0], sinus)));
  step_bias_.clear();
  for (size_t b = 0; b < blocks_->size(); ++b) {
    ConvBnActImpl& block = blocks_->at<ConvBnActImpl>(b);
    block.fold();  // BatchNorm into the conv, in float64
    const torch::Tensor shift = lin64(*shifts_[b], emb);
    step_bias_.push_back((shift + block.bias().to(torch::kFloat64).unsqueeze(0)).to(device, dtype).contiguous());
  }
}

void ConvBnBridgeImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  BridgeNetImpl::to(device, dtype, non_blocking);
  for (auto& t : step_bias_) t = t.to(device, dtype);
}

void ConvBnBridgeImpl::to(torch::Dtype dtype, bool non_blocking) {
  BridgeNetImpl::to(dtype, non_blocking);
  for (auto& t : step_bias_) t = t.to(dtype);
}

void ConvBnBridgeImpl::to(torch::Device device, bool non_blocking) {
  BridgeNetImpl::to(device, non_blocking);
  for (auto& t : step_bias_) t = t.to(device);
}

}  // namespace i2sbseg
