// Model <-> bundle file (config JSON + float32 tensors).
#include <i2sbseg/bundle.h>
#include <i2sbseg/error.h>
#include <i2sbseg/model.h>

#include <cstring>
#include <map>

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

Model load_model(const std::string& path, torch::Device device) {
  const BundleContents contents = read_bundle_file(path);
  ModelConfig config;
  try {
    config = ModelConfig::from_json(contents.config_json);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
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
