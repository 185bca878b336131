// SPDX-License-Identifier: MIT
// One object for the whole path (docs/design.md §4):
//   LR image -> upsample -> encoder -> NFE bridge steps -> decoder -> HR logits
// and for the classifier alone (HR or LR-up input). Any input size works:
// images are padded to the encoder's stride and the logits cropped back.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include <i2sbseg/bridge.h>
#include <i2sbseg/config.h>
#include <i2sbseg/networks.h>

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

  Encoder& encoder() { return encoder_; }
  Decoder& decoder() { return decoder_; }
  bool has_bridge() const { return !bridge_net_.is_empty(); }
  BridgeNet& bridge_net();  // throws Error when the model has no bridge
  const Bridge& bridge() const { return bridge_; }

  // Per-channel latent statistics (size latent_channels, std > 0).
  void set_latent_stats(const std::vector<float>& mean, const std::vector<float>& std);

  // Images are float (N, 3, H, W), RGB in [0, 1], on any device.
  torch::Tensor normalise(const torch::Tensor& rgb01) const;
  // Bicubic upsampling by the scale factor, clamped to [0, 1].
  torch::Tensor upsample_lr(const torch::Tensor& lr01) const;
  // Shape of encode()'s output for an image of height x width.
  std::vector<int64_t> latent_shape(int64_t batch, int64_t height, int64_t width) const;
  // Normalised latent of the image padded to the encoder's stride:
  // (N, latent_channels, ceil(H/f), ceil(W/f)).
  torch::Tensor encode(const torch::Tensor& rgb01);
  // Class logits (N, K, height, width) from a normalised latent.
  torch::Tensor decode(const torch::Tensor& z, int64_t height, int64_t width);
  // The classifier alone: logits at the input's size.
  torch::Tensor classify(const torch::Tensor& rgb01);
  // The bridge network's x0 estimate at sampling index `step`.
  torch::Tensor predict_x0(const torch::Tensor& z_t, const torch::Tensor& z_lr, int step);
  // The NFE a call uses: `nfe`, or the model's default when 0. Throws Error
  // when it is not below the schedule's step count.
  int resolve_nfe(int nfe) const;
  // Reverse bridge from the LR latent z1 to an estimate of the HR latent.
  torch::Tensor run_bridge(const torch::Tensor& z1, const SampleOptions& options = {});
  // The whole path: HR logits (N, K, s*h, s*w) for an LR image (N, 3, h, w).
  // Without a bridge: the classifier on the LR-up image.
  torch::Tensor segment_lr(const torch::Tensor& lr01, const SampleOptions& options = {});

  // Parameters and buffers, prefixed "encoder.", "decoder.", "bridge.".
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;
  std::int64_t parameter_count(const std::string& prefix = "") const;

 private:
  ModelConfig config_;
  torch::Device device_;
  torch::ScalarType dtype_ = torch::kFloat32;
  Encoder encoder_{nullptr};
  Decoder decoder_{nullptr};
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
