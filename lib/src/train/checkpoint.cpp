// SPDX-License-Identifier: MIT
#include "train/checkpoint.h"

#include <sstream>

#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <i2sbseg/error.h>

#include "common/archive_bytes.h"

namespace i2sbseg {

std::string checkpoint_bytes(const Model& model, TrainPosition position, at::Generator& gen,
                             const std::vector<torch::Tensor>& ema, torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive a;
  a.write("config", archive::from_string(model.config().to_json()));
  a.write("position", torch::tensor({static_cast<int64_t>(position.stage), static_cast<int64_t>(position.iter)}));
  a.write("rng", gen.get_state());
  for (const auto& [name, t] : model.named_tensors()) a.write("model." + name, t.detach().to(torch::kCPU));
  for (size_t i = 0; i < ema.size(); ++i) a.write("ema." + std::to_string(i), ema[i].to(torch::kCPU));
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    a.write("optimizer", opt);
  }
  std::ostringstream out;
  a.save_to(out);
  return out.str();
}

CheckpointReader::CheckpointReader(const std::string& bytes, const std::string& path) {
  try {
    std::istringstream in(bytes);
    archive_.load_from(in);
  } catch (const std::exception&) {
    throw Error(ErrorKind::kBadFile, path + ": cannot read the checkpoint to resume from (not a checkpoint, or damaged)");
  }
}

TrainPosition CheckpointReader::position() {
  const torch::Tensor pos = archive::read(archive_, "position");
  return {static_cast<std::size_t>(pos[0].item<int64_t>()), static_cast<int>(pos[1].item<int64_t>())};
}

std::unique_ptr<Model> CheckpointReader::model(torch::Device device) {
  auto m = std::make_unique<Model>(ModelConfig::from_json(archive::to_string(archive::read(archive_, "config"))),
                                   torch::kCPU);
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : m->named_tensors()) p.copy_(archive::read(archive_, "model." + name));
  m->to(device);
  return m;
}

void CheckpointReader::restore_generator(at::Generator& gen) { gen.set_state(archive::read(archive_, "rng")); }

std::vector<torch::Tensor> CheckpointReader::ema(std::size_t count, torch::Device device) {
  std::vector<torch::Tensor> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(archive::read(archive_, "ema." + std::to_string(i)).to(device));
  return out;
}

void CheckpointReader::restore_optimizer(torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive opt;
  if (archive_.try_read("optimizer", opt)) optimizer.load(opt);
}

}  // namespace i2sbseg
