#include "proc_status.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace lpc {
namespace {

// The whole text of a /proc file; empty if it cannot be opened.
std::string ReadProcFile(const std::string& path) {
  std::string text;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

std::optional<ProcessStatus> ParseProcStatus(const std::string& text) {
  ProcessStatus st;
  bool have_tgid = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (key == "Tgid") {
      st.tgid = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
      have_tgid = st.tgid != 0;
    } else if (key == "Groups") {
      std::istringstream gs(value);
      unsigned long g;
      while (gs >> g) st.groups.push_back(static_cast<uint32_t>(g));
    }
  }
  if (!have_tgid) return std::nullopt;
  return st;
}

std::optional<ProcessStatus> ReadProcStatus(uint32_t tid) {
  if (tid == 0) return std::nullopt;
  return ParseProcStatus(
      ReadProcFile("/proc/" + std::to_string(tid) + "/status"));
}

std::optional<uint64_t> ParseProcStartTime(const std::string& text) {
  auto paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  // After the command name come field 3 (state), 4, ... 22 (starttime).
  std::istringstream fields(text.substr(paren + 1));
  std::string field;
  for (int n = 3; n <= 22; ++n) {
    if (!(fields >> field)) return std::nullopt;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long ticks = std::strtoull(field.c_str(), &end, 10);
  if (errno || end == field.c_str() || *end != '\0') return std::nullopt;
  return ticks;
}

std::optional<uint64_t> ReadProcStartTime(uint32_t pid) {
  if (pid == 0) return std::nullopt;
  return ParseProcStartTime(
      ReadProcFile("/proc/" + std::to_string(pid) + "/stat"));
}

}  // namespace lpc
