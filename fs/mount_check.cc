#include "mount_check.h"

#include <sys/statfs.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace lpc {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') octal = false;
        v = v * 8 + (c - '0');
      }
      if (octal) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> f;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    f.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return f;
}

}  // namespace

std::string TopMountType(std::string_view mountinfo, std::string_view path) {
  // Later lines are mounted later: the last match is the one on top.
  std::string type;
  size_t start = 0;
  while (start < mountinfo.size()) {
    size_t end = mountinfo.find('\n', start);
    if (end == std::string_view::npos) end = mountinfo.size();
    std::vector<std::string_view> f =
        Fields(mountinfo.substr(start, end - start));
    start = end + 1;
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE ...
    if (f.size() < 7 || Unescape(f[4]) != path) continue;
    for (size_t i = 6; i + 1 < f.size(); ++i) {
      if (f[i] == "-") {
        type = std::string(f[i + 1]);
        break;
      }
    }
  }
  return type;
}

bool IsLpcfsMount(const char* dir) {
  constexpr long kFuseSuperMagic = 0x65735546;
  struct statfs st {};
  if (statfs(dir, &st) != 0 || st.f_type != kFuseSuperMagic) return false;
  char real[PATH_MAX];
  if (!realpath(dir, real)) return false;
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return TopMountType(text.str(), real) == "fuse.lpcfs";
}

}  // namespace lpc
