// SPDX-License-Identifier: MIT
// The tool's `--size WIDTHxHEIGHT` option, parsed one way for every command.
#pragma once

#include <string>

namespace i2sbseg::tools {

// `text` as "WxH", each 1 or more; else an Error (kInvalidOption, field
// "size") quoting it.
void parse_size(const std::string& text, int& width, int& height);

}  // namespace i2sbseg::tools
