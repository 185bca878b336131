// SPDX-License-Identifier: MIT
#include "common/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <i2sbseg/error.h>

namespace i2sbseg {
namespace {

// The writer's temporary files are PATH + kTempInfix + PID; the clean-up of
// killed writers' leftovers looks for the same names.
constexpr const char* kTempInfix = ".tmp.";

std::string errno_text() { return std::strerror(errno); }

// Writes all of `bytes` to `fd`, then fsyncs and closes it; "" or the reason.
std::string write_and_close(int fd, const std::vector<std::uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? errno_text() : "short write";
      ::close(fd);
      return why;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  std::string why = synced ? "" : errno_text();
  if (::close(fd) != 0 && synced) why = errno_text();
  return why;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  const std::string tmp = path + kTempInfix + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(ErrorKind::kWriteFailed, path + ": cannot create temporary file '" + tmp + "': " + errno_text());
  if (const std::string why = write_and_close(fd, bytes); !why.empty()) {
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::kWriteFailed, path + ": write failed: " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::kWriteFailed, path + ": cannot replace file: " + why);
  }
  // The rename itself survives a power cut only once the folder is synced.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::vector<std::string> remove_stale_temp_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + kTempInfix;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    // A writer that is still running owns its file.
    if (pid > 0 && pid != ::getpid() && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;
    std::error_code rm;
    if (fs::remove(entry.path(), rm)) removed.push_back(entry.path().string());
  }
  return removed;
}

}  // namespace i2sbseg
