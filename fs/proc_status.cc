#include "proc_status.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace lpc {

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
    } else if (key == "CapEff") {
      st.cap_effective = std::strtoull(value.c_str(), nullptr, 16);
    } else if (key == "CapPrm") {
      st.cap_permitted = std::strtoull(value.c_str(), nullptr, 16);
    }
  }
  if (!have_tgid) return std::nullopt;
  return st;
}

std::optional<ProcessStatus> ReadProcStatus(uint32_t tid) {
  if (tid == 0) return std::nullopt;
  std::string path = "/proc/" + std::to_string(tid) + "/status";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseProcStatus(text);
}

}  // namespace lpc
