#include "auto_unmount.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace lpc {

namespace {

std::string ReadMountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// proc(5): the kernel writes space, tab, newline and backslash in paths as
// three octal digits after a backslash.
std::string UnescapeMountinfoPath(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string digits = s.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::strtol(digits.c_str(), nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

struct MountinfoLine {
  std::string device;      // field 3
  std::string mountpoint;  // field 5, unescaped
  std::string fstype;      // the first field after " - "
};

std::optional<MountinfoLine> ParseMountinfoLine(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> fields;
  std::string f;
  while (in >> f) fields.push_back(f);
  if (fields.size() < 7) return std::nullopt;
  MountinfoLine m{fields[2], UnescapeMountinfoPath(fields[4]), {}};
  for (size_t i = 6; i + 1 < fields.size(); ++i) {
    if (fields[i] == "-") {
      m.fstype = fields[i + 1];
      return m;
    }
  }
  return std::nullopt;
}

template <typename Fn>
void ForEachMount(const std::string& mountinfo, Fn fn) {
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    if (auto m = ParseMountinfoLine(line)) fn(*m);
  }
}

}  // namespace

std::set<int> OpenDescriptors() {
  std::set<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return fds;
  int own = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    char* end;
    long fd = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && end != e->d_name && fd != own) {
      fds.insert(static_cast<int>(fd));
    }
  }
  closedir(dir);
  return fds;
}

std::optional<std::string> FuseMountDevice(const std::string& mountinfo,
                                           const std::string& mountpoint) {
  std::optional<std::string> device;
  ForEachMount(mountinfo, [&](const MountinfoLine& m) {
    // Later lines are mounted later, on top of earlier ones.
    bool fuse = m.fstype == "fuse" || m.fstype.rfind("fuse.", 0) == 0;
    if (fuse && m.mountpoint == mountpoint) device = m.device;
  });
  return device;
}

bool MountinfoHasDevice(const std::string& mountinfo,
                        const std::string& device) {
  bool found = false;
  ForEachMount(mountinfo, [&](const MountinfoLine& m) {
    found = found || m.device == device;
  });
  return found;
}

AutoUnmount::AutoUnmount() : fds_before_(OpenDescriptors()) {}

AutoUnmount::~AutoUnmount() {
  if (socket_ >= 0) ::close(socket_);
}

std::string AutoUnmount::Attach(int fuse_fd, const std::string& mountpoint) {
  int found = -1;
  for (int fd : OpenDescriptors()) {
    struct stat st {};
    if (fds_before_.count(fd) || ::fstat(fd, &st) != 0 ||
        !S_ISSOCK(st.st_mode)) {
      continue;
    }
    if (found >= 0) return "more than one new socket after mounting";
    found = fd;
  }
  if (found < 0) return "no socket to fusermount3 after mounting";
  socket_ = ::fcntl(found, F_DUPFD_CLOEXEC, fuse_fd + 1);
  if (socket_ < 0) return "cannot move the socket to fusermount3";
  ::close(found);
  auto device = FuseMountDevice(ReadMountinfo(), mountpoint);
  if (!device) return "no FUSE mount at " + mountpoint + " in mountinfo";
  device_ = *device;
  return {};
}

bool AutoUnmount::Finish(std::chrono::milliseconds timeout) {
  if (socket_ >= 0) {
    ::close(socket_);
    socket_ = -1;
  }
  if (device_.empty()) return true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // fusermount3 wakes up, checks the mount and detaches it: a few ms.
  while (MountinfoHasDevice(ReadMountinfo(), device_)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace lpc
