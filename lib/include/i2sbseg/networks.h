// SPDX-License-Identifier: MIT
// LibTorch modules of v1: the classifier's encoder and decoder, and the
// GroupNorm bridge network (docs/design.md §4).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <i2sbseg/bridge_net.h>
#include <i2sbseg/config.h>

namespace i2sbseg {

// GroupNorm -> SiLU -> conv3x3, twice, plus a (1x1 if needed) skip; an
// optional per-channel embedding is added between the two convolutions.
class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int in_channels, int out_channels, int embed_dim = 0);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embed = {});

 private:
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  torch::nn::Linear embed_proj_{nullptr};
};
TORCH_MODULE(ResBlock);

// RGB (normalised) -> latent at 1/downsample_factor resolution. Input sides
// must be multiples of the downsampling factor (Model pads for you).
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const ClassifierArch& arch);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d stem_{nullptr}, to_latent_{nullptr};
  torch::nn::ModuleList levels_{nullptr};  // per level: optional stride-2 conv, then blocks
};
TORCH_MODULE(Encoder);

// Latent -> class logits at downsample_factor x the latent size. Reads
// nothing but the latent.
class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const ClassifierArch& arch, int num_classes);
  torch::Tensor forward(const torch::Tensor& z);

 private:
  torch::nn::Conv2d from_latent_{nullptr}, head_{nullptr};
  torch::nn::GroupNorm head_norm_{nullptr};
  torch::nn::ModuleList levels_{nullptr};  // per level: blocks, then optional upsample + conv
};
TORCH_MODULE(Decoder);

// Sinusoidal embedding of continuous time values t (N) -> (N, dim), in
// `dtype` (float64 when the bridge folds its time input).
torch::Tensor timestep_embedding(const torch::Tensor& t, int dim, torch::ScalarType dtype = torch::kFloat32);

// BridgeType::kGroupNorm: ResBlocks taking the time MLP's embedding, 3x3
// input and output convolutions (v1's bridge, and v2's until 2026-12).
class GroupNormBridgeImpl : public BridgeNetImpl {
 public:
  GroupNormBridgeImpl(int latent_channels, const BridgeArch& arch);
  torch::Tensor forward(const torch::Tensor& z_t, const torch::Tensor& z_lr, const torch::Tensor& t) override;
  torch::Tensor condition(const torch::Tensor& z_lr) override;
  torch::Tensor forward_conditioned(const torch::Tensor& z_t, const torch::Tensor& cond,
                                    const torch::Tensor& t) override;

 private:
  torch::Tensor body(torch::Tensor h, const torch::Tensor& t);

  int time_dim_;
  int latent_channels_;
  torch::nn::Sequential time_mlp_{nullptr};
  torch::nn::Conv2d in_{nullptr}, out_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
};

}  // namespace i2sbseg
