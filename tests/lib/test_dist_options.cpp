// SPDX-License-Identifier: MIT
// Who a process is in a distributed job (flags over torchrun's and Slurm's
// environment variables, errors naming the value) and which images each
// rank reads: disjoint shards of every epoch whose union is one process's.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include <i2sbseg/distributed.h>
#include <i2sbseg/error.h>

using namespace i2sbseg;

namespace {

// resolve_dist_options with a fake environment.
DistOptions resolve(const DistOptions& flags, std::map<std::string, std::string> env) {
  return resolve_dist_options(flags, [env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// What resolve_dist_options throws, as kind, field and message.
struct Thrown {
  ErrorKind kind = ErrorKind::kRuntime;
  std::string field, message;
};

Thrown error_of(const DistOptions& flags, std::map<std::string, std::string> env) {
  try {
    resolve(flags, env);
  } catch (const Error& e) {
    return {e.kind(), e.field(), e.what()};
  }
  ADD_FAILURE() << "no error";
  return {};
}

}  // namespace

TEST(DistOptions, DefaultsMeanOneProcess) {
  const DistOptions o = resolve({}, {});
  EXPECT_EQ(o.world_size, 1);
  EXPECT_EQ(o.rank, 0);
  EXPECT_EQ(o.local_rank, 0);
  EXPECT_EQ(o.master_addr, "127.0.0.1");
  EXPECT_EQ(o.master_port, 29500);
  EXPECT_EQ(o.timeout_s, 300);
  EXPECT_FALSE(o.distributed());
}

TEST(DistOptions, TorchrunVariablesAndFlagsOverThem) {
  const std::map<std::string, std::string> env{{"WORLD_SIZE", "4"}, {"RANK", "3"},       {"LOCAL_RANK", "1"},
                                               {"MASTER_ADDR", "10.0.0.7"}, {"MASTER_PORT", "1234"}};
  DistOptions o = resolve({}, env);
  EXPECT_EQ(o.world_size, 4);
  EXPECT_EQ(o.rank, 3);
  EXPECT_EQ(o.local_rank, 1);
  EXPECT_EQ(o.master_addr, "10.0.0.7");
  EXPECT_EQ(o.master_port, 1234);
  EXPECT_TRUE(o.distributed());
  DistOptions flags;
  flags.rank = 2;
  flags.master_port = 999;
  o = resolve(flags, env);
  EXPECT_EQ(o.rank, 2);
  EXPECT_EQ(o.master_port, 999);
  EXPECT_EQ(o.world_size, 4);
}

TEST(DistOptions, UnderTorchrunTheAgentServesTheStore) {
  EXPECT_FALSE(resolve({}, {{"WORLD_SIZE", "2"}}).agent_store);
  const DistOptions o =
      resolve({}, {{"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "3"}});
  EXPECT_TRUE(o.agent_store);
  EXPECT_EQ(o.restart_count, 3);
}

TEST(DistOptions, SlurmVariablesWhenTorchrunsAreAbsent) {
  const DistOptions o = resolve({}, {{"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"}});
  EXPECT_EQ(o.world_size, 8);
  EXPECT_EQ(o.rank, 5);
  EXPECT_EQ(o.local_rank, 1);
}

TEST(DistOptions, BadValuesAreNamed) {
  // The message names the value or variable in the library's terms (no
  // command-line flag); kind and field say which option is at fault.
  auto check = [](const Thrown& t, const std::string& field, const std::string& text) {
    EXPECT_EQ(t.kind, ErrorKind::kInvalidOption) << t.message;
    EXPECT_EQ(t.field, field) << t.message;
    EXPECT_NE(t.message.find(text), std::string::npos) << t.message;
    EXPECT_EQ(t.message.find("--"), std::string::npos) << t.message;
  };
  check(error_of({}, {{"WORLD_SIZE", "two"}}), "dist.world_size", "$WORLD_SIZE is 'two'");
  check(error_of({}, {{"WORLD_SIZE", "2"}, {"RANK", "2"}}), "dist.rank", "rank 2 is outside the world of 2");
  check(error_of({}, {{"MASTER_PORT", "70000"}}), "dist.master_port", "$MASTER_PORT");
  DistOptions flags;
  flags.backend = "mpi";
  check(error_of(flags, {}), "dist.backend", "'mpi'");
  flags = {};
  flags.timeout_s = -5;
  check(error_of(flags, {}), "dist.timeout_s", "-5");
  flags = {};
  flags.master_port = 65536;
  check(error_of(flags, {}), "dist.master_port", "65536");
}

TEST(ShardIndices, RanksReadDisjointShardsWhoseUnionIsOneProcesssBatch) {
  const long long n = 10;
  const int world = 3, per_rank = 2;
  for (long long step = 0; step < 12; ++step) {
    std::vector<long long> joined;
    for (int r = 0; r < world; ++r) {
      const auto part = shard_indices(n, 42, step, world, r, per_rank);
      joined.insert(joined.end(), part.begin(), part.end());
    }
    EXPECT_EQ(joined, shard_indices(n, 42, step, 1, 0, world * per_rank)) << "step " << step;
  }
}

TEST(ShardIndices, EveryEpochIsAPermutationAndEpochsDiffer) {
  const long long n = 12;
  // 6 images per step, 2 steps per epoch: steps 0-1 are epoch 0, 2-3 epoch 1.
  std::vector<long long> epoch0, epoch1;
  for (long long step = 0; step < 4; ++step)
    for (int r = 0; r < 2; ++r) {
      const auto part = shard_indices(n, 7, step, 2, r, 3);
      (step < 2 ? epoch0 : epoch1).insert((step < 2 ? epoch0 : epoch1).end(), part.begin(), part.end());
    }
  std::vector<long long> all(n);
  for (long long i = 0; i < n; ++i) all[i] = i;
  std::vector<long long> s0 = epoch0, s1 = epoch1;
  std::sort(s0.begin(), s0.end());
  std::sort(s1.begin(), s1.end());
  EXPECT_EQ(s0, all) << "each image once per epoch";
  EXPECT_EQ(s1, all);
  EXPECT_NE(epoch0, epoch1) << "a new shuffle each epoch";
  EXPECT_NE(shard_indices(n, 7, 0, 1, 0, 12), shard_indices(n, 8, 0, 1, 0, 12)) << "the seed shuffles";
  EXPECT_THROW(shard_indices(0, 7, 0, 1, 0, 1), Error);
}
