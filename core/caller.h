// Who is on the other side of a request: the identity the broker records at
// connect time and stamps on every message. Plain values, no FUSE types.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace lpc {

// The sender of one message, captured when it was written (lpc.7: records).
struct Sender {
  uint32_t pid = 0;  // process (thread group) id; 0 if unknown
  uint32_t uid = 0;  // filesystem uid
  uint32_t gid = 0;  // filesystem gid
};

// The full identity of a caller, as a connect record reports it.
struct Caller {
  Sender sender;
  std::vector<uint32_t> groups;  // supplementary groups
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
  bool groups_truncated = false;  // had more than LPC_MAX_GROUPS groups
};

// What /proc/<tid>/status says of a thread.
struct ProcessStatus {
  uint32_t tgid = 0;
  std::vector<uint32_t> groups;
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
};

// Parses the text of a /proc/<tid>/status file. Pure, for unit tests.
std::optional<ProcessStatus> parse_proc_status(const std::string& text);

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
  uint32_t pid_of(uint32_t tid);
  size_t size();

  static constexpr size_t kMaxEntries = 256;  // each holds a descriptor
  static constexpr std::chrono::milliseconds kRecheck{100};

 private:
  struct Entry {
    uint32_t pid;
    int pidfd;
    std::chrono::steady_clock::time_point checked;
  };
  void clear_locked();
  std::chrono::milliseconds recheck_;
  std::mutex mu_;
  std::unordered_map<uint32_t, Entry> map_;
};

// Reads /proc/<tid>/status. Empty when the thread has gone (or tid is 0, as
// for requests the kernel makes on its own).
std::optional<ProcessStatus> read_proc_status(uint32_t tid);

}  // namespace lpc
