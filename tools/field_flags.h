// SPDX-License-Identifier: MIT
// The library names the option field at fault (Error::field: "crop",
// "dist.timeout_s"); the user typed a flag. Each command keeps one table from
// the fields it passes to the library to its own flags.
#pragma once

#include <map>
#include <string>

#include <i2sbseg/error.h>

namespace i2sbseg::tools {

using FieldFlags = std::map<std::string, std::string>;

// `e` with the flag of its field in front ("--crop: crop size 97 ..."), or
// unchanged when the error names no field this command has a flag for.
Error with_flag(const Error& e, const FieldFlags& flags);

}  // namespace i2sbseg::tools
