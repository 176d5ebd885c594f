// What /proc says of a thread and its process (proc(5)): from
// /proc/<tid>/status its process and groups, from /proc/<pid>/stat the
// process's start time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lpc {

struct ProcessStatus {
  uint32_t tgid = 0;
  std::vector<uint32_t> groups;
};

// Parses the text of a /proc/<tid>/status file. Pure, for unit tests.
std::optional<ProcessStatus> ParseProcStatus(const std::string& text);

// Reads /proc/<tid>/status. Empty when the thread has gone (or tid is 0, as
// for requests the kernel makes on its own).
std::optional<ProcessStatus> ReadProcStatus(uint32_t tid);

// Field 22 (starttime: clock ticks after boot) of the text of a
// /proc/<pid>/stat file. The second field, the command name in
// parentheses, may itself hold spaces and ')': fields are counted after
// its last ')'. Pure, for unit tests.
std::optional<uint64_t> ParseProcStartTime(const std::string& text);

// The start time of process `pid` from /proc/<pid>/stat; empty if it has
// gone (or pid is 0).
std::optional<uint64_t> ReadProcStartTime(uint32_t pid);

}  // namespace lpc
