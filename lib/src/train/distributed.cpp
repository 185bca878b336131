// SPDX-License-Identifier: MIT
#include <i2sbseg/distributed.h>

#include <cerrno>
#include <cstdlib>
#include <cstdint>
#include <numeric>
#include <random>

#include <i2sbseg/error.h>

namespace i2sbseg {
namespace {

// `text` as an integer in [lo, hi]; Error naming `what` (and `field`) otherwise.
int parse_int(const char* text, const std::string& what, long lo, long hi, const std::string& field) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (!*text || *end || errno || v < lo || v > hi)
    throw Error(ErrorKind::kInvalidOption,
                what + " is '" + text + "', not a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                    "]",
                field);
  return static_cast<int>(v);
}

}  // namespace

DistOptions resolve_dist_options(DistOptions o, const std::function<const char*(const char*)>& getenv_fn) {
  auto env = [&](const char* name) -> const char* {
    const char* v = getenv_fn ? getenv_fn(name) : std::getenv(name);
    return v && *v ? v : nullptr;
  };
  // The first variable set among `names`, parsed; `fallback` when none is.
  auto from_env = [&](std::initializer_list<const char*> names, int fallback, long lo, long hi, const char* field) {
    for (const char* n : names)
      if (const char* v = env(n)) return parse_int(v, std::string("$") + n, lo, hi, field);
    return fallback;
  };
  auto invalid = [](const std::string& message, const char* field) {
    return Error(ErrorKind::kInvalidOption, message, field);
  };
  if (o.world_size < 0) o.world_size = from_env({"WORLD_SIZE", "SLURM_NTASKS"}, 1, 1, 1 << 20, "dist.world_size");
  if (o.world_size < 1)
    throw invalid("the world size must be at least 1, got " + std::to_string(o.world_size), "dist.world_size");
  if (o.rank < 0) o.rank = from_env({"RANK", "SLURM_PROCID"}, 0, 0, 1 << 20, "dist.rank");
  if (o.rank >= o.world_size)
    throw invalid("rank " + std::to_string(o.rank) + " is outside the world of " + std::to_string(o.world_size) +
                      " processes (a rank must be in [0, world size))",
                  "dist.rank");
  if (o.local_rank < 0) o.local_rank = from_env({"LOCAL_RANK", "SLURM_LOCALID"}, o.rank, 0, 1 << 20, "dist.local_rank");
  if (o.master_addr.empty()) o.master_addr = env("MASTER_ADDR") ? env("MASTER_ADDR") : kDefaultMasterAddr;
  if (o.master_port == 0) o.master_port = from_env({"MASTER_PORT"}, kDefaultMasterPort, 1, 65535, "dist.master_port");
  if (o.master_port < 1 || o.master_port > 65535)
    throw invalid("the master port must be in [1, 65535], got " + std::to_string(o.master_port), "dist.master_port");
  if (o.backend.empty()) o.backend = "auto";
  if (o.backend != "auto" && o.backend != "gloo" && o.backend != "nccl")
    throw invalid("the distributed backend must be auto, gloo or nccl, not '" + o.backend + "'", "dist.backend");
  if (const char* v = env("TORCHELASTIC_USE_AGENT_STORE")) o.agent_store = std::string(v) == "True";
  if (o.agent_store) o.restart_count = from_env({"TORCHELASTIC_RESTART_COUNT"}, 0, 0, 1 << 20, "dist.restart_count");
  if (o.timeout_s == 0) o.timeout_s = kDefaultTimeoutSeconds;
  if (o.timeout_s < 1)
    throw invalid("the distributed timeout must be positive, got " + std::to_string(o.timeout_s) + " s",
                  "dist.timeout_s");
  return o;
}

std::vector<long long> shard_indices(long long n, unsigned long long seed, long long step, int world_size, int rank,
                                     int per_rank) {
  if (n < 1) throw Error("shard_indices: the dataset is empty");
  std::vector<long long> out;
  out.reserve(static_cast<size_t>(per_rank));
  long long cached_epoch = -1;
  std::vector<long long> perm;
  const long long first = (step * world_size + rank) * static_cast<long long>(per_rank);
  for (long long g = first; g < first + per_rank; ++g) {
    const long long epoch = g / n;
    if (epoch != cached_epoch) {
      // Fisher-Yates with a 64-bit Mersenne twister: the same sequence on
      // every platform (std::shuffle's use of the engine is unspecified).
      std::mt19937_64 engine(seed * 0x9E3779B97F4A7C15ull + static_cast<unsigned long long>(epoch) + 1);
      perm.resize(static_cast<size_t>(n));
      std::iota(perm.begin(), perm.end(), 0LL);
      for (long long i = n - 1; i > 0; --i) std::swap(perm[i], perm[engine() % static_cast<unsigned long long>(i + 1)]);
      cached_epoch = epoch;
    }
    out.push_back(perm[static_cast<size_t>(g % n)]);
  }
  return out;
}

}  // namespace i2sbseg
