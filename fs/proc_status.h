// What /proc/<tid>/status says of a thread: its process, groups and
// capabilities (proc(5)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lpc {

struct ProcessStatus {
  uint32_t tgid = 0;
  std::vector<uint32_t> groups;
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
};

// Parses the text of a /proc/<tid>/status file. Pure, for unit tests.
std::optional<ProcessStatus> ParseProcStatus(const std::string& text);

// Reads /proc/<tid>/status. Empty when the thread has gone (or tid is 0, as
// for requests the kernel makes on its own).
std::optional<ProcessStatus> ReadProcStatus(uint32_t tid);

}  // namespace lpc
