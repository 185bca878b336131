// SPDX-License-Identifier: MIT
#include "field_flags.h"

namespace i2sbseg::tools {

Error with_flag(const Error& e, const FieldFlags& flags) {
  const auto it = flags.find(e.field());
  if (it == flags.end()) return e;
  return Error(e.kind(), it->second + ": " + e.what(), e.field());
}

}  // namespace i2sbseg::tools
