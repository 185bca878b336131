// SPDX-License-Identifier: MIT
// Data-parallel training across processes (docs/design.md §4 "Training"): who
// this process is in the job and where the job meets. Torch-free.
//
// Launched like PyTorch jobs: torchrun, Slurm's srun or a shell loop set
// WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT (srun: the
// SLURM_NTASKS / SLURM_PROCID / SLURM_LOCALID fallbacks); values set in
// DistOptions (the flags of `i2sbseg train`) override them. Rendezvous is
// c10d's TCPStore on MASTER_ADDR:MASTER_PORT, served by rank 0.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace i2sbseg {

// What resolve_dist_options() takes when neither the options nor the
// environment say.
inline constexpr const char* kDefaultMasterAddr = "127.0.0.1";
inline constexpr int kDefaultMasterPort = 29500;
inline constexpr int kDefaultTimeoutSeconds = 300;

struct DistOptions {
  // -1 / "" / 0: take the value from the environment (or the default).
  int world_size = -1;  // default 1: no distribution
  int rank = -1;        // default 0
  int local_rank = -1;  // default: rank; picks cuda:LOCAL_RANK for device auto/cuda
  std::string master_addr;  // default kDefaultMasterAddr
  int master_port = 0;      // default kDefaultMasterPort
  std::string backend = "auto";  // auto (nccl for CUDA, gloo for the CPU), gloo, nccl
  int timeout_s = 0;  // default kDefaultTimeoutSeconds: how long a collective or the rendezvous may wait
  // Under torchrun ($TORCHELASTIC_USE_AGENT_STORE=True) its agent already
  // serves the store on MASTER_PORT: every rank joins it as a client, under
  // the prefix of the agent's restart ($TORCHELASTIC_RESTART_COUNT).
  bool agent_store = false;
  int restart_count = 0;

  bool distributed() const { return world_size > 1; }
};

// Fills what the options left unset from the environment (`getenv`, the
// process's by default) and checks it all; throws Error(kInvalidOption)
// with the field at fault ("dist.rank", "dist.timeout_s", ...) and a
// message naming the value or variable (not a number, rank outside [0,
// world size), ...).
DistOptions resolve_dist_options(DistOptions flags,
                                 const std::function<const char*(const char*)>& getenv = nullptr);

// The image indices rank `rank` of `world_size` trains on at global step
// `step` with `per_rank` images each: slots [rank * per_rank, (rank + 1) *
// per_rank) of the step's world_size * per_rank, read in order from
// per-epoch permutations of [0, n) drawn from `seed` (the same on every
// rank). Ranks thus read disjoint shards of every epoch, and together the
// ranks of a step read exactly what one process with the combined batch
// reads (world_size 1, per_rank * world_size).
std::vector<long long> shard_indices(long long n, unsigned long long seed, long long step, int world_size, int rank,
                                     int per_rank);

}  // namespace i2sbseg
