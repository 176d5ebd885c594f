#include "mount_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#ifndef LPCFS_BINARY
#error "LPCFS_BINARY must name the lpcfs daemon (tests/integration/CMakeLists)"
#endif

namespace lpctest {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

bool g_private_ns = false;
std::string g_ns_problem;

bool IsFuseMount(const std::string& dir) {
  struct statfs st {};
  return ::statfs(dir.c_str(), &st) == 0 && st.f_type == kFuseSuperMagic;
}

std::string DescribeWaitStatus(int status) {
  std::ostringstream s;
  if (WIFEXITED(status)) {
    s << "exited with status " << WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s << "killed by signal " << WTERMSIG(status) << " ("
      << strsignal(WTERMSIG(status)) << ")";
  } else {
    s << "wait status " << status;
  }
  return s.str();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

bool InPrivateMountNamespace() { return g_private_ns; }

const char* DaemonBinary() {
  const char* env = std::getenv("LPCFS_TEST_DAEMON");
  return env && *env ? env : LPCFS_BINARY;
}

void MountTest::SetUp() {
  if (!g_private_ns) {
    GTEST_SKIP() << "lpcfs integration tests need root (to mount FUSE in a "
                    "private mount namespace): "
                 << g_ns_problem;
  }
  char dir[] = "/tmp/lpcfs-it.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr) << strerror(errno);
  mnt_ = dir;
  log_ = mnt_ + ".log";

  std::string options = DaemonOptions();
  std::fflush(nullptr);
  daemon_ = fork();
  ASSERT_GE(daemon_, 0) << strerror(errno);
  if (daemon_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    std::vector<const char*> argv = {"lpcfs", "-f"};
    if (!options.empty()) {
      argv.push_back("-o");
      argv.push_back(options.c_str());
    }
    argv.push_back(mnt_.c_str());
    argv.push_back(nullptr);
    execv(DaemonBinary(), const_cast<char* const*>(argv.data()));
    std::perror("execv lpcfs");
    _exit(127);
  }
  // The watchdog covers the rest, mounting included.
  ArmWatchdog(WatchdogSeconds(), daemon_);

  bool exited = false;
  ASSERT_TRUE(WaitFor([&] {
                if (IsFuseMount(mnt_)) return true;
                int status;
                if (waitpid(daemon_, &status, WNOHANG) == daemon_) {
                  exited = true;
                  ADD_FAILURE() << "lpcfs " << DescribeWaitStatus(status)
                                << " before mounting; log:\n"
                                << ReadFile(log_);
                  daemon_ = -1;
                  return true;
                }
                return false;
              }) &&
              !exited)
      << "lpcfs did not mount " << mnt_;
}

std::string MountTest::DaemonLog() const { return ReadFile(log_); }

std::string MountTest::WaitForLogLine(const std::vector<std::string>& parts) {
  std::string found;
  WaitFor([&] {
    std::string log = DaemonLog();
    size_t start = 0;
    while (start < log.size()) {
      size_t end = log.find('\n', start);
      if (end == std::string::npos) return false;  // a line still unwritten
      std::string line = log.substr(start, end - start);
      start = end + 1;
      bool all = true;
      for (const std::string& p : parts) {
        all = all && line.find(p) != std::string::npos;
      }
      if (all) {
        found = line;
        return true;
      }
    }
    return false;
  });
  if (found.empty()) {
    std::string wanted;
    for (const std::string& p : parts) wanted += " [" + p + "]";
    ADD_FAILURE() << "no log line with" << wanted << "; log:\n" << DaemonLog();
  }
  return found;
}

void MountTest::TearDown() {
  if (mnt_.empty()) return;  // skipped
  // Teardown gets its own, fresh time allowance.
  bool hung = WatchdogFired();
  ArmWatchdog(15, daemon_);
  if (hung) {
    ADD_FAILURE() << "the watchdog fired after " << WatchdogSeconds()
                  << " s: the test hung (the daemon and children were "
                     "killed to get here)";
  }

  // The daemon must have survived the test (daemon_ is -1 if the test
  // stopped it on purpose, through StopDaemon or WaitForDaemonExit).
  bool alive = false;
  if (daemon_ > 0) {
    int status = 0;
    pid_t r = waitpid(daemon_, &status, WNOHANG);
    alive = r == 0;
    if (!alive) {
      ADD_FAILURE() << "lpcfs is not alive at the end of the test: "
                    << (r == daemon_ ? DescribeWaitStatus(status)
                                     : std::string(strerror(errno)));
      if (r == daemon_) daemon_ = -1;
    }
  }
  if (alive && !hung) {
    // Still answering: the mount is there and .stats can be read.
    EXPECT_TRUE(IsFuseMount(mnt_)) << "mount " << mnt_ << " is gone";
    Opened stats = Open(P(LPC_STATS_FILE), O_RDONLY);
    EXPECT_OK(stats.err) << "lpcfs does not answer at the end of the test";
    char buf[256];
    if (stats.err == 0) {
      EXPECT_GE(::read(stats.fd.get(), buf, sizeof buf), 0) << strerror(errno);
    }
  }

  // Children first (they may be blocked in the daemon: killing them tests
  // that interrupts are answered), then the daemon.
  KillAllChildren();
  umount2(mnt_.c_str(), MNT_DETACH);
  if (daemon_ > 0) {
    kill(daemon_, SIGTERM);
    int status;
    bool reaped = false;
    for (int i = 0; i < 2000 && !reaped; ++i) {
      reaped = waitpid(daemon_, &status, WNOHANG) == daemon_;
      if (!reaped) usleep(1000);
    }
    if (!reaped) {
      kill(daemon_, SIGKILL);
      while (waitpid(daemon_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    daemon_ = -1;
  }
  rmdir(mnt_.c_str());
  if (HasFailure()) {
    std::string log = ReadFile(log_);
    if (!log.empty()) {
      std::fprintf(stderr, "--- lpcfs log ---\n%s", log.c_str());
    }
  }
  unlink(log_.c_str());
  DisarmWatchdog();
}

int MountTest::StopDaemon(int sig) {
  if (daemon_ <= 0) return -1;
  kill(daemon_, sig);
  return WaitForDaemonExit();
}

int MountTest::WaitForDaemonExit() {
  if (daemon_ <= 0) return -1;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(daemon_, &status, 0);
  } while (r < 0 && errno == EINTR && !WatchdogFired());
  if (r != daemon_) return -1;
  daemon_ = -1;
  ArmWatchdog(WatchdogSeconds(), -1);  // nothing left to kill but children
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool MountTest::Mounted() const { return IsFuseMount(mnt_); }

std::string MountTest::P(std::string_view name) const {
  return mnt_ + "/" + std::string(name);
}

std::string MountTest::ConnFile(uint64_t conn) const {
  return P(std::string(LPC_CONN_DIR) + "/" + std::to_string(conn));
}

UniqueFd MountTest::CreatePort(std::string_view name, mode_t mode) {
  Opened o = Open(P(name), O_CREAT | O_EXCL | O_RDWR, mode);
  EXPECT_OK(o.err) << "creating port " << name;
  return std::move(o.fd);
}

UniqueFd MountTest::CreateAutoAcceptPort(std::string_view name, mode_t mode) {
  UniqueFd fd = CreatePort(name, mode);
  if (fd.valid()) {
    EXPECT_OK(SetPortOptions(fd.get(), LPC_PORT_AUTO_ACCEPT));
  }
  return fd;
}

MountTest::ConnectedClient MountTest::ConnectAutoAccepted(
    std::string_view name) {
  ConnectedClient out;
  out.srv = CreateAutoAcceptPort(name);
  if (!out.srv.valid()) {
    ADD_FAILURE() << "creating port " << name;
    return out;
  }
  Opened client = Open(P(name), O_RDWR);
  if (client.err != 0) {
    ADD_FAILURE() << "connecting to " << name << ": " << ErrName(client.err);
    return out;
  }
  out.connect = Expect(out.srv.get(), LPC_REC_CONNECT);
  if (out.connect.h.type == LPC_REC_CONNECT) out.client = std::move(client.fd);
  return out;
}

Record MountTest::Next(int server_fd) {
  Record r;
  int err = ReadRecord(server_fd, &r);
  if (err != 0) {
    ADD_FAILURE() << "reading a record from the server handle: "
                  << ErrName(err);
    return Record{};
  }
  return r;
}

Record MountTest::Expect(int server_fd, uint32_t type, uint64_t conn) {
  Record r = Next(server_fd);
  EXPECT_EQ(RecordTypeName(type), std::string(RecordTypeName(r.h.type)))
      << "got " << Describe(r);
  if (conn) {
    EXPECT_EQ(conn, r.h.conn_id) << "got " << Describe(r);
  }
  return r;
}

std::string MountTest::StatsText() {
  Opened o = Open(P(LPC_STATS_FILE), O_RDONLY);
  EXPECT_OK(o.err) << "opening .stats";
  if (o.err) return {};
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(o.fd.get(), buf, sizeof buf);
    if (n < 0) {
      ADD_FAILURE() << "reading .stats: " << strerror(errno);
      break;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

std::string MountTest::ConnStatsLine(uint64_t conn) {
  std::string stats = StatsText();
  std::string prefix = "conn " + std::to_string(conn) + " ";
  for (size_t start = 0; start < stats.size();) {
    size_t end = stats.find('\n', start);
    if (end == std::string::npos) end = stats.size();
    if (stats.compare(start, prefix.size(), prefix) == 0) {
      return stats.substr(start, end - start);
    }
    start = end + 1;
  }
  return {};
}

bool MountTest::WaitForStats(const std::string& needle) {
  return WaitFor([&] { return StatsText().find(needle) != std::string::npos; });
}

bool MountTest::NoRecordQueued(int server_fd) {
  return PollOnce(server_fd, POLLIN, 0) == 0;
}

}  // namespace lpctest

// Sets up the private mount namespace once for the whole binary, so test
// mounts are invisible to the host and vanish with the process.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  umask(0);  // ports get exactly the modes the tests ask for
  if (geteuid() != 0) {
    lpctest::g_ns_problem = "not running as root";
  } else if (unshare(CLONE_NEWNS) != 0) {
    lpctest::g_ns_problem =
        std::string("unshare(CLONE_NEWNS): ") + strerror(errno);
  } else if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    lpctest::g_ns_problem =
        std::string("mount(/, MS_REC|MS_PRIVATE): ") + strerror(errno);
  } else {
    lpctest::g_private_ns = true;
  }
  return RUN_ALL_TESTS();
}
