// SPDX-License-Identifier: MIT
#include <i2sbseg/error.h>

namespace i2sbseg {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidOption: return "invalid-option";
    case ErrorKind::kNotFound: return "not-found";
    case ErrorKind::kBadFile: return "bad-file";
    case ErrorKind::kWriteFailed: return "write-failed";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kInterrupted: return "interrupted";
    case ErrorKind::kDistributed: return "distributed";
    case ErrorKind::kRuntime: return "runtime";
  }
  return "runtime";
}

}  // namespace i2sbseg
