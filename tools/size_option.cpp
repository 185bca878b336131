// SPDX-License-Identifier: MIT
#include "size_option.h"

#include <sstream>

#include <i2sbseg/error.h>

namespace i2sbseg::tools {

void parse_size(const std::string& text, int& width, int& height) {
  char x = 0;
  std::istringstream in(text);
  if (!(in >> width >> x >> height) || x != 'x' || width < 1 || height < 1 || !in.eof())
    throw Error(ErrorKind::kInvalidOption, "--size '" + text + "': expected WIDTHxHEIGHT, e.g. 128x96", "size");
}

}  // namespace i2sbseg::tools
