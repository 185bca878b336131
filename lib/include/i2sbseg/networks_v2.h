// SPDX-License-Identifier: MIT
// LibTorch modules of the v2 family (docs/design.md §4 "Networks v2"):
// conv + BatchNorm + SiLU blocks; an encoder that works at the LR grid
// (from the LR frame, or from HR through a patchify stem) and a sub-pixel
// decoder. The bridge networks are in bridge_net.h.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <i2sbseg/config.h>

namespace i2sbseg {

// conv (with bias) -> optional BatchNorm -> optional SiLU. fold() moves the
// BatchNorm's eval-mode affine map into the conv (inference only).
class ConvBnActImpl : public torch::nn::Module {
 public:
  ConvBnActImpl(int in, int out, int kernel, int stride, int groups, bool bn, bool act);
  // shift (N, out) or undefined: added per channel after the BatchNorm,
  // before the SiLU (the bridge's time input).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& shift = {});
  // The conv with `bias` (out) in place of its own, then the SiLU: a folded
  // layer whose shift is a known constant folded into its bias.
  torch::Tensor forward_with_bias(const torch::Tensor& x, const torch::Tensor& bias);
  const torch::Tensor& bias() const { return conv_->bias; }
  // W' = W*g/sqrt(v+eps), b' = (b-m)*g/sqrt(v+eps)+beta, computed in float64;
  // the BatchNorm is then skipped and reset to the identity, so the module
  // still computes the same if saved and loaded unfolded.
  void fold();
  bool folded() const { return folded_; }

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  bool act_;
  bool folded_ = false;
};
TORCH_MODULE(ConvBnAct);

// Image -> latent at the LR grid. stem_stride 1: an LR frame (3x3 stem at
// its own size); stem_stride s: an HR frame (patchify stem, kernel = stride
// = s). Input sides must be multiples of stem_stride x arch.trunk_stride()
// (Model pads and crops).
class EncoderV2Impl : public torch::nn::Module {
 public:
  EncoderV2Impl(const V2Arch& arch, int stem_stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor context(const torch::Tensor& bottom);

  std::vector<int> bins_;
  ConvBnAct stem_{nullptr}, context_{nullptr}, lr_smooth_{nullptr}, to_latent_{nullptr};
  torch::nn::ModuleList down_{nullptr}, refine_{nullptr}, pool_{nullptr}, lateral_{nullptr}, smooth_{nullptr};
};
TORCH_MODULE(EncoderV2);

// Latent -> class logits at scale_factor x the latent grid: a 3x3 conv, then
// per x2 step a conv to 4x the channels and PixelShuffle(2).
class DecoderV2Impl : public torch::nn::Module {
 public:
  DecoderV2Impl(const V2Arch& arch, int scale_factor, int num_classes);
  torch::Tensor forward(const torch::Tensor& z);

 private:
  ConvBnAct in_{nullptr}, head_{nullptr};
  torch::nn::ModuleList steps_{nullptr};
};
TORCH_MODULE(DecoderV2);

// Folds every ConvBnAct inside `module` (inference only: training needs the
// BatchNorm).
void fold_batch_norms(torch::nn::Module& module);

}  // namespace i2sbseg
