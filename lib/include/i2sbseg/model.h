// SPDX-License-Identifier: MIT
// One object for the whole path (docs/design.md §4), for either family:
//   v1: LR image -> upsample -> encoder -> NFE bridge steps -> decoder -> HR logits
//   v2: LR image -> LR encoder -> NFE bridge steps -> sub-pixel decoder -> HR logits
// and for the classifier alone (HR input, or the direct LR path). Any input
// size works: images are padded to the encoder's stride and cropped back.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/config.h>
#include <i2sbseg/networks.h>
#include <i2sbseg/networks_v2.h>

namespace i2sbseg {

struct SampleOptions {
  int nfe = 0;  // 0: the model's default_nfe
  bool ot_ode = false;
  at::Generator* generator = nullptr;  // nullptr: LibTorch's global generator
  // Noise drawn ahead by Bridge::draw_noise (then generator is unused); for
  // CUDA graphs, whose captured work cannot draw on the CPU.
  const std::vector<torch::Tensor>* noise = nullptr;
};

class Model {
 public:
  // Randomly initialised modules for `config` (validated; throws Error).
  explicit Model(ModelConfig config, torch::Device device = torch::kCPU);

  const ModelConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  void to(torch::Device device);
  void train(bool on = true);
  void eval() { train(false); }

  // Precision of the networks for inference (kFloat32, kHalf, kBFloat16);
  // bridge arithmetic, latent statistics and outputs stay float32. Throws
  // Error when this LibTorch cannot run convolutions in it on the device.
  // Training expects float32.
  void set_precision(torch::ScalarType dtype);
  torch::ScalarType precision() const { return dtype_; }
  // Convolution weights and inputs in channels-last memory order (NHWC):
  // faster for the v2 networks on CUDA (docs/design.md §4). Results are the
  // same up to rounding.
  void set_channels_last(bool on);
  bool channels_last() const { return channels_last_; }
  // The memory order inference runs in (Segmenter::open, bench): v2 in
  // channels-last on every device (cuDNN's NHWC kernels are faster, and on
  // the CPU oneDNN's NCHW kernels measured up to 10x slower for some of v2's
  // layer shapes, docs/performance.md), v1 contiguous.
  bool prefers_channels_last() const { return config_.family == ModelFamily::kV2; }

  ModelFamily family() const { return config_.family; }
  // v1's networks (empty holders in a v2 model).
  Encoder& encoder() { return encoder_; }
  Decoder& decoder() { return decoder_; }
  // v2's networks (empty holders in a v1 model).
  EncoderV2& lr_encoder() { return lr_encoder_; }
  EncoderV2& hr_encoder() { return hr_encoder_; }
  DecoderV2& decoder_v2() { return decoder_v2_; }
  // Folds BatchNorm into the convolutions (v2; v1 has none) and a conv_bn
  // bridge's time input into per-step biases: for inference only, once,
  // after loading. Segmenter::open calls it; load_model does not (training
  // and resuming need the raw weights).
  void fold_for_inference();
  bool has_bridge() const { return !bridge_net_.is_empty(); }
  BridgeNet& bridge_net();  // throws Error when the model has no bridge
  const Bridge& bridge() const { return bridge_; }

  // Per-channel latent statistics (size latent_channels, std > 0).
  void set_latent_stats(const std::vector<float>& mean, const std::vector<float>& std);

  // Images are float (N, 3, H, W), RGB in [0, 1], on any device.
  torch::Tensor normalise(const torch::Tensor& rgb01) const;
  // Bicubic upsampling by the scale factor, clamped to [0, 1].
  torch::Tensor upsample_lr(const torch::Tensor& lr01) const;
  // Shape of encode()'s output for an HR-size image of height x width.
  std::vector<int64_t> latent_shape(int64_t batch, int64_t height, int64_t width) const;
  // Normalised latent of an HR-size image (v2: the HR encoder):
  // (N, latent_channels, ceil(H/f), ceil(W/f)), f = config().latent_factor().
  torch::Tensor encode(const torch::Tensor& rgb01);
  torch::Tensor encode_hr(const torch::Tensor& hr01) { return encode(hr01); }
  // Normalised latent of an LR image (N, 3, h, w): v1 encodes the LR-up
  // image, v2 runs the LR encoder; both give encode()'s shape for the HR size.
  torch::Tensor encode_lr(const torch::Tensor& lr01);
  // Class logits (N, K, height, width) from a normalised latent.
  torch::Tensor decode(const torch::Tensor& z, int64_t height, int64_t width);
  // The classifier alone: logits at the input's size (an HR-size image).
  torch::Tensor classify(const torch::Tensor& rgb01);
  // The direct path, no bridge: HR logits (N, K, s*h, s*w) for an LR image.
  torch::Tensor classify_lr(const torch::Tensor& lr01);
  // The bridge network's x0 estimate at sampling index `step`.
  torch::Tensor predict_x0(const torch::Tensor& z_t, const torch::Tensor& z_lr, int step);
  // The NFE a call uses: `nfe`, or the model's default when 0. Throws Error
  // when it is not below the schedule's step count.
  int resolve_nfe(int nfe) const;
  // Reverse bridge from the LR latent z1 to an estimate of the HR latent.
  torch::Tensor run_bridge(const torch::Tensor& z1, const SampleOptions& options = {});
  // The whole path: HR logits (N, K, s*h, s*w) for an LR image (N, 3, h, w).
  // Without a bridge: classify_lr.
  torch::Tensor segment_lr(const torch::Tensor& lr01, const SampleOptions& options = {});

  // Parameters and buffers (BatchNorm's batch counters left out), prefixed
  // "encoder.", "decoder.", "bridge." and, in v2, "encoder_hr.".
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;
  std::int64_t parameter_count(const std::string& prefix = "") const;

 private:
  // The networks present, each with its tensor name prefix.
  std::vector<std::pair<std::string, torch::nn::Module*>> networks() const;
  torch::Tensor pad_normalise(const torch::Tensor& rgb01, int64_t multiple) const;

  ModelConfig config_;
  torch::Device device_;
  torch::ScalarType dtype_ = torch::kFloat32;
  bool channels_last_ = false;
  Encoder encoder_{nullptr};
  Decoder decoder_{nullptr};
  EncoderV2 lr_encoder_{nullptr}, hr_encoder_{nullptr};
  DecoderV2 decoder_v2_{nullptr};
  BridgeNet bridge_net_{nullptr};
  Bridge bridge_;
  torch::Tensor latent_mean_, latent_std_;  // (1, C, 1, 1)
  torch::Tensor input_mean_, input_std_;    // (1, 3, 1, 1) on the device: no host copies per call
};

// Saves config + weights atomically; throws Error naming the path.
void save_model(const Model& model, const std::string& path);
// Loads and validates a bundle; every failure throws Error naming the path
// and the problem (including weights that do not match the config).
Model load_model(const std::string& path, torch::Device device = torch::kCPU);

}  // namespace i2sbseg
