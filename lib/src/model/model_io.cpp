// SPDX-License-Identifier: MIT
// Model <-> bundle file (config JSON + float32 tensors).
#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

namespace i2sbseg {
namespace {

// The weights of the 3x3/1x1 convolutions the config asks for: a lower bound
// of the model's size (biases and norms come on top). A hostile or damaged
// config may ask for thousands of channels; comparing this with the floats
// the file holds rejects it before Model allocates anything.
double conv_weight_count(const ModelConfig& c) {
  const std::vector<int>& w = c.classifier.widths;
  double n = 9.0 * c.classifier.in_channels * w[0] + 1.0 * w.back() * c.classifier.latent_channels +  // stem, to_latent
             9.0 * c.classifier.latent_channels * w.back();                                            // from_latent
  for (size_t i = 0; i < w.size(); ++i) {
    n += 2.0 * c.classifier.blocks_per_level * 18.0 * w[i] * w[i];  // encoder + decoder ResBlocks
    if (i > 0) n += 2.0 * 9.0 * w[i - 1] * w[i];                    // down and up convs
  }
  n += 1.0 * w[0] * c.num_classes();  // head
  if (c.bridge) {
    const double ch = c.bridge->channels, lat = c.classifier.latent_channels;
    n += 9.0 * 2 * lat * ch + c.bridge->blocks * 18.0 * ch * ch + 9.0 * ch * lat;
  }
  return n;
}

}  // namespace

void save_model(const Model& model, const std::string& path) {
  BundleContents c;
  c.format_version = kFormatVersion;
  c.config_json = model.config().to_json();
  for (const auto& [name, tensor] : model.named_tensors()) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    TensorRecord r;
    r.name = name;
    r.shape = t.sizes().vec();
    r.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    c.tensors.push_back(std::move(r));
  }
  write_bundle_file(path, c);
}

Model load_model(const std::string& path, torch::Device device) {
  const BundleContents contents = read_bundle_file(path);
  ModelConfig config;
  try {
    config = ModelConfig::from_json(contents.config_json);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  double floats = 0;
  for (const TensorRecord& r : contents.tensors) floats += static_cast<double>(r.data.size());
  const double needed = conv_weight_count(config);
  if (needed > floats)
    throw Error(path + ": weights do not match the config: its networks need at least " +
                std::to_string(static_cast<long long>(needed)) + " weights, the file holds " +
                std::to_string(static_cast<long long>(floats)));
  Model model(config, torch::kCPU);
  std::map<std::string, const TensorRecord*> records;
  for (const TensorRecord& r : contents.tensors)
    if (!records.emplace(r.name, &r).second) throw Error(path + ": weights: tensor '" + r.name + "' appears twice");

  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : model.named_tensors()) {
    const auto it = records.find(name);
    if (it == records.end())
      throw Error(path + ": weights do not match the config: tensor '" + name + "' is missing");
    const TensorRecord& r = *it->second;
    if (r.shape != tensor.sizes().vec()) {
      auto fmt = [](const std::vector<int64_t>& s) {
        std::string out = "[";
        for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
        return out + "]";
      };
      throw Error(path + ": weights do not match the config: tensor '" + name + "' has shape " + fmt(r.shape) +
                  ", the config needs " + fmt(tensor.sizes().vec()));
    }
    for (float v : r.data)
      if (!std::isfinite(v)) throw Error(path + ": tensor '" + name + "' holds NaN or infinite values");
    std::memcpy(tensor.data_ptr<float>(), r.data.data(), r.data.size() * sizeof(float));
    records.erase(it);
  }
  if (!records.empty())
    throw Error(path + ": weights do not match the config: unexpected tensor '" + records.begin()->first + "'");
  model.to(device);
  model.eval();
  return model;
}

}  // namespace i2sbseg
