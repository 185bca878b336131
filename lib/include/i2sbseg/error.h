// SPDX-License-Identifier: MIT
// Errors the library reports to people. The message is meant to be shown as
// is and speaks the library's own terms: it names the file, option field or
// value at fault, never a command-line flag or an element property. What kind
// of problem it is, and which option field (when one is at fault), travel
// beside the message, so callers map them to their own words (the tool to
// its flags, the element to GStreamer error codes and properties) without
// reading the text.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace i2sbseg {

enum class ErrorKind {
  kInvalidOption,  // an option's value is out of range or inconsistent; field() names it
  kNotFound,       // a file or folder that should exist does not
  kBadFile,        // a file exists but cannot be read or is malformed (bundle, dataset, JSON)
  kWriteFailed,    // a file or folder could not be written (full disk, permissions)
  kUnsupported,    // this build or device cannot do what was asked (fp16 on the CPU, NCCL)
  kInterrupted,    // stopped by a signal after saving what could be saved
  kDistributed,    // another process of a data-parallel job failed or never came
  kRuntime,        // anything else that went wrong while running
};

// A stable lowercase name of the kind ("invalid-option", "not-found", ...).
const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  // kRuntime, no field.
  explicit Error(const std::string& message) : Error(ErrorKind::kRuntime, message) {}
  Error(ErrorKind kind, const std::string& message, std::string field = {})
      : std::runtime_error(message), kind_(kind), field_(std::move(field)) {}

  ErrorKind kind() const { return kind_; }
  // The option field at fault, spelled as the options struct's member
  // ("crop", "dist.timeout_s", "classes_file"); empty when none is.
  const std::string& field() const { return field_; }

 private:
  ErrorKind kind_;
  std::string field_;
};

}  // namespace i2sbseg
