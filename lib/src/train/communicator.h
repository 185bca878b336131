// SPDX-License-Identifier: MIT
// The trainer's link to the other processes of a data-parallel job: c10d's
// TCPStore for the rendezvous and a Gloo (CPU) or NCCL (CUDA) process group
// for the collectives. Internal to lib/src/train.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include <i2sbseg/distributed.h>

namespace i2sbseg {

class Communicator {
 public:
  // Meets the other ranks at master_addr:master_port (rank 0 serves the
  // store) within the timeout; throws Error saying who could not be reached.
  Communicator(const DistOptions& options, torch::Device device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  const std::string& backend() const { return backend_; }

  // Copies rank `root`'s tensors into everyone's (in place).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  // Averages floating-point `tensors` over the ranks, in place, in buckets
  // of about `bucket_bytes` (one flat all-reduce per bucket and dtype/device).
  void average(const std::vector<torch::Tensor>& tensors, std::size_t bucket_bytes = 25u << 20);
  // The same for the gradients of `params` (those that have one).
  void average_gradients(const std::vector<torch::Tensor>& params, std::size_t bucket_bytes = 25u << 20);
  // The sum of `values` over the ranks, element by element.
  std::vector<double> sum(const std::vector<double>& values);
  // Rank `root`'s bytes on every rank (e.g. a checkpoint only it can read).
  std::string broadcast_bytes(const std::string& bytes, int root = 0);
  void barrier();

 private:
  struct Impl;
  // average() and average_gradients(); `what` names the step in an error.
  void average_buckets(const std::vector<torch::Tensor>& tensors, std::size_t bucket_bytes, const char* what);
  DistOptions options_;
  std::string backend_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace i2sbseg
