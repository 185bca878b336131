// SPDX-License-Identifier: MIT
// BridgeType::kConvBn, the bridge network whose inference layers fold
// (docs/design.md §4 "Bridge networks"):
//   e   = time MLP(sinusoidal(level))          (as the GroupNorm type's)
//   h   = SiLU(conv1x1(concat(z_t, z_LR)))
//   h   = h + SiLU(BN(conv3x3(h)) + Linear_b(e))   per block b
//   out = conv1x1(h)                            (zero at the start)
// The time input is an additive per-channel bias, so after fold() block b
// at step k is one conv whose bias is the folded BatchNorm's plus
// Linear_b(e(level_k)): a (T, channels) table per block, computed once in
// float64, and no time MLP, no normalisation at inference.
#pragma once

#include <vector>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <i2sbseg/bridge_net.h>

namespace i2sbseg {

class ConvBnBridgeImpl : public BridgeNetImpl {
 public:
  ConvBnBridgeImpl(int latent_channels, const BridgeArch& arch);
  torch::Tensor forward(const torch::Tensor& z_t, const torch::Tensor& z_lr, const torch::Tensor& t) override;
  torch::Tensor condition(const torch::Tensor& z_lr) override;
  torch::Tensor forward_conditioned(const torch::Tensor& z_t, const torch::Tensor& cond,
                                    const torch::Tensor& t) override;
  torch::Tensor forward_step(const torch::Tensor& z_t, const torch::Tensor& cond, int step,
                             const torch::Tensor& level) override;
  void fold(const torch::Tensor& levels) override;
  bool folded() const override { return !step_bias_.empty(); }

  // The per-step tables are not parameters: they follow the module here.
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;

 private:
  // The input convolution's z_t half, plus cond, through the SiLU.
  torch::Tensor input(const torch::Tensor& z_t, const torch::Tensor& cond);
  torch::Tensor shifted_blocks(torch::Tensor h, const torch::Tensor& t);

  int time_dim_;
  int latent_channels_;
  torch::nn::Sequential time_mlp_{nullptr};
  torch::nn::Conv2d in_{nullptr}, out_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};  // ConvBnAct 3x3, BatchNorm, SiLU
  torch::nn::ModuleList shifts_{nullptr};  // per block: Linear(4 time_dim -> channels)
  // After fold(): per block, row k = the bias of its conv at step index k.
  std::vector<torch::Tensor> step_bias_;
};

}  // namespace i2sbseg
