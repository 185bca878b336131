// SPDX-License-Identifier: MIT
// The bridge network NN(z_t; z_LR; t) as one interface over its types
// (BridgeArch::type, docs/design.md §4): the sampler, the trainer and the
// tools call these and never name a type.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <i2sbseg/config.h>

namespace i2sbseg {

// Predicts the I2SB label from concat(z_t, z_LR) and the noise level t (N).
// Every type's output layer starts at zero, so an untrained net predicts
// x0 = x_t.
class BridgeNetImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& z_t, const torch::Tensor& z_lr, const torch::Tensor& t) = 0;

  // Inference shortcut: the input convolution is linear, so its z_LR half
  // (with the bias) is computed once per frame by condition() and added at
  // every step by forward_conditioned(). Equals forward() up to rounding.
  virtual torch::Tensor condition(const torch::Tensor& z_lr) = 0;
  virtual torch::Tensor forward_conditioned(const torch::Tensor& z_t, const torch::Tensor& cond,
                                            const torch::Tensor& t) = 0;

  // One inference step at sampling index `step`, whose noise level is
  // `level` (N). A net whose time input was folded (fold()) reads its
  // per-step constants and ignores `level`; the others pass it on.
  virtual torch::Tensor forward_step(const torch::Tensor& z_t, const torch::Tensor& cond, int step,
                                     const torch::Tensor& level) {
    (void)step;
    return forward_conditioned(z_t, cond, level);
  }

  // Inference only, once, after loading (Model::fold_for_inference): folds
  // BatchNorm into the convolutions and each step's time input into a
  // per-step bias; `levels` (T) holds the noise level of every step index.
  // A type with nothing to fold keeps its layers.
  virtual void fold(const torch::Tensor& levels) { (void)levels; }
  virtual bool folded() const { return false; }
};
TORCH_MODULE(BridgeNet);

// The network `arch.type` names, randomly initialised, output layer zero.
BridgeNet make_bridge_net(int latent_channels, const BridgeArch& arch);

}  // namespace i2sbseg
