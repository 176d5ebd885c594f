#include "caller.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace lpc {

std::optional<ProcessStatus> parse_proc_status(const std::string& text) {
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

std::optional<ProcessStatus> read_proc_status(uint32_t tid) {
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
  return parse_proc_status(text);
}

namespace {

// PIDFD_THREAD (Linux 6.9): a pidfd for any thread, not only a leader.
constexpr unsigned kPidfdThread = O_EXCL;

int open_thread_pidfd(uint32_t tid) {
  return static_cast<int>(syscall(SYS_pidfd_open, tid, kPidfdThread));
}

// A pidfd polls readable once its thread has exited.
bool thread_alive(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace

ProcessIdCache::~ProcessIdCache() { clear_locked(); }

void ProcessIdCache::clear_locked() {
  for (auto& [tid, e] : map_) ::close(e.pidfd);
  map_.clear();
}

size_t ProcessIdCache::size() {
  std::lock_guard lock(mu_);
  return map_.size();
}

uint32_t ProcessIdCache::pid_of(uint32_t tid) {
  if (tid == 0) return 0;
  {
    std::lock_guard lock(mu_);
    auto it = map_.find(tid);
    if (it != map_.end()) {
      Entry& e = it->second;
      // Linux hands out thread ids cyclically: a tid comes back only after
      // the whole id space (pid_max, at least 32768) has been used, which
      // takes far longer than kRecheck (100 ms). Within it the entry needs no
      // syscall to be trusted.
      auto now = std::chrono::steady_clock::now();
      if (now - e.checked < recheck_) return e.pid;
      if (thread_alive(e.pidfd)) {
        e.checked = now;
        return e.pid;
      }
      ::close(e.pidfd);
      map_.erase(it);
    }
  }
  // Pin the thread first, then read /proc: if it is still alive afterwards,
  // what we read was about this very thread.
  int pidfd = open_thread_pidfd(tid);
  auto status = read_proc_status(tid);
  uint32_t pid = status ? status->tgid : 0;
  if (pidfd < 0) return pid;
  if (!status || !thread_alive(pidfd)) {
    ::close(pidfd);
    return pid;
  }
  std::lock_guard lock(mu_);
  if (map_.size() >= kMaxEntries) clear_locked();
  auto [it, inserted] =
      map_.emplace(tid, Entry{pid, pidfd, std::chrono::steady_clock::now()});
  if (!inserted) ::close(pidfd);  // another thread cached it meanwhile
  return pid;
}

}  // namespace lpc
