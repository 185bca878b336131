// SPDX-License-Identifier: MIT
// Model <-> bundle file (config JSON + float32 tensors).
#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "model/network_plan.h"

namespace i2sbseg {

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

namespace {

// How many parameters beyond what the file holds load_model still builds
// (64 MB of float32) to name the missing or misshapen tensor.
constexpr double kNearMissFloats = 16.0 * 1024 * 1024;

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

[[noreturn]] void mismatch(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::kBadFile, path + ": weights do not match the config: " + what);
}

// Copies each record into the model tensor of its name; every tensor must
// be there once, with the model's shape and finite values.
void copy_weights(const std::string& path, const BundleContents& contents, Model& model) {
  std::map<std::string, const TensorRecord*> records;
  for (const TensorRecord& r : contents.tensors)
    if (!records.emplace(r.name, &r).second)
      throw Error(ErrorKind::kBadFile, path + ": weights: tensor '" + r.name + "' appears twice");
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : model.named_tensors()) {
    const auto it = records.find(name);
    if (it == records.end()) mismatch(path, "tensor '" + name + "' is missing");
    const TensorRecord& r = *it->second;
    if (r.shape != tensor.sizes().vec())
      mismatch(path, "tensor '" + name + "' has shape " + shape_text(r.shape) + ", the config needs " +
                         shape_text(tensor.sizes().vec()));
    for (float v : r.data)
      if (!std::isfinite(v))
        throw Error(ErrorKind::kBadFile, path + ": tensor '" + name + "' holds NaN or infinite values");
    std::memcpy(tensor.data_ptr<float>(), r.data.data(), r.data.size() * sizeof(float));
    records.erase(it);
  }
  if (!records.empty()) mismatch(path, "unexpected tensor '" + records.begin()->first + "'");
}

}  // namespace

Model load_model(const std::string& path, torch::Device device) {
  const BundleContents contents = read_bundle_file(path);
  ModelConfig config;
  try {
    config = ModelConfig::from_json(contents.config_json);
  } catch (const Error& e) {
    throw Error(ErrorKind::kBadFile, path + ": " + e.what());
  }
  // A hostile or damaged config may ask for thousands of channels (~100 GB):
  // its parameters, counted from the networks' plans, are refused before
  // Model allocates them when the file holds far fewer. A near miss is built
  // and named tensor by tensor below.
  double floats = 0;
  for (const TensorRecord& r : contents.tensors) floats += static_cast<double>(r.data.size());
  const double needed = plan::parameter_count(config);
  if (needed > floats + kNearMissFloats)
    mismatch(path, "its networks need at least " + std::to_string(static_cast<long long>(needed)) +
                       " weights, the file holds " + std::to_string(static_cast<long long>(floats)));
  Model model(config, torch::kCPU);
  copy_weights(path, contents, model);
  model.to(device);
  model.eval();
  return model;
}

}  // namespace i2sbseg
