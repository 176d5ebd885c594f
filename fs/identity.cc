#include "identity.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "lpc.h"
#include "proc_status.h"

namespace lpc {
namespace {

// PIDFD_THREAD (Linux 6.9): a pidfd for any thread, not only a leader.
constexpr unsigned kPidfdThread = O_EXCL;

int OpenThreadPidfd(uint32_t tid) {
  return static_cast<int>(syscall(SYS_pidfd_open, tid, kPidfdThread));
}

// A pidfd polls readable once its thread has exited.
bool ThreadAlive(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace

ProcessIdCache::~ProcessIdCache() { ClearLocked(); }

void ProcessIdCache::ClearLocked() {
  for (auto& [tid, e] : map_) ::close(e.pidfd);
  map_.clear();
}

size_t ProcessIdCache::size() {
  std::lock_guard lock(mu_);
  return map_.size();
}

uint32_t ProcessIdCache::PidOf(uint32_t tid) {
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
      if (ThreadAlive(e.pidfd)) {
        e.checked = now;
        return e.pid;
      }
      ::close(e.pidfd);
      map_.erase(it);
    }
  }
  // Pin the thread first, then read /proc: if it is still alive afterwards,
  // what we read was about this very thread.
  int pidfd = OpenThreadPidfd(tid);
  auto status = ReadProcStatus(tid);
  uint32_t pid = status ? status->tgid : 0;
  if (pidfd < 0) return pid;
  if (!status || !ThreadAlive(pidfd)) {
    ::close(pidfd);
    return pid;
  }
  std::lock_guard lock(mu_);
  if (map_.size() >= kMaxEntries) ClearLocked();
  auto [it, inserted] =
      map_.emplace(tid, Entry{pid, pidfd, std::chrono::steady_clock::now()});
  if (!inserted) ::close(pidfd);  // another thread cached it meanwhile
  return pid;
}

Sender Identities::SenderOf(const fuse_ctx& ctx) {
  return {pids_.PidOf(static_cast<uint32_t>(ctx.pid)), ctx.uid, ctx.gid};
}

Caller Identities::CallerOf(const fuse_ctx& ctx) {
  Caller c;
  c.sender.uid = ctx.uid;
  c.sender.gid = ctx.gid;
  if (auto status = ReadProcStatus(static_cast<uint32_t>(ctx.pid))) {
    c.sender.pid = status->tgid;
    c.groups = std::move(status->groups);
    c.cap_effective = status->cap_effective;
    c.cap_permitted = status->cap_permitted;
  }
  if (c.groups.size() > LPC_MAX_GROUPS) {
    c.groups.resize(LPC_MAX_GROUPS);
    c.groups_truncated = true;
  }
  return c;
}

}  // namespace lpc
