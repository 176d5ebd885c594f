// Who is on the other side of a request: the identity the broker records at
// connect time and stamps on every message (lpc.7 "CREDENTIALS"). Plain
// values: the daemon (fs/identity.h) reads them from the kernel and /proc.
#pragma once

#include <cstdint>
#include <vector>

namespace lpc {

// The sender of one message, captured when it was written.
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

}  // namespace lpc
