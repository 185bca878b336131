// SPDX-License-Identifier: MIT
// The JSON-lines log `i2sbseg train` writes (OUT.log.jsonl).
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace i2sbseg::testing {

// One object per line; empty when the file does not exist (yet).
inline std::vector<nlohmann::json> read_log(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  return lines;
}

}  // namespace i2sbseg::testing
