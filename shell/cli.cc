#include "cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "help.h"

namespace lpc::shell {

ArgReader::ArgReader(std::string command, std::vector<std::string> args)
    : command_(std::move(command)), args_(std::move(args)) {}

std::optional<std::string> ArgReader::NextOption() {
  if (inline_value_) Fail("option " + current_ + " takes no value");
  if (AtEnd()) return std::nullopt;
  const std::string& arg = args_[pos_];
  if (arg == "--") {
    ++pos_;
    return std::nullopt;
  }
  if (arg.size() < 2 || arg[0] != '-') return std::nullopt;
  ++pos_;
  if (arg[1] == '-') {
    size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      current_ = arg;
    } else {
      current_ = arg.substr(0, eq);
      inline_value_ = arg.substr(eq + 1);
    }
  } else {
    current_ = arg.substr(0, 2);
    if (arg.size() > 2) inline_value_ = arg.substr(2);
  }
  return current_;
}

std::string ArgReader::Value() {
  if (inline_value_) {
    std::string value = std::move(*inline_value_);
    inline_value_.reset();
    return value;
  }
  if (AtEnd()) Fail("option " + current_ + " needs a value");
  return args_[pos_++];
}

void ArgReader::NoValue() {
  if (inline_value_) Fail("option " + current_ + " takes no value");
}

std::vector<std::string> ArgReader::TakeRest() {
  std::vector<std::string> rest(args_.begin() + pos_, args_.end());
  pos_ = args_.size();
  return rest;
}

void ArgReader::Fail(std::string_view message) const {
  std::fprintf(stderr, "lpc: %s: %.*s\n", command_.c_str(),
               static_cast<int>(message.size()), message.data());
  std::string_view usage = UsageLine(command_);
  std::fprintf(stderr, "%.*s\nTry 'lpc %s --help'.\n",
               static_cast<int>(usage.size()), usage.data(), command_.c_str());
  std::exit(kExitUsage);
}

std::string MountDir(const std::optional<std::string>& mount_option) {
  if (mount_option) return *mount_option;
  const char* env = std::getenv("LPC_MOUNT");
  if (env != nullptr && *env != '\0') return env;
  return "/lpc";
}

std::string PortPath(std::string_view mount, std::string_view port) {
  if (!port.empty() && port[0] == '/') return std::string(port);
  std::string path(mount);
  if (path.empty() || path.back() != '/') path += '/';
  path += port;
  return path;
}

std::string MountRootOf(const std::string& real_path, dev_t dev) {
  std::string root = real_path;
  for (;;) {
    size_t slash = root.rfind('/');
    if (slash == std::string::npos) return root;
    std::string parent = slash == 0 ? "/" : root.substr(0, slash);
    struct stat st {};
    if (stat(parent.c_str(), &st) != 0 || st.st_dev != dev) return root;
    if (parent == "/") return parent;
    root = parent;
  }
}

namespace {

// statfs(2)'s f_type of every FUSE file system.
constexpr long kFuseSuperMagic = 0x65735546;

std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// The folder a path names its last component in.
std::string FolderOf(const std::string& path) {
  std::string trimmed = WithoutTrailingSlashes(path);
  size_t slash = trimmed.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return trimmed.substr(0, slash);
}

bool IsBelow(const std::string& path, const std::string& folder) {
  std::string dir = WithoutTrailingSlashes(folder);
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

// The mountpoint of a FUSE daemon that has died: the first folder on the
// way to `path` whose stat() fails ENOTCONN (the kernel answers every
// request to a connection whose daemon is gone that way). `path` itself if
// none does any more.
std::string DeadMountOn(const std::string& path) {
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    std::string prefix = path.substr(0, pos);
    struct stat st {};
    if (!prefix.empty() && stat(prefix.c_str(), &st) != 0 &&
        errno == ENOTCONN) {
      return prefix;
    }
    if (pos == std::string::npos) return path;
  }
}

}  // namespace

int CheckOnLpcfs(const std::string& path, bool* on_lpcfs) {
  struct statfs fs {};
  if (statfs(path.c_str(), &fs) != 0) return errno;
  *on_lpcfs = fs.f_type == kFuseSuperMagic;
  return 0;
}

std::optional<std::string> MountProblem(std::string_view what,
                                        const std::string& path,
                                        const std::string& mount) {
  std::string where = std::string(what) + " " + path + ": ";
  std::string folder = FolderOf(path);
  struct stat st {};
  int stat_err = stat(folder.c_str(), &st) == 0 ? 0 : errno;
  if (stat_err == ENOTCONN) {
    return where + ErrorText(ENOTCONN) +
           ": the lpcfs daemon is gone; unmount with `fusermount3 -u " +
           DeadMountOn(folder) + "`";
  }
  bool on_lpcfs = false;
  if (IsBelow(path, mount) &&
      (CheckOnLpcfs(mount, &on_lpcfs) != 0 || !on_lpcfs)) {
    std::string dir = WithoutTrailingSlashes(mount);
    return "no lpcfs mounted at " + dir + ": start it with `lpcfs " + dir +
           "` (see lpcfs(8)) or set LPC_MOUNT";
  }
  if (stat_err == ENOENT) {
    // Only a server makes ports, so only it is told to make the folder.
    return where + "no folder " + folder +
           (what == "create" ? " (make it first: `mkdir -p " + folder + "`)"
                             : std::string());
  }
  if (stat_err == ENOTDIR) return where + "a part of " + folder + " is a file";
  if (stat_err == 0 && !S_ISDIR(st.st_mode)) {
    return where + folder + " is not a folder";
  }
  if (stat_err != 0) return std::nullopt;  // the operation's own error says it
  if (CheckOnLpcfs(folder, &on_lpcfs) == 0 && !on_lpcfs) {
    return where + "not on an lpcfs mount";
  }
  return std::nullopt;
}

std::string FailureText(std::string_view what, const std::string& path, int err,
                        const std::string& mount) {
  std::string text = std::string(what) + " " + path + ": " + ErrorText(err);
  if (err == ENOTCONN || err == ECONNABORTED) {
    // A daemon that died with the mount still there: MountProblem() names
    // the mount to unmount. One that was unmounted as it died (auto_unmount,
    // lpcfs.8) leaves nothing to unmount.
    std::string folder = FolderOf(path);
    struct stat st {};
    if (stat(folder.c_str(), &st) != 0 && errno == ENOTCONN) {
      if (auto problem = MountProblem(what, path, mount)) return *problem;
    }
    return text + ": the lpcfs daemon is gone";
  }
  if (err == ENOENT || err == ENOTDIR) {
    if (auto problem = MountProblem(what, path, mount)) return *problem;
  }
  return text;
}

std::optional<mode_t> ParseMode(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  mode_t mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<mode_t>(c - '0');
  }
  if (mode > 07777) return std::nullopt;
  return mode;
}

std::optional<double> ParseSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(copy.c_str(), &end);
  if (errno != 0 || end != copy.c_str() + copy.size()) return std::nullopt;
  // Hex floats, "inf" and "nan" are not durations a person writes.
  for (char c : copy) {
    if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;
  }
  if (!std::isfinite(value) || value <= 0 || value > 1e6) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseCount(std::string_view text) {
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(copy.c_str(), &end, 10);
  if (copy.empty() || copy[0] < '0' || copy[0] > '9' || *end != '\0' ||
      errno != 0 || n == 0) {
    return std::nullopt;
  }
  return n;
}

std::string ErrorText(int err) { return std::strerror(err); }

void Warn(std::string_view what) {
  std::fprintf(stderr, "lpc: %.*s\n", static_cast<int>(what.size()),
               what.data());
}

void WarnErrno(std::string_view what, int err) {
  Warn(std::string(what) + ": " + ErrorText(err));
}

void Die(int code, std::string_view what) {
  Warn(what);
  std::exit(code);
}

void DieErrno(int code, std::string_view what, int err) {
  WarnErrno(what, err);
  std::exit(code);
}

int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

void EnsureStandardDescriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0 && null_fd != fd) {
      dup2(null_fd, fd);
      close(null_fd);
    }
  }
}

}  // namespace lpc::shell
