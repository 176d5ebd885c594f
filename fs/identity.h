// The one place that builds a caller's identity from a FUSE request: the
// kernel's fsuid/fsgid and thread id, mapped to the process and, at
// connect, its groups and capabilities (lpc.7 "CREDENTIALS").
#pragma once

#include <fuse_lowlevel.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "caller.h"

namespace lpc {

// What the per-message path needs of a writing thread: its process (pid
// and start time, which together name it even after the pid is reused) and
// its supplementary groups.
struct ThreadIdentity {
  uint32_t pid = 0;  // 0 if unknown
  uint64_t start_time = 0;
  // At most LPC_MAX_GROUPS; null if unknown.
  std::shared_ptr<const std::vector<uint32_t>> groups;
  bool groups_truncated = false;  // the thread had more
};

// Maps thread ids (what FUSE reports as the caller's pid) to their
// ThreadIdentity. An entry holds a pidfd of the thread, so a thread id that
// was reused by a new thread after the first one exited is noticed and
// looked up afresh. While its thread lives, its pid and start time cannot
// change; its groups can (setgroups(2)), so they are read again from
// /proc/<tid>/status whenever an entry is rechecked: a thread's groups are
// at most `recheck` old. Thread-safe. Without pidfd support (Linux < 6.9
// for threads) entries are never cached and every lookup reads /proc.
//
// When full, a new thread takes the place of an entry picked at random.
// Writers come round in turn, so evicting the least recently used (or
// clearing everything, as an earlier version did) would miss on every
// lookup once there is one writer more than entries; a random victim keeps
// most entries and the hit rate falls off gently with the excess.
class ProcessIdCache {
 public:
  // recheck: how long an entry is trusted without asking its pidfd;
  // capacity: at most this many entries (each holds a descriptor).
  explicit ProcessIdCache(std::chrono::milliseconds recheck = kRecheck,
                          size_t capacity = kMaxEntries);
  ~ProcessIdCache();
  ProcessIdCache(const ProcessIdCache&) = delete;
  ProcessIdCache& operator=(const ProcessIdCache&) = delete;

  // How old the groups of a lookup may be.
  enum class Groups {
    kCached,   // up to `recheck`: no system call within the window
    kCurrent,  // read now (one /proc/<tid>/status read), and cached
  };
  // The identity of thread `tid`; pid 0 if unknown (tid 0, or the thread
  // gone).
  ThreadIdentity Lookup(uint32_t tid, Groups groups = Groups::kCached);
  // The process of thread `tid`; 0 if unknown.
  uint32_t PidOf(uint32_t tid) { return Lookup(tid).pid; }
  size_t size();
  // Lookups that found no entry and read the thread afresh.
  uint64_t misses();

  // The default capacity, lowered to a quarter of the descriptor limit
  // (RLIMIT_NOFILE) where that is smaller.
  static constexpr size_t kMaxEntries = 4096;
  static constexpr std::chrono::milliseconds kRecheck{100};

 private:
  struct Entry {
    uint32_t tid;
    ThreadIdentity identity;
    int pidfd;
    std::chrono::steady_clock::time_point checked;
  };
  // Removes entries_[index] (closing its pidfd) by moving the last entry
  // into its place.
  void EraseLocked(size_t index);
  void InsertLocked(Entry entry);
  std::chrono::milliseconds recheck_;
  size_t capacity_;
  std::mutex mu_;  // a leaf lock: nothing else is taken while holding it
  // The entries in no order, and where each thread's is: a vector so that
  // a random victim is one index away.
  std::vector<Entry> entries_;
  std::unordered_map<uint32_t, size_t> index_;  // tid -> entries_ index
  std::minstd_rand random_;  // fixed seed: the same lookups evict the same
  uint64_t misses_ = 0;
};

class Identities {
 public:
  // Who wrote one message: fsuid, fsgid, the thread's process and groups,
  // from the cache (no system call for most messages).
  Writer WriterOf(const fuse_ctx& ctx);
  Sender SenderOf(const fuse_ctx& ctx) { return WriterOf(ctx).sender; }
  // The whole identity, read once at connect or create: groups from
  // /proc/<tid>/status, the start time from /proc/<pid>/stat, the
  // capabilities through libcap (capget(2)).
  Caller CallerOf(const fuse_ctx& ctx);

 private:
  ProcessIdCache pids_;
};

}  // namespace lpc
