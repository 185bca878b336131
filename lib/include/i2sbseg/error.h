// Errors the library reports to people: the message is meant to be shown as is
// (it names the file, option or value at fault).
#pragma once

#include <stdexcept>
#include <string>

namespace i2sbseg {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace i2sbseg
