// SPDX-License-Identifier: MIT
// Builds without c10d/Gloo headers: a distributed job says what is missing.
#include "train/communicator.h"

#include <i2sbseg/error.h>

namespace i2sbseg {

struct Communicator::Impl {};

Communicator::Communicator(const DistOptions& options, torch::Device) : options_(options) {
  throw Error(ErrorKind::kUnsupported,
              "this build of i2sbseg has no distributed training (rebuild with libgloo-dev installed)");
}
Communicator::~Communicator() = default;
void Communicator::broadcast(const std::vector<torch::Tensor>&, int) {}
void Communicator::average(const std::vector<torch::Tensor>&, std::size_t) {}
void Communicator::average_gradients(const std::vector<torch::Tensor>&, std::size_t) {}
std::vector<double> Communicator::sum(const std::vector<double>& v) { return v; }
std::string Communicator::broadcast_bytes(const std::string& b, int) { return b; }
void Communicator::barrier() {}

}  // namespace i2sbseg
