// Helpers for the lpcfs integration tests: child processes, waiting without
// timing, the record protocol of a server handle (include/lpc.h) and plain
// messages on communication ports. No gtest assertions in here except where
// a function says so: results come back as values and errno numbers, so the
// same helpers work in forked children (which must not use gtest).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lpc.h"

namespace lpctest {

// ------------------------------------------------------------ errno

// "ENOTCONN" for ENOTCONN, "OK" for 0: readable test failures.
std::string ErrName(int err);

// Compare errno results by name, so a failure prints "EPIPE" vs "ENOTCONN".
#define EXPECT_ERR(expected, expr)                                  \
  EXPECT_EQ(::lpctest::ErrName(expected), ::lpctest::ErrName(expr)) \
      << "from: " #expr
#define ASSERT_ERR(expected, expr)                                  \
  ASSERT_EQ(::lpctest::ErrName(expected), ::lpctest::ErrName(expr)) \
      << "from: " #expr
#define EXPECT_OK(expr) EXPECT_ERR(0, expr)
#define ASSERT_OK(expr) ASSERT_ERR(0, expr)

// ------------------------------------------------------------ files

// Owns a file descriptor; closes it when destroyed.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// open(2) that keeps the errno: `err` is 0 on success.
struct Opened {
  UniqueFd fd;
  int err = 0;
};
Opened Open(const std::string& path, int flags, mode_t mode = 0);

// Sets or clears O_NONBLOCK with fcntl(F_SETFL). Returns 0 or errno.
int SetNonblocking(int fd, bool on);

// poll() of one fd with the given timeout; returns revents (0 if not ready)
// or -errno.
int PollOnce(int fd, short events, int timeout_ms);

// ------------------------------------------------------------ records

struct Record {
  lpc_record h{};
  std::string payload;
};

// Reads one record from a server handle. Returns 0 or errno.
int ReadRecord(int fd, Record* out, size_t buffer_size = LPC_RECORD_MAX);

// Writes `header` (length set from payload unless keep_length) and payload
// as one write(). Returns 0 or errno.
int WriteRawRecord(int fd, lpc_record header, std::string_view payload,
                   bool keep_length = false);

// One server command; fields the type does not use stay zero.
int Command(int fd, uint32_t type, uint64_t conn, uint64_t msg_id = 0,
            std::string_view payload = {}, uint32_t flags = 0,
            int32_t status = 0);
inline int Accept(int fd, uint64_t conn) {
  return Command(fd, LPC_REC_ACCEPT, conn);
}
inline int Reject(int fd, uint64_t conn, int32_t status = 0) {
  return Command(fd, LPC_REC_REJECT, conn, 0, {}, 0, status);
}
inline int Send(int fd, uint64_t conn, std::string_view payload) {
  return Command(fd, LPC_REC_SEND, conn, 0, payload);
}
inline int Reply(int fd, uint64_t conn, uint64_t msg_id,
                 std::string_view payload) {
  return Command(fd, LPC_REC_REPLY, conn, msg_id, payload);
}
inline int Disconnect(int fd, uint64_t conn) {
  return Command(fd, LPC_REC_DISCONNECT, conn);
}
inline int SetPortOptions(int fd, uint32_t flags) {
  return Command(fd, LPC_REC_PORT_OPTIONS, 0, 0, {}, flags);
}
// LPC_REC_PORT_OPTIONS with a struct lpc_port_limits payload.
inline int SetPortLimits(int fd, uint32_t max_message, uint32_t flags = 0) {
  lpc_port_limits limits{max_message, 0};
  return Command(fd, LPC_REC_PORT_OPTIONS, 0, 0,
                 {reinterpret_cast<const char*>(&limits), sizeof limits},
                 flags);
}

// The payload of a CONNECT record, decoded. ok is false if its size does not
// match lpc_connect_info + ngroups * 4 + lpc_connect_process (protocol 2).
struct ConnectInfo {
  bool ok = false;
  lpc_connect_info info{};
  std::vector<uint32_t> groups;
  lpc_connect_process process{};
};
ConnectInfo DecodeConnectInfo(const std::string& payload);

const char* RecordTypeName(uint32_t type);
std::string Describe(const Record& r);

// ------------------------------------------------------------ messages

// One write() of `msg`. Returns 0, or errno; a short write is EIO.
int WriteMsg(int fd, std::string_view msg);
// One read() of at most `size` bytes into *out (empty at EOF). 0 or errno.
int ReadMsg(int fd, std::string* out, size_t size = 4096);

// ------------------------------------------------------------ processes

// Exit code of a child whose CHILD_CHECK failed. Children otherwise return
// 0 for success or an errno value they were asked to report.
constexpr int kChildCheckFailed = 250;

// Runs fn in a forked child and returns its pid. The child gets SIGKILL if
// the test process dies (PR_SET_PDEATHSIG) and exits with fn's result.
// Children are tracked: the watchdog and the fixture's TearDown kill and
// reap those still running.
pid_t Spawn(std::function<int()> fn);

// Waits for a child from Spawn. Returns its exit code, 128 + signal if it
// was killed, or -1 if waitpid failed (for example, the watchdog fired).
int WaitExit(pid_t pid);

// Kills (SIGKILL) and reaps every tracked child still running.
void KillAllChildren();

// For the watchdog: SIGKILL every tracked child (no locks, no allocation).
void KillAllChildrenFromSignalHandler();

// Inside a child: on failure print where and why, and exit.
#define CHILD_CHECK(cond)                                                    \
  do {                                                                       \
    if (!(cond)) ::lpctest::ChildCheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define CHILD_CHECK_ERR(expected, expr)                                      \
  do {                                                                       \
    int lpct_err_ = (expr);                                                  \
    if (lpct_err_ != (expected))                                             \
      ::lpctest::ChildCheckFailed(__FILE__, __LINE__, #expr,                 \
                                  ("got " + ::lpctest::ErrName(lpct_err_) +  \
                                   ", want " + ::lpctest::ErrName(expected)) \
                                      .c_str());                             \
  } while (0)
[[noreturn]] void ChildCheckFailed(const char* file, int line, const char* what,
                                   const char* detail);

// Inside a child: closes every inherited fd from 3 up except `keep`, so a
// copy of a handle the test closes later cannot keep a port or connection
// alive.
void CloseOtherFds(std::vector<int> keep);

// Runs in a forked child as `uid`/`gid` with the given supplementary groups
// (setgroups, setgid, setuid). Returns 0 or errno.
int BecomeUser(uid_t uid, gid_t gid, const std::vector<gid_t>& groups = {});

// Catches `sig` with `handler` (by default one that does nothing), installed
// without SA_RESTART: a call blocked when the signal arrives returns EINTR
// instead of being restarted, which is how the tests interrupt a waiting
// call. For the test process or a child.
void CatchWithoutRestart(int sig, void (*handler)(int) = nullptr);

// A one-shot signal between processes: Open() in one, Wait() in another.
class Gate {
 public:
  Gate();
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void Open();
  // False if the pipe broke or the wait was interrupted (watchdog).
  bool Wait();

 private:
  int fds_[2];
};

// Sends an fd to another process over a socketpair (SCM_RIGHTS).
class FdChannel {
 public:
  FdChannel();
  ~FdChannel();
  FdChannel(const FdChannel&) = delete;
  FdChannel& operator=(const FdChannel&) = delete;
  bool SendFd(int fd);
  UniqueFd ReceiveFd();

 private:
  int fds_[2];
};

// ------------------------------------------------------------ waiting

// Polls cond (every millisecond) until it holds. No time limit of its own:
// the per-test watchdog bounds it. False if the watchdog fired first.
bool WaitFor(const std::function<bool()>& cond);

// Process state letter from /proc/PID/stat ('S', 'D', 'R', 'Z'...), or 0.
char ProcState(pid_t pid);
// The syscall a blocked process is in (first field of /proc/PID/syscall),
// -1 if not in one, -2 if running or unreadable.
long ProcSyscall(pid_t pid);
// /proc/PID/wchan, for diagnostics.
std::string ProcWchan(pid_t pid);
std::string DescribeProc(pid_t pid);

// Waits until `pid` is seen sleeping (state S) inside one of `syscalls`,
// that is, blocked there. False if the watchdog fired or pid exited.
bool WaitUntilBlockedIn(pid_t pid, const std::vector<long>& syscalls);

// Syscall sets for WaitUntilBlockedIn.
std::vector<long> ReadSyscalls();
std::vector<long> WriteSyscalls();
std::vector<long> OpenSyscalls();
std::vector<long> PollSyscalls();

// ------------------------------------------------------------ watchdog

// Arms the per-test watchdog (a thread): after `seconds`, it reports the
// hang, kills the daemon (`daemon_pid`, aborting the FUSE connection so
// every blocked call returns) and all tracked children, interrupts the
// test's thread (SIGALRM, no SA_RESTART), and exits the process if the test
// still has not finished 10 seconds later. Arming again replaces it.
void ArmWatchdog(unsigned seconds, pid_t daemon_pid);
void DisarmWatchdog();
bool WatchdogFired();

}  // namespace lpctest
