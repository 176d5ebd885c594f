// Client and server processes of one benchmark figure: fork them, share
// their timing samples with the parent, wait for them with a deadline, and
// clean up when the run is interrupted.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util.h"

namespace lpcbench {

using Clock = std::chrono::steady_clock;

// A forked process that runs one function and exits.
struct Child {
  std::string name;
  pid_t pid = -1;
  Fd pidfd;         // readable once the process has exited
  int status = -1;  // waitpid status once reaped
  bool reaped = false;
};

// Forks a process that runs `body` and exits 0, or prints the exception
// and exits 1. The child gets default signal handlers and is killed when the
// parent dies, so an aborted benchmark leaves no process behind. It never
// returns into the caller's stack: destructors in the parent (the daemon's
// teardown in particular) run only in the parent.
Child Spawn(std::string name, std::function<void()> body);

// Waits until every child has exited or `deadline` passes. If one fails or
// the deadline passes, kills the rest (SIGKILL) and throws a description.
void WaitAll(std::vector<Child*> children, Clock::time_point deadline);

// Reads the single "ready" byte a server sends once it listens, or throws
// (server died, deadline passed).
void WaitToken(int fd, Clock::time_point deadline, const std::string& what);

// Sample buffer shared between a client process and the parent
// (MAP_SHARED anonymous memory, so it survives fork).
class SharedSamples {
 public:
  explicit SharedSamples(size_t count);
  ~SharedSamples();
  SharedSamples(const SharedSamples&) = delete;
  SharedSamples& operator=(const SharedSamples&) = delete;

  uint64_t* data() { return data_; }
  size_t size() const { return count_; }
  std::vector<uint64_t> Copy() const { return {data_, data_ + count_}; }

 private:
  uint64_t* data_ = nullptr;
  size_t count_ = 0;
};

// Reaps children a failed measurement left behind (stuck in a FUSE request
// until the daemon went away), waiting up to a second for them. Call after
// the daemon's teardown.
void ReapLeftoverChildren();

// On SIGINT/SIGTERM: kill every live child, then call `cleanup` (which must
// be async-signal-safe), then exit 130. Install once in main.
void InstallInterruptCleanup(void (*cleanup)());

}  // namespace lpcbench
