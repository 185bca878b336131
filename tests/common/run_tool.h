// SPDX-License-Identifier: MIT
// Runs the built `i2sbseg` tool (path in $I2SBSEG_TOOL, set by meson test),
// to the end or in the background.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace i2sbseg::testing {

struct ToolResult {
  int status = -1;  // exit code, or -1 when killed by a signal
  std::string out, err;
};

// A whole file as text ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Relative path -> bytes of every file under `dir` (what a tool wrote, to
// compare two runs byte for byte).
inline std::map<std::string, std::string> all_files(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().lexically_relative(dir).generic_string()] = read_text(e.path().string());
  return out;
}

// `args` is pasted into a shell command line: quote it yourself.
inline ToolResult run_tool(const std::string& args) {
  const char* tool = std::getenv("I2SBSEG_TOOL");
  EXPECT_NE(tool, nullptr) << "I2SBSEG_TOOL is not set (run through meson test)";
  TempDir dir;
  const std::string err_file = dir.file("stderr");
  const std::string cmd = std::string(tool ? tool : "i2sbseg") + " " + args + " 2>" + err_file;
  ToolResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = read_text(err_file);
  return r;
}

// Starts `i2sbseg ARGS` in the background, stderr to `err_file`; `env`
// ("NAME=value ...") goes before it on the command line.
inline pid_t start_tool(const std::string& args, const std::string& err_file, const std::string& env = "") {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string cmd =
        env + " exec " + std::string(std::getenv("I2SBSEG_TOOL")) + " " + args + " 2>" + err_file;
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits for a start_tool process: its exit code, or -1 when a signal ended it.
inline int wait_tool(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace i2sbseg::testing
