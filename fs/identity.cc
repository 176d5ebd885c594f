#include "identity.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "capabilities.h"
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

namespace {

// A quarter of the descriptors the daemon may hold, so that pidfds never
// crowd out the /proc reads and everything else.
size_t CapacityWithin(size_t wanted) {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return wanted;
  }
  size_t allowed = static_cast<size_t>(limit.rlim_cur / 4);
  return std::max<size_t>(1, std::min(wanted, allowed));
}

}  // namespace

ProcessIdCache::ProcessIdCache(std::chrono::milliseconds recheck,
                               size_t capacity)
    : recheck_(recheck), capacity_(CapacityWithin(capacity)) {}

ProcessIdCache::~ProcessIdCache() {
  for (Entry& e : entries_) ::close(e.pidfd);
}

void ProcessIdCache::EraseLocked(size_t index) {
  ::close(entries_[index].pidfd);
  index_.erase(entries_[index].tid);
  if (index + 1 != entries_.size()) {
    entries_[index] = std::move(entries_.back());
    index_[entries_[index].tid] = index;
  }
  entries_.pop_back();
}

void ProcessIdCache::InsertLocked(Entry entry) {
  if (index_.count(entry.tid)) {  // another thread cached it meanwhile
    ::close(entry.pidfd);
    return;
  }
  if (entries_.size() >= capacity_) {
    std::uniform_int_distribution<size_t> pick(0, entries_.size() - 1);
    EraseLocked(pick(random_));
  }
  index_.emplace(entry.tid, entries_.size());
  entries_.push_back(std::move(entry));
}

size_t ProcessIdCache::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

uint64_t ProcessIdCache::misses() {
  std::lock_guard lock(mu_);
  return misses_;
}

namespace {

// Groups as a connect record reports them: at most LPC_MAX_GROUPS, so that
// a writer's groups compare with the connect's like for like.
void SetGroups(ThreadIdentity* identity, std::vector<uint32_t> groups) {
  identity->groups_truncated = groups.size() > LPC_MAX_GROUPS;
  if (identity->groups_truncated) groups.resize(LPC_MAX_GROUPS);
  identity->groups =
      std::make_shared<const std::vector<uint32_t>>(std::move(groups));
}

// Pin the thread first, then read /proc: if it is still alive afterwards,
// what was read was about this very thread. Returns the pidfd (or -1) with
// *identity filled in; a pidfd is returned only when *identity is valid.
int ReadThreadIdentity(uint32_t tid, ThreadIdentity* identity) {
  int pidfd = OpenThreadPidfd(tid);
  auto status = ReadProcStatus(tid);
  if (status) {
    identity->pid = status->tgid;
    SetGroups(identity, std::move(status->groups));
    identity->start_time = ReadProcStartTime(status->tgid).value_or(0);
  }
  if (pidfd < 0) return -1;
  if (!status || !ThreadAlive(pidfd)) {
    ::close(pidfd);
    return -1;
  }
  return pidfd;
}

}  // namespace

ThreadIdentity ProcessIdCache::Lookup(uint32_t tid, Groups groups) {
  if (tid == 0) return {};
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(tid);
    if (it != index_.end()) {
      Entry& e = entries_[it->second];
      // Linux hands out thread ids cyclically: a tid comes back only after
      // the whole id space (pid_max, at least 32768) has been used, which
      // takes far longer than kRecheck (100 ms). Within it the entry needs no
      // syscall to be trusted.
      auto now = std::chrono::steady_clock::now();
      if (groups == Groups::kCached && now - e.checked < recheck_) {
        return e.identity;
      }
      if (ThreadAlive(e.pidfd)) {
        // Alive: same thread, same process. Its groups may have changed.
        // (Read under mu_: the daemon's loop is single-threaded, so the
        // lock is never contended for long.)
        auto status = ReadProcStatus(tid);
        if (status && ThreadAlive(e.pidfd)) {
          SetGroups(&e.identity, std::move(status->groups));
          e.checked = now;
          return e.identity;
        }
      }
      EraseLocked(it->second);
    }
    ++misses_;
  }
  ThreadIdentity identity;
  int pidfd = ReadThreadIdentity(tid, &identity);
  if (pidfd < 0) return identity;
  std::lock_guard lock(mu_);
  InsertLocked(Entry{tid, identity, pidfd, std::chrono::steady_clock::now()});
  return identity;
}

Writer Identities::WriterOf(const fuse_ctx& ctx) {
  ThreadIdentity t = pids_.Lookup(static_cast<uint32_t>(ctx.pid));
  return Writer(Sender{t.pid, ctx.uid, ctx.gid, t.start_time},
                std::move(t.groups));
}

Caller Identities::CallerOf(const fuse_ctx& ctx) {
  Caller c;
  c.sender.uid = ctx.uid;
  c.sender.gid = ctx.gid;
  const uint32_t tid = static_cast<uint32_t>(ctx.pid);
  // The groups read now; the process and its start time from the cache,
  // which also keeps these groups for the thread's messages to compare
  // with. A connect costs one /proc read, as it did before start times.
  ThreadIdentity t = pids_.Lookup(tid, ProcessIdCache::Groups::kCurrent);
  if (t.pid == 0) return c;
  c.sender.pid = t.pid;
  c.sender.start_time = t.start_time;
  if (t.groups) c.groups = *t.groups;
  c.groups_truncated = t.groups_truncated;
  // Capabilities belong to the thread, as its groups do.
  if (auto caps = ReadCapabilities(tid)) {
    c.cap_effective = caps->effective;
    c.cap_permitted = caps->permitted;
  }
  return c;
}

}  // namespace lpc
