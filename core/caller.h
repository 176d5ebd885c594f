// Who is on the other side of a request: the identity the broker records at
// connect time and stamps on every message. Plain values, no FUSE types.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
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

// Reads /proc/<tid>/status. Empty when the thread has gone (or tid is 0, as
// for requests the kernel makes on its own).
std::optional<ProcessStatus> read_proc_status(uint32_t tid);

}  // namespace lpc
