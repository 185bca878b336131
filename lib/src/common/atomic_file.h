// SPDX-License-Identifier: MIT
// Whole-file writes that never leave a partial file behind (internal): the
// bundle writer, the dataset index and the trainer's checkpoints use them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace i2sbseg {

// Writes `bytes` to a temporary file beside `path` (PATH.tmp.PID), fsyncs
// it, renames it over `path` and fsyncs the folder. Throws Error
// (kWriteFailed) naming `path`; the temporary file is removed on failure.
void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes);

// Removes the PATH.tmp.PID files that writers killed mid-write (SIGKILL,
// power cut) left beside `path`, skipping those of processes still running.
// Returns the paths removed.
std::vector<std::string> remove_stale_temp_files(const std::string& path);

}  // namespace i2sbseg
