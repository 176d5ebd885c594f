// The one place that builds a caller's identity from a FUSE request: the
// kernel's fsuid/fsgid and thread id, mapped to the process and, at
// connect, its groups and capabilities (lpc.7 "CREDENTIALS").
#pragma once

#include <fuse_lowlevel.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "caller.h"

namespace lpc {

// Maps thread ids (what FUSE reports as the caller's pid) to process ids.
// An entry holds a pidfd of the thread, so a thread id that was reused by a
// new thread after the first one exited is noticed and looked up afresh.
// Thread-safe. Without pidfd support (Linux < 6.9 for threads) entries are
// never cached and every lookup reads /proc.
class ProcessIdCache {
 public:
  // recheck: how long an entry is trusted without asking its pidfd.
  explicit ProcessIdCache(std::chrono::milliseconds recheck = kRecheck)
      : recheck_(recheck) {}
  ~ProcessIdCache();
  ProcessIdCache(const ProcessIdCache&) = delete;
  ProcessIdCache& operator=(const ProcessIdCache&) = delete;

  // The process of thread `tid`; 0 if unknown (tid 0, or the thread gone).
  uint32_t PidOf(uint32_t tid);
  size_t size();

  static constexpr size_t kMaxEntries = 256;  // each holds a descriptor
  static constexpr std::chrono::milliseconds kRecheck{100};

 private:
  struct Entry {
    uint32_t pid;
    int pidfd;
    std::chrono::steady_clock::time_point checked;
  };
  void ClearLocked();
  std::chrono::milliseconds recheck_;
  std::mutex mu_;  // a leaf lock: nothing else is taken while holding it
  std::unordered_map<uint32_t, Entry> map_;
};

class Identities {
 public:
  // Who wrote one message: fsuid, fsgid and the thread's process.
  Sender SenderOf(const fuse_ctx& ctx);
  // The whole identity, read once at connect or create (groups and
  // capabilities from /proc/<tid>/status).
  Caller CallerOf(const fuse_ctx& ctx);

 private:
  ProcessIdCache pids_;
};

}  // namespace lpc
