#include "test_util.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace lpctest {

// ------------------------------------------------------------ errno

std::string ErrName(int err) {
  if (err == 0) return "OK";
  const char* name = strerrorname_np(err);
  if (name) return name;
  return "errno " + std::to_string(err);
}

// ------------------------------------------------------------ files

Opened Open(const std::string& path, int flags, mode_t mode) {
  Opened o;
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    o.err = errno;
  } else {
    o.fd.reset(fd);
  }
  return o;
}

int SetNonblocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return errno;
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  return fcntl(fd, F_SETFL, flags) < 0 ? errno : 0;
}

int PollOnce(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int n = ::poll(&p, 1, timeout_ms);
  if (n < 0) return -errno;
  return n == 0 ? 0 : p.revents;
}

// ------------------------------------------------------------ records

int ReadRecord(int fd, Record* out, size_t buffer_size) {
  std::vector<char> buf(buffer_size);
  ssize_t n = ::read(fd, buf.data(), buf.size());
  if (n < 0) return errno;
  if (static_cast<size_t>(n) < sizeof(lpc_record)) {
    // EOF or a torn record: neither may happen on a live server handle.
    *out = Record{};
    out->payload.assign(buf.data(), static_cast<size_t>(n));
    return n == 0 ? ENODATA : EPROTO;
  }
  std::memcpy(&out->h, buf.data(), sizeof(lpc_record));
  out->payload.assign(buf.data() + sizeof(lpc_record),
                      static_cast<size_t>(n) - sizeof(lpc_record));
  if (out->h.length != out->payload.size()) return EPROTO;
  return 0;
}

int WriteRawRecord(int fd, lpc_record header, std::string_view payload,
                   bool keep_length) {
  if (!keep_length) header.length = static_cast<uint32_t>(payload.size());
  std::string buf(sizeof header + payload.size(), '\0');
  std::memcpy(buf.data(), &header, sizeof header);
  if (!payload.empty()) {
    std::memcpy(buf.data() + sizeof header, payload.data(), payload.size());
  }
  ssize_t n = ::write(fd, buf.data(), buf.size());
  if (n < 0) return errno;
  return static_cast<size_t>(n) == buf.size() ? 0 : EIO;
}

int Command(int fd, uint32_t type, uint64_t conn, uint64_t msg_id,
            std::string_view payload, uint32_t flags, int32_t status) {
  lpc_record h{};
  h.type = type;
  h.conn_id = conn;
  h.msg_id = msg_id;
  h.flags = flags;
  h.status = status;
  return WriteRawRecord(fd, h, payload);
}

ConnectInfo DecodeConnectInfo(const std::string& payload) {
  ConnectInfo ci;
  if (payload.size() < sizeof(lpc_connect_info)) return ci;
  std::memcpy(&ci.info, payload.data(), sizeof ci.info);
  size_t groups_end =
      sizeof ci.info + size_t{ci.info.ngroups} * sizeof(uint32_t);
  if (payload.size() != groups_end + sizeof ci.process) return ci;
  ci.groups.resize(ci.info.ngroups);
  if (ci.info.ngroups) {
    std::memcpy(ci.groups.data(), payload.data() + sizeof ci.info,
                ci.groups.size() * sizeof(uint32_t));
  }
  std::memcpy(&ci.process, payload.data() + groups_end, sizeof ci.process);
  ci.ok = true;
  return ci;
}

const char* RecordTypeName(uint32_t type) {
  switch (type) {
    case LPC_REC_CONNECT:
      return "CONNECT";
    case LPC_REC_MESSAGE:
      return "MESSAGE";
    case LPC_REC_DISCONNECT:
      return "DISCONNECT";
    case LPC_REC_CANCEL:
      return "CANCEL";
    case LPC_REC_ACCEPT:
      return "ACCEPT";
    case LPC_REC_REJECT:
      return "REJECT";
    case LPC_REC_SEND:
      return "SEND";
    case LPC_REC_REPLY:
      return "REPLY";
    case LPC_REC_PORT_OPTIONS:
      return "PORT_OPTIONS";
  }
  return "?";
}

std::string Describe(const Record& r) {
  std::ostringstream s;
  s << RecordTypeName(r.h.type) << "(" << r.h.type << ") conn=" << r.h.conn_id
    << " msg=" << r.h.msg_id << " pid=" << r.h.pid << " uid=" << r.h.uid
    << " gid=" << r.h.gid << " flags=0x" << std::hex << r.h.flags << std::dec
    << " status=" << r.h.status << " len=" << r.h.length;
  if (r.h.type == LPC_REC_MESSAGE) s << " \"" << r.payload << "\"";
  return s.str();
}

// ------------------------------------------------------------ messages

int WriteMsg(int fd, std::string_view msg) {
  ssize_t n = ::write(fd, msg.data(), msg.size());
  if (n < 0) return errno;
  return static_cast<size_t>(n) == msg.size() ? 0 : EIO;
}

int ReadMsg(int fd, std::string* out, size_t size) {
  out->assign(size, '\0');
  ssize_t n = ::read(fd, out->data(), size);
  if (n < 0) {
    out->clear();
    return errno;
  }
  out->resize(static_cast<size_t>(n));
  return 0;
}

// ------------------------------------------------------------ processes

namespace {

// Tracked children, also read by the watchdog thread: a fixed array of
// pids, 0 for a free slot.
constexpr int kMaxChildren = 1024;
std::atomic<pid_t> g_children[kMaxChildren];

void Track(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
  std::fprintf(stderr, "test_util: too many children to track\n");
}

void Untrack(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    slot.compare_exchange_strong(expected, 0);
  }
}

}  // namespace

pid_t Spawn(std::function<int()> fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died between fork and prctl.
    if (getppid() == 1) _exit(kChildCheckFailed);
    for (auto& slot : g_children) slot = 0;  // not ours to reap
    int code = fn();
    std::fflush(nullptr);
    _exit(code);
  }
  Track(pid);
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR && !WatchdogFired());
  if (r != pid) return -1;
  Untrack(pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void KillAllChildren() {
  for (auto& slot : g_children) {
    pid_t pid = slot;
    if (pid > 0) kill(pid, SIGKILL);
  }
  for (auto& slot : g_children) {
    pid_t pid = slot;
    if (pid > 0) {
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      slot = 0;
    }
  }
}

void KillAllChildrenFromSignalHandler() {
  for (auto& slot : g_children) {
    pid_t pid = slot;
    if (pid > 0) kill(pid, SIGKILL);
  }
}

void ChildCheckFailed(const char* file, int line, const char* what,
                      const char* detail) {
  int e = errno;
  std::fprintf(stderr, "%s:%d: [child %d] check failed: %s %s (errno %s)\n",
               file, line, getpid(), what, detail, ErrName(e).c_str());
  std::fflush(nullptr);
  _exit(kChildCheckFailed);
}

void CloseOtherFds(std::vector<int> keep) {
  keep.push_back(0);
  keep.push_back(1);
  keep.push_back(2);
  std::sort(keep.begin(), keep.end());
  unsigned next = 0;  // lowest fd not yet handled
  for (int k : keep) {
    if (k < 0) continue;
    if (static_cast<unsigned>(k) > next) close_range(next, k - 1, 0);
    next = static_cast<unsigned>(k) + 1;
  }
  close_range(next, ~0u, 0);
}

int BecomeUser(uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
  if (setgroups(groups.size(), groups.data()) != 0) return errno;
  if (setgid(gid) != 0) return errno;
  if (setuid(uid) != 0) return errno;
  return 0;
}

namespace {

// Runs only so that the signal is caught rather than fatal or ignored.
void IgnoreCaughtSignal(int) {}

}  // namespace

void CatchWithoutRestart(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler ? handler : IgnoreCaughtSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART
  sigaction(sig, &sa, nullptr);
}

Gate::Gate() {
  if (pipe2(fds_, O_CLOEXEC) != 0) std::perror("pipe2");
}
Gate::~Gate() {
  ::close(fds_[0]);
  ::close(fds_[1]);
}
void Gate::Open() {
  char c = 1;
  (void)!::write(fds_[1], &c, 1);
}
bool Gate::Wait() {
  char c;
  ssize_t n;
  do {
    n = ::read(fds_[0], &c, 1);
  } while (n < 0 && errno == EINTR && !WatchdogFired());
  return n == 1;
}

FdChannel::FdChannel() {
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds_) != 0) {
    std::perror("socketpair");
  }
}
FdChannel::~FdChannel() {
  ::close(fds_[0]);
  ::close(fds_[1]);
}
bool FdChannel::SendFd(int fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(fds_[1], &msg, 0) == 1;
}
UniqueFd FdChannel::ReceiveFd() {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(fds_[0], &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR && !WatchdogFired());
  if (n != 1) return UniqueFd();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return UniqueFd();
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

// ------------------------------------------------------------ waiting

bool WaitFor(const std::function<bool()>& cond) {
  while (!cond()) {
    if (WatchdogFired()) return false;
    usleep(1000);
  }
  return true;
}

namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

char ProcState(pid_t pid) {
  std::string stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  // "PID (comm) S ...": comm may contain spaces and parentheses.
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

long ProcSyscall(pid_t pid) {
  std::string s = ReadSmallFile("/proc/" + std::to_string(pid) + "/syscall");
  if (s.empty() || s.compare(0, 7, "running") == 0) return -2;
  return std::strtol(s.c_str(), nullptr, 10);
}

std::string ProcWchan(pid_t pid) {
  return ReadSmallFile("/proc/" + std::to_string(pid) + "/wchan");
}

std::string DescribeProc(pid_t pid) {
  std::ostringstream s;
  s << "pid " << pid << " state=" << (ProcState(pid) ? ProcState(pid) : '?')
    << " syscall=" << ProcSyscall(pid) << " wchan=" << ProcWchan(pid);
  return s.str();
}

bool WaitUntilBlockedIn(pid_t pid, const std::vector<long>& syscalls) {
  bool gone = false;
  bool seen = WaitFor([&] {
    char state = ProcState(pid);
    if (state == 0 || state == 'Z') {
      gone = true;
      return true;
    }
    if (state != 'S') return false;
    long nr = ProcSyscall(pid);
    for (long s : syscalls) {
      if (s == nr) return true;
    }
    return false;
  });
  return seen && !gone;
}

std::vector<long> ReadSyscalls() { return {SYS_read, SYS_readv, SYS_pread64}; }
std::vector<long> WriteSyscalls() {
  return {SYS_write, SYS_writev, SYS_pwrite64};
}
std::vector<long> OpenSyscalls() { return {SYS_open, SYS_openat, SYS_openat2}; }
std::vector<long> PollSyscalls() {
  return {SYS_poll,       SYS_ppoll,       SYS_select,      SYS_pselect6,
          SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2};
}

// ------------------------------------------------------------ watchdog

// A thread, not alarm(): a test stuck in an uninterruptible FUSE wait (the
// daemon never answers, or the kernel holds an inode lock for another
// blocked call) cannot run a signal handler, but a second thread can still
// kill the daemon, which aborts the FUSE connection and releases it.
namespace {

std::mutex g_watchdog_mu;
std::condition_variable g_watchdog_cv;
bool g_watchdog_stop = false;  // guarded by g_watchdog_mu
std::thread g_watchdog;
std::atomic<bool> g_fired{false};

void WriteStderr(const char* s) { (void)!::write(2, s, std::strlen(s)); }

void KillEverything(pid_t daemon) {
  if (daemon > 0) kill(daemon, SIGKILL);
  KillAllChildrenFromSignalHandler();
}

void Watch(unsigned seconds, pid_t daemon, pthread_t main_thread) {
  std::unique_lock lock(g_watchdog_mu);
  auto stop = [] { return g_watchdog_stop; };
  if (g_watchdog_cv.wait_for(lock, std::chrono::seconds(seconds), stop)) {
    return;
  }
  g_fired = true;
  WriteStderr(
      "\n*** WATCHDOG: the test did not finish in time (hung). Killing lpcfs "
      "and every child process so blocked calls return; the test fails. "
      "***\n");
  // Keep waking the test's thread (EINTR) and killing late children for
  // 10 s; then give up on the process.
  for (int i = 0; i < 100; ++i) {
    KillEverything(daemon);
    pthread_kill(main_thread, SIGALRM);
    if (g_watchdog_cv.wait_for(lock, std::chrono::milliseconds(100), stop)) {
      return;
    }
  }
  WriteStderr("\n*** WATCHDOG: still hung 10 s later: exiting. ***\n");
  KillEverything(daemon);
  _exit(124);
}

}  // namespace

void ArmWatchdog(unsigned seconds, pid_t daemon_pid) {
  DisarmWatchdog();
  // The watchdog's SIGALRM only makes the test's blocked calls return EINTR.
  CatchWithoutRestart(SIGALRM);
  g_fired = false;
  {
    std::lock_guard lock(g_watchdog_mu);
    g_watchdog_stop = false;
  }
  g_watchdog = std::thread(Watch, seconds, daemon_pid, pthread_self());
}

void DisarmWatchdog() {
  {
    std::lock_guard lock(g_watchdog_mu);
    g_watchdog_stop = true;
  }
  g_watchdog_cv.notify_all();
  if (g_watchdog.joinable()) g_watchdog.join();
}

bool WatchdogFired() { return g_fired; }

}  // namespace lpctest
