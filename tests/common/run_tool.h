// Runs the built `i2sbseg` tool (path in $I2SBSEG_TOOL, set by meson test).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace i2sbseg::testing {

struct ToolResult {
  int status = -1;  // exit code, or -1 when killed by a signal
  std::string out, err;
};

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
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

}  // namespace i2sbseg::testing
