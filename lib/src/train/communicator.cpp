// SPDX-License-Identifier: MIT
#include "train/communicator.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef I2SBSEG_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <i2sbseg/error.h>

namespace i2sbseg {

// The concrete groups, not their base: LibTorch 2.x made Gloo and NCCL
// subclasses of c10d::Backend instead of c10d::ProcessGroup.
struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef I2SBSEG_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  torch::Device device = torch::kCPU;
  std::chrono::milliseconds timeout{0};

  // Runs `op` on whichever group this job uses.
  template <typename Op>
  auto on_group(Op&& op) {
#ifdef I2SBSEG_HAVE_NCCL
    if (nccl) return op(*nccl);
#endif
    return op(*gloo);
  }
};

namespace {

// c10d's messages carry a C++ backtrace after the first line.
std::string first_line(const char* what) {
  std::string line = what;
  if (const auto nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
  return line;
}

// c10d reports a dead or silent peer as c10::Error (Gloo: "Connection closed
// by peer", timeouts): turn it into a message that says what happened.
template <typename F>
auto guarded(const Communicator& c, const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kDistributed, "rank " + std::to_string(c.rank()) + " of " + std::to_string(c.world_size()) +
                                             ": " + what + " failed: another rank stopped or cannot be reached (" +
                                             first_line(e.what()) + ")");
  }
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout) {
  if (!work->wait(timeout)) throw Error(ErrorKind::kDistributed, "timed out");
}

}  // namespace

Communicator::Communicator(const DistOptions& options, torch::Device device)
    : options_(options), impl_(std::make_unique<Impl>()) {
  impl_->device = device;
  impl_->timeout = std::chrono::seconds(options.timeout_s);
  backend_ = options.backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : options.backend;
  if (backend_ == "nccl" && !device.is_cuda())
    throw Error(ErrorKind::kInvalidOption,
                "the nccl backend needs the model on a CUDA device, not " + device.str() + "; use gloo on the CPU",
                "dist.backend");
#ifndef I2SBSEG_HAVE_NCCL
  if (backend_ == "nccl")
    throw Error(ErrorKind::kUnsupported, "this build's LibTorch has no NCCL; use the gloo backend", "dist.backend");
#endif
  const std::string where = options.master_addr + ":" + std::to_string(options.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(options.master_port);
    so.isServer = options.rank == 0 && !options.agent_store;
    so.numWorkers = options.world_size;
    so.waitWorkers = true;
    so.timeout = impl_->timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, so);
    if (options.agent_store)  // torchrun's layout, as torch.distributed uses it
      impl_->store = c10::make_intrusive<c10d::PrefixStore>(
          "/worker/attempt_" + std::to_string(options.restart_count), impl_->store);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kDistributed, "rank " + std::to_string(options.rank) + " of " +
                                             std::to_string(options.world_size) + ": the rendezvous at " + where +
                                             " failed within " + std::to_string(options.timeout_s) + " s (" +
                                             first_line(e.what()) +
                                             "); check MASTER_ADDR/MASTER_PORT and that every rank was started");
  }
  const std::string joining = "meeting the other ranks at " + where + " (is every rank started, with the same world size?)";
  guarded(*this, joining.c_str(), [&] {
    if (backend_ == "gloo") {
      auto go = c10d::ProcessGroupGloo::Options::create(impl_->timeout);
      // Like PyTorch: $GLOO_SOCKET_IFNAME names the interface; a job on
      // one machine stays on the loopback; else this host's address.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      const bool local = options.master_addr == "127.0.0.1" || options.master_addr == "localhost";
      go->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                            : local           ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                              : c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options.rank, options.world_size, go);
    }
#ifdef I2SBSEG_HAVE_NCCL
    else {
      auto no = c10d::ProcessGroupNCCL::Options::create();
      no->timeout = impl_->timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, options.rank, options.world_size, no);
    }
#endif
    return 0;
  });
}

Communicator::~Communicator() = default;

void Communicator::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  guarded(*this, "broadcasting the weights", [&] {
    for (const torch::Tensor& t : tensors) {
      std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
      c10d::BroadcastOptions bo;
      bo.rootRank = root;
      wait(impl_->on_group([&](auto& g) { return g.broadcast(one, bo); }), impl_->timeout);
      if (!t.is_contiguous()) t.copy_(one[0]);
    }
    return 0;
  });
}

void Communicator::average(const std::vector<torch::Tensor>& tensors, std::size_t bucket_bytes) {
  average_buckets(tensors, bucket_bytes, "averaging over the ranks");
}

void Communicator::average_gradients(const std::vector<torch::Tensor>& params, std::size_t bucket_bytes) {
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  average_buckets(grads, bucket_bytes, "averaging the gradients");
}

void Communicator::average_buckets(const std::vector<torch::Tensor>& tensors, std::size_t bucket_bytes,
                                   const char* what) {
  guarded(*this, what, [&] {
    // The tensors are packed, reduced and unpacked bucket by bucket.
    size_t begin = 0;
    while (begin < tensors.size()) {
      size_t end = begin;
      std::size_t bytes = 0;
      while (end < tensors.size() && (end == begin || bytes + tensors[end].nbytes() <= bucket_bytes) &&
             tensors[end].scalar_type() == tensors[begin].scalar_type() &&
             tensors[end].device() == tensors[begin].device()) {
        bytes += tensors[end].nbytes();
        ++end;
      }
      std::vector<torch::Tensor> pieces;
      for (size_t i = begin; i < end; ++i) pieces.push_back(tensors[i].reshape({-1}));
      std::vector<torch::Tensor> flat{torch::cat(pieces)};
      wait(impl_->on_group([&](auto& g) { return g.allreduce(flat); }), impl_->timeout);
      flat[0].div_(world_size());
      int64_t offset = 0;
      for (size_t i = begin; i < end; ++i) {
        const int64_t n = tensors[i].numel();
        tensors[i].copy_(flat[0].slice(0, offset, offset + n).view_as(tensors[i]));
        offset += n;
      }
      begin = end;
    }
    return 0;
  });
}

std::vector<double> Communicator::sum(const std::vector<double>& values) {
  return guarded(*this, "summing over the ranks", [&] {
    std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64).to(impl_->device)};
    wait(impl_->on_group([&](auto& g) { return g.allreduce(t); }), impl_->timeout);
    const torch::Tensor cpu = t[0].to(torch::kCPU);
    return std::vector<double>(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
  });
}

std::string Communicator::broadcast_bytes(const std::string& bytes, int root) {
  return guarded(*this, "sharing the checkpoint", [&] {
    const auto cpu = torch::TensorOptions().dtype(torch::kInt64);
    std::vector<torch::Tensor> size{torch::tensor({static_cast<int64_t>(bytes.size())}, cpu).to(impl_->device)};
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    wait(impl_->on_group([&](auto& g) { return g.broadcast(size, bo); }), impl_->timeout);
    const int64_t n = size[0].to(torch::kCPU).item<int64_t>();
    torch::Tensor data = torch::empty({n}, torch::TensorOptions().dtype(torch::kUInt8));
    if (rank() == root) std::memcpy(data.data_ptr<std::uint8_t>(), bytes.data(), static_cast<std::size_t>(n));
    std::vector<torch::Tensor> payload{data.to(impl_->device)};
    wait(impl_->on_group([&](auto& g) { return g.broadcast(payload, bo); }), impl_->timeout);
    const torch::Tensor back = payload[0].to(torch::kCPU);
    return std::string(reinterpret_cast<const char*>(back.data_ptr<std::uint8_t>()), static_cast<std::size_t>(n));
  });
}

void Communicator::barrier() {
  guarded(*this, "waiting for the other ranks", [&] {
    wait(impl_->on_group([&](auto& g) { return g.barrier(); }), impl_->timeout);
    return 0;
  });
}

}  // namespace i2sbseg
