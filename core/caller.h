// Who is on the other side of a request: the identity the broker records at
// connect time and stamps on every message (lpc.7 "CREDENTIALS"). Plain
// values: the daemon (fs/identity.h) reads them from the kernel and /proc.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace lpc {

// The sender of one message, captured when it was written.
struct Sender {
  uint32_t pid = 0;  // process (thread group) id; 0 if unknown
  uint32_t uid = 0;  // filesystem uid
  uint32_t gid = 0;  // filesystem gid
  // When the process started: field 22 of /proc/PID/stat, clock ticks
  // since boot. With pid it names one process even after the pid is
  // reused; 0 if unknown.
  uint64_t start_time = 0;
};

// The writer of one message as the per-message path knows it: the Sender
// and, if known, the writing thread's supplementary groups (shared, since
// fs/identity.h caches them per thread rather than reading /proc each
// time). Converts from a Sender whose groups are unknown.
struct Writer {
  Writer(Sender s = {},
         std::shared_ptr<const std::vector<uint32_t>> g = nullptr)
      : sender(s), groups(std::move(g)) {}
  Sender sender;
  std::shared_ptr<const std::vector<uint32_t>> groups;  // null: unknown
};

// The full identity of a caller, as a connect record reports it.
struct Caller {
  Sender sender;
  std::vector<uint32_t> groups;  // supplementary groups
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
  bool groups_truncated = false;  // had more than LPC_MAX_GROUPS groups
};

}  // namespace lpc
