// SPDX-License-Identifier: MIT
// The library's internal whole-file writer (lib/src/common/atomic_file.h):
// the bundle, dataset index and checkpoint writers rely on it never leaving
// a partial file at the target, and on the clean-up sparing live writers.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include <i2sbseg/error.h>

#include "../../lib/src/common/atomic_file.h"
#include "../common/temp_dir.h"

using namespace i2sbseg;
using i2sbseg::testing::TempDir;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void touch(const std::string& path) { std::ofstream(path) << "partial"; }

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

}  // namespace

TEST(AtomicFile, ReplacesTheWholeFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_file_atomically(path, {'o', 'l', 'd', ' ', 'l', 'o', 'n', 'g'});
  write_file_atomically(path, {'n', 'e', 'w'});
  EXPECT_EQ(read_all(path), "new");
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) EXPECT_EQ(f.path().string(), path);
}

TEST(AtomicFile, AFailedWriteNamesThePathAndKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("missing-folder/out.bin");
  try {
    write_file_atomically(path, {'x'});
    ADD_FAILURE() << "wrote into a missing folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kWriteFailed);
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
  // The target is a folder: the rename fails, the temporary file goes.
  const std::string folder = dir.file("taken");
  std::filesystem::create_directory(folder);
  std::filesystem::create_directory(folder + "/inside");
  EXPECT_THROW(write_file_atomically(folder, {'x'}), Error);
  EXPECT_TRUE(std::filesystem::is_directory(folder + "/inside"));
  EXPECT_FALSE(std::filesystem::exists(folder + ".tmp." + std::to_string(::getpid())));
}

TEST(AtomicFile, StaleTemporariesOfDeadWritersAreRemovedLiveOnesKept) {
  TempDir dir;
  const std::string path = dir.file("model.i2sb");
  const std::string dead = path + ".tmp." + std::to_string(dead_pid());
  const std::string live = path + ".tmp." + std::to_string(::getppid());  // our parent is running
  const std::string other = dir.file("other.i2sb.tmp.1");
  const std::string not_a_pid = path + ".tmp.abc";
  for (const std::string& f : {dead, live, other, not_a_pid}) touch(f);
  const std::vector<std::string> removed = remove_stale_temp_files(path);
  EXPECT_EQ(removed, std::vector<std::string>{dead});
  EXPECT_FALSE(std::filesystem::exists(dead));
  for (const std::string& f : {live, other, not_a_pid}) EXPECT_TRUE(std::filesystem::exists(f)) << f;
}
