// SPDX-License-Identifier: MIT
#include <i2sbseg/model.h>

#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/upsampling.h>

#include <i2sbseg/error.h>

namespace i2sbseg {
namespace F = torch::nn::functional;
namespace {

// An encoder's raw output -> the normalised float32 latent, cropped to the
// rows x cols cells the image covers (the input was padded to the stride).
torch::Tensor to_latent(const torch::Tensor& raw, int64_t rows, int64_t cols, const torch::Tensor& mean,
                        const torch::Tensor& std) {
  return (raw.slice(2, 0, rows).slice(3, 0, cols).to(torch::kFloat32) - mean) / std;
}

torch::Tensor channel_tensor(const std::vector<float>& v, torch::Device device) {
  return torch::tensor(v, torch::kFloat32).view({1, -1, 1, 1}).to(device);
}

void check_image(const torch::Tensor& x, const char* what) {
  if (!x.defined() || x.dim() != 4 || x.size(1) != 3 || x.size(2) < 1 || x.size(3) < 1)
    throw Error(std::string(what) + " must be a (N, 3, H, W) tensor with H, W >= 1");
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void append(std::vector<std::pair<std::string, torch::Tensor>>& out, const std::string& prefix,
            const torch::nn::Module& m) {
  for (const auto& p : m.named_parameters()) out.emplace_back(prefix + p.key(), p.value());
  // BatchNorm's batch counter is an integer that inference never reads (the
  // momentum is fixed): not part of a bundle.
  for (const auto& b : m.named_buffers())
    if (!ends_with(b.key(), "num_batches_tracked")) out.emplace_back(prefix + b.key(), b.value());
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

Model::Model(ModelConfig config, torch::Device device)
    : config_((config.validate(), std::move(config))),
      device_(device),
      bridge_(Schedule::make(config_.schedule), device) {
  if (config_.family == ModelFamily::kV2) {
    lr_encoder_ = EncoderV2(config_.v2, 1);
    hr_encoder_ = EncoderV2(config_.v2, config_.scale_factor);
    decoder_v2_ = DecoderV2(config_.v2, config_.scale_factor, config_.num_classes());
  } else {
    encoder_ = Encoder(config_.classifier);
    decoder_ = Decoder(config_.classifier, config_.num_classes());
  }
  if (config_.bridge) bridge_net_ = make_bridge_net(config_.latent_channels(), *config_.bridge);
  latent_mean_ = channel_tensor(config_.latent_mean, device);
  latent_std_ = channel_tensor(config_.latent_std, device);
  input_mean_ = channel_tensor({config_.input_mean.begin(), config_.input_mean.end()}, device);
  input_std_ = channel_tensor({config_.input_std.begin(), config_.input_std.end()}, device);
  to(device);
}

// ptr(): the holders' get() is const-qualified here; the modules are not.
std::vector<std::pair<std::string, torch::nn::Module*>> Model::networks() const {
  std::vector<std::pair<std::string, torch::nn::Module*>> out;
  if (config_.family == ModelFamily::kV2) {
    out = {{"encoder.", lr_encoder_.ptr().get()},
           {"encoder_hr.", hr_encoder_.ptr().get()},
           {"decoder.", decoder_v2_.ptr().get()}};
  } else {
    out = {{"encoder.", encoder_.ptr().get()}, {"decoder.", decoder_.ptr().get()}};
  }
  if (has_bridge()) out.emplace_back("bridge.", bridge_net_.ptr().get());
  return out;
}

void Model::to(torch::Device device) {
  device_ = device;
  for (const auto& [prefix, net] : networks()) net->to(device);
  latent_mean_ = latent_mean_.to(device);
  latent_std_ = latent_std_.to(device);
  input_mean_ = input_mean_.to(device);
  input_std_ = input_std_.to(device);
  if (bridge_.device() != device) bridge_ = Bridge(bridge_.schedule(), device);
}

void Model::set_precision(torch::ScalarType dtype) {
  if (dtype != torch::kFloat32 && dtype != torch::kHalf && dtype != torch::kBFloat16)
    throw Error(ErrorKind::kInvalidOption, "precision must be fp32, fp16 or bf16", "precision");
  // A refused precision must leave the weights as they were, not rounded to it.
  std::vector<torch::Tensor> before;
  if (dtype != torch::kFloat32)
    for (const auto& [name, t] : named_tensors()) before.push_back(t.detach().clone());
  for (const auto& [prefix, net] : networks()) net->to(dtype);
  dtype_ = dtype;
  if (dtype == torch::kFloat32) return;
  // CPU builds of LibTorch lack some half-precision kernels: find out now,
  // not on the first frame.
  try {
    torch::NoGradGuard no_grad;
    const int64_t f = config_.latent_factor();
    classify(torch::zeros({1, 3, f, f}, torch::TensorOptions().device(device_)));
    if (config_.family == ModelFamily::kV2)
      classify_lr(torch::zeros({1, 3, 1, 1}, torch::TensorOptions().device(device_)));
    if (has_bridge()) run_bridge(encode(torch::zeros({1, 3, f, f}, torch::TensorOptions().device(device_))),
                                 SampleOptions{1, true, nullptr});
  } catch (const std::exception& e) {
    set_precision(torch::kFloat32);
    {
      torch::NoGradGuard no_grad;
      const auto now = named_tensors();
      for (size_t i = 0; i < now.size(); ++i) now[i].second.copy_(before[i]);
    }
    const std::string what = e.what();
    throw Error(ErrorKind::kUnsupported,
                std::string(dtype == torch::kHalf ? "fp16" : "bf16") + " inference is not supported on " +
                    device_.str() + " by this LibTorch (" + what.substr(0, what.find('\n')) + ")",
                "precision");
  }
}

void Model::set_channels_last(bool on) {
  const auto format = on ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  torch::NoGradGuard no_grad;
  for (const auto& [prefix, net] : networks())
    for (auto& p : net->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(format));
  channels_last_ = on;
}

void Model::train(bool on) {
  for (const auto& [prefix, net] : networks()) net->train(on);
}

void Model::fold_for_inference() {
  // v1's networks have no BatchNorm; a conv_bn bridge folds in either family.
  if (config_.family == ModelFamily::kV2)
    for (const auto& [prefix, net] : networks()) fold_batch_norms(*net);
  if (has_bridge()) {
    const torch::Tensor all_steps = torch::arange(bridge_.steps(), torch::TensorOptions().dtype(torch::kLong).device(device_));
    bridge_net_->fold(bridge_.noise_level(all_steps));
  }
}

BridgeNet& Model::bridge_net() {
  if (!has_bridge()) throw Error("this model has no bridge network");
  return bridge_net_;
}

void Model::set_latent_stats(const std::vector<float>& mean, const std::vector<float>& std) {
  ModelConfig c = config_;
  c.latent_mean = mean;
  c.latent_std = std;
  c.validate();
  config_ = std::move(c);
  latent_mean_ = channel_tensor(config_.latent_mean, device_);
  latent_std_ = channel_tensor(config_.latent_std, device_);
}

torch::Tensor Model::normalise(const torch::Tensor& rgb01) const {
  return (rgb01 - input_mean_.to(rgb01.device(), rgb01.scalar_type())) /
         input_std_.to(rgb01.device(), rgb01.scalar_type());
}

std::vector<int64_t> Model::latent_shape(int64_t batch, int64_t height, int64_t width) const {
  const int64_t f = config_.latent_factor();
  return {batch, config_.latent_channels(), ceil_div(height, f), ceil_div(width, f)};
}

torch::Tensor Model::upsample_lr(const torch::Tensor& lr01) const {
  check_image(lr01, "LR image");
  const int64_t s = config_.scale_factor;
  if (s == 1) return lr01;
  return F::interpolate(lr01, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{lr01.size(2) * s, lr01.size(3) * s})
                                  .mode(torch::kBicubic)
                                  .align_corners(false))
      .clamp(0.0, 1.0);
}

// Normalised pixels, padded at the bottom and right to a multiple of `f`.
torch::Tensor Model::pad_normalise(const torch::Tensor& rgb01, int64_t f) const {
  const int64_t h = rgb01.size(2), w = rgb01.size(3);
  const int64_t ph = (f - h % f) % f, pw = (f - w % f) % f;
  torch::Tensor x = normalise(rgb01.to(device_, torch::kFloat32));
  if (ph || pw) {
    // Replicate needs a margin smaller than the size; pad tiny inputs with zeros.
    const bool replicate = ph < h && pw < w;
    F::PadFuncOptions pad({0, pw, 0, ph});
    if (replicate)
      pad.mode(torch::kReplicate);
    else
      pad.mode(torch::kConstant);
    x = F::pad(x, pad);
  }
  x = x.to(dtype_);
  return channels_last_ ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

torch::Tensor Model::encode(const torch::Tensor& rgb01) {
  check_image(rgb01, "image");
  const int64_t f = config_.latent_factor();
  const int64_t rows = ceil_div(rgb01.size(2), f), cols = ceil_div(rgb01.size(3), f);
  if (config_.family == ModelFamily::kV1)
    return to_latent(encoder_->forward(pad_normalise(rgb01, f)), rows, cols, latent_mean_, latent_std_);
  // v2: the HR encoder's trunk needs a multiple of its stride at the LR grid.
  const torch::Tensor z = hr_encoder_->forward(pad_normalise(rgb01, config_.scale_factor * config_.v2.trunk_stride()));
  return to_latent(z, rows, cols, latent_mean_, latent_std_);
}

torch::Tensor Model::encode_lr(const torch::Tensor& lr01) {
  check_image(lr01, "LR image");
  if (config_.family == ModelFamily::kV1) return encode(upsample_lr(lr01.to(device_, torch::kFloat32)));
  const torch::Tensor z = lr_encoder_->forward(pad_normalise(lr01, config_.v2.trunk_stride()));
  return to_latent(z, lr01.size(2), lr01.size(3), latent_mean_, latent_std_);
}

torch::Tensor Model::decode(const torch::Tensor& z, int64_t height, int64_t width) {
  const int64_t f = config_.latent_factor();
  if (z.dim() != 4 || z.size(1) != config_.latent_channels() || z.size(2) * f < height || z.size(3) * f < width)
    throw Error("decode: latent shape does not match the model or the requested size");
  torch::Tensor raw = (z * latent_std_ + latent_mean_).to(dtype_);
  if (channels_last_) raw = raw.contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor logits =
      (config_.family == ModelFamily::kV2 ? decoder_v2_->forward(raw) : decoder_->forward(raw)).to(torch::kFloat32);
  return logits.slice(2, 0, height).slice(3, 0, width);
}

torch::Tensor Model::classify(const torch::Tensor& rgb01) {
  check_image(rgb01, "image");
  return decode(encode(rgb01), rgb01.size(2), rgb01.size(3));
}

torch::Tensor Model::classify_lr(const torch::Tensor& lr01) {
  check_image(lr01, "LR image");
  const int64_t s = config_.scale_factor;
  if (config_.family == ModelFamily::kV1) return classify(upsample_lr(lr01.to(device_, torch::kFloat32)));
  return decode(encode_lr(lr01), lr01.size(2) * s, lr01.size(3) * s);
}

torch::Tensor Model::predict_x0(const torch::Tensor& z_t, const torch::Tensor& z_lr, int step) {
  const torch::Tensor steps = torch::full({z_t.size(0)}, step, torch::TensorOptions().dtype(torch::kLong).device(device_));
  const torch::Tensor out = bridge_net()->forward(z_t.to(dtype_), z_lr.to(dtype_), bridge_.noise_level(steps));
  return bridge_.pred_x0(steps, z_t, out.to(torch::kFloat32));
}

int Model::resolve_nfe(int nfe) const {
  const int n = nfe > 0 ? nfe : config_.default_nfe;
  if (n >= bridge_.steps())
    throw Error("NFE " + std::to_string(n) + " must be below the schedule's " + std::to_string(bridge_.steps()) +
                " steps");
  return n;
}

torch::Tensor Model::run_bridge(const torch::Tensor& z1, const SampleOptions& options) {
  const int nfe = resolve_nfe(options.nfe);
  BridgeNet& net = bridge_net();  // throws when there is none
  if (net->is_training() && !options.noise) {
    return bridge_.sample(
        z1, nfe, [&](const torch::Tensor& xt, int step) { return predict_x0(xt, z1, step); }, options.ot_ode,
        options.generator);
  }
  // The net's inputs in its weights' memory order: a mixed one sends oneDNN
  // to slow paths (noise drawn contiguous makes x_t contiguous again).
  const auto for_net = [&](const torch::Tensor& x) {
    const torch::Tensor y = x.to(dtype_);
    return channels_last_ ? y.contiguous(torch::MemoryFormat::ChannelsLast) : y;
  };
  // Inference: the z1 half of the input convolution once, not per step.
  const torch::Tensor cond = net->condition(for_net(z1));
  const Bridge::PredictX0 predict = [&](const torch::Tensor& xt, int step) {
    const torch::Tensor steps =
        torch::full({xt.size(0)}, step, torch::TensorOptions().dtype(torch::kLong).device(device_));
    const torch::Tensor out = net->forward_step(for_net(xt), cond, step, bridge_.noise_level(steps));
    return bridge_.pred_x0(steps, xt, out.to(torch::kFloat32));
  };
  if (options.noise) return bridge_.sample_with_noise(z1, nfe, predict, options.ot_ode ? std::vector<torch::Tensor>{} : *options.noise);
  return bridge_.sample(z1, nfe, predict, options.ot_ode, options.generator);
}

torch::Tensor Model::segment_lr(const torch::Tensor& lr01, const SampleOptions& options) {
  check_image(lr01, "LR image");
  if (!has_bridge()) return classify_lr(lr01);
  const int64_t s = config_.scale_factor;
  return decode(run_bridge(encode_lr(lr01), options), lr01.size(2) * s, lr01.size(3) * s);
}

std::vector<std::pair<std::string, torch::Tensor>> Model::named_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [prefix, net] : networks()) append(out, prefix, *net);
  return out;
}

std::int64_t Model::parameter_count(const std::string& prefix) const {
  std::int64_t n = 0;
  for (const auto& [name, t] : named_tensors())
    if (name.compare(0, prefix.size(), prefix) == 0) n += t.numel();
  return n;
}

}  // namespace i2sbseg
