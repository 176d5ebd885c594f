// Small helpers shared by the benchmark: owned file descriptors, errno
// checks that throw, a monotonic clock.
#pragma once

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace lpcbench {

// Throws std::system_error for the current errno, prefixed with `what`.
[[noreturn]] inline void ThrowErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Returns r unless it is negative (a failed syscall), then throws.
template <class T>
T Check(T r, const std::string& what) {
  if (r < 0) ThrowErrno(what);
  return r;
}

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Raises this process's RLIMIT_NOFILE towards `fds` descriptors: above the
// hard limit if allowed (CAP_SYS_RESOURCE), else up to the hard limit.
// Opening more than the limit it reached then fails with EMFILE.
inline void RaiseDescriptorLimit(size_t fds) {
  rlimit lim{};
  Check(::getrlimit(RLIMIT_NOFILE, &lim), "getrlimit");
  if (lim.rlim_cur >= fds) return;
  rlimit want = lim;
  want.rlim_cur = fds;
  if (want.rlim_max < fds) want.rlim_max = fds;
  if (::setrlimit(RLIMIT_NOFILE, &want) == 0) return;
  if (errno != EPERM) ThrowErrno("setrlimit RLIMIT_NOFILE");
  lim.rlim_cur = lim.rlim_max;
  Check(::setrlimit(RLIMIT_NOFILE, &lim), "setrlimit RLIMIT_NOFILE");
}

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

// Writes one byte (a "go" or "done" token on a sync pipe).
inline void SendToken(int fd) {
  char c = 'x';
  while (::write(fd, &c, 1) != 1) {
    if (errno != EINTR) ThrowErrno("write sync token");
  }
}

// Reads one byte; throws if the other side went away first.
inline void ReceiveToken(int fd) {
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n == 1) return;
    if (n == 0) throw std::runtime_error("sync pipe closed by peer");
    if (errno != EINTR) ThrowErrno("read sync token");
  }
}

}  // namespace lpcbench
