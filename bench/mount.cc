#include "mount.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "util.h"

namespace lpcbench {
namespace {

// What the interrupt handler needs, as plain data.
char g_dir[PATH_MAX];
char g_log[PATH_MAX + 8];
volatile pid_t g_daemon = -1;

// Whether something is mounted at `dir`, from /proc/self/mountinfo rather
// than statfs(): statfs on the mount is a FUSE request, and a hung daemon
// would hang the teardown meant to end it. (`dir` is a mkdtemp name, so it
// needs none of mountinfo's octal escapes.)
bool IsMounted(const std::string& dir) {
  std::FILE* f = std::fopen("/proc/self/mountinfo", "r");
  if (f == nullptr) return true;  // unknown: try to unmount anyway
  bool found = false;
  char line[4096];
  while (!found && std::fgets(line, sizeof line, f) != nullptr) {
    // Fields: id parent major:minor root mount-point ...
    char* save = nullptr;
    char* field = strtok_r(line, " ", &save);
    for (int i = 1; field != nullptr && i < 5; ++i) {
      field = strtok_r(nullptr, " ", &save);
    }
    found = field != nullptr && dir == field;
  }
  std::fclose(f);
  return found;
}

// Waits up to `timeout` for `pid` to exit; returns whether it did (and its
// status in *status).
bool WaitExit(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Fd pidfd(int(::syscall(SYS_pidfd_open, pid, 0)));
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (pidfd) {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, int(left.count()));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

// Runs `fusermount3 -u dir`, quietly, for at most five seconds.
void RunFusermountUnmount(const std::string& dir) {
  pid_t pid = ::fork();
  if (pid < 0) return;
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execlp("fusermount3", "fusermount3", "-u", dir.c_str(),
             static_cast<char*>(nullptr));
    _exit(127);
  }
  int status;
  if (!WaitExit(pid, std::chrono::seconds(5), &status)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
}

}  // namespace

std::string DefaultLpcfsPath() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "lpcfs";
  return (exe.parent_path() / ".." / "fs" / "lpcfs").lexically_normal();
}

void EnterPrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) != 0) {
    throw std::system_error(
        errno, std::generic_category(),
        "unshare(CLONE_NEWNS) (starting an own lpcfs needs root; or pass "
        "--mount DIR of a running lpcfs)");
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    ThrowErrno("make / private in the new mount namespace");
  }
}

OwnMount::OwnMount(const std::string& lpcfs,
                   const std::vector<std::string>& args,
                   std::chrono::seconds ready_timeout, int cpu) {
  if (::access(lpcfs.c_str(), X_OK) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "lpcfs binary " + lpcfs +
                                " (build target lpcfs, or pass --lpcfs PATH "
                                "or --mount DIR)");
  }
  char tmpl[] = "/tmp/lpc-bench.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) ThrowErrno("mkdtemp");
  dir_ = tmpl;
  log_ = dir_ + ".log";
  std::snprintf(g_dir, sizeof g_dir, "%s", dir_.c_str());
  std::snprintf(g_log, sizeof g_log, "%s", log_.c_str());

  try {
    Fd log(
        ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!log) ThrowErrno("create " + log_);

    std::vector<std::string> argv_strings{lpcfs, "-f"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    argv_strings.push_back(dir_);
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    std::fflush(stdout);
    std::fflush(stderr);
    pid_t parent = ::getpid();
    daemon_ = Check(::fork(), "fork lpcfs");
    if (daemon_ == 0) {
      // Own process group: a terminal's Ctrl-C reaches only lpc-bench,
      // which then unmounts in order. PDEATHSIG covers a killed lpc-bench;
      // SIGKILL, because a daemon stuck in a handler may ignore SIGTERM,
      // and the mount is private to our namespace, so nothing is lost.
      ::setpgid(0, 0);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGHUP, SIG_DFL);
      ::signal(SIGPIPE, SIG_DFL);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) _exit(1);
      if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        ::sched_setaffinity(0, sizeof set, &set);
      }
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::dup2(log.get(), 1);
      ::dup2(log.get(), 2);
      ::execv(argv[0], argv.data());
      std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
      _exit(127);
    }
    g_daemon = daemon_;

    auto deadline = std::chrono::steady_clock::now() + ready_timeout;
    for (;;) {
      struct statfs st;
      if (::statfs(dir_.c_str(), &st) == 0 && st.f_type == kFuseSuperMagic) {
        break;
      }
      if (!DaemonAlive()) {
        throw std::runtime_error("lpcfs exited before mounting");
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw std::runtime_error("lpcfs did not mount " + dir_ + " in " +
                                 std::to_string(ready_timeout.count()) + " s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (...) {
    // Teardown() prints the log itself if the daemon died.
    if (DaemonAlive()) PrintLog("lpcfs did not mount");
    Teardown();
    throw;
  }
}

bool OwnMount::DaemonAlive() {
  if (daemon_ <= 0 || daemon_reaped_) return false;
  int status;
  if (::waitpid(daemon_, &status, WNOHANG) == daemon_) {
    daemon_reaped_ = true;
    daemon_status_ = status;
    g_daemon = -1;
    return false;
  }
  return true;
}

void OwnMount::PrintLog(const char* why) noexcept {
  std::FILE* f = std::fopen(log_.c_str(), "r");
  if (f == nullptr) return;
  std::fprintf(stderr, "lpc-bench: %s; lpcfs log (%s):\n", why, log_.c_str());
  char line[1024];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::fputs(line, stderr);
  }
  std::fclose(f);
}

void OwnMount::Teardown() noexcept {
  if (torn_down_ || dir_.empty()) return;
  torn_down_ = true;

  bool died_early = daemon_ > 0 && !DaemonAlive();
  if (IsMounted(dir_)) {
    RunFusermountUnmount(dir_);
    if (IsMounted(dir_)) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  if (daemon_ > 0 && !daemon_reaped_) {
    int status = 0;
    // Unmounting ends the daemon's session loop; give it a moment first.
    if (!WaitExit(daemon_, std::chrono::seconds(2), &status)) {
      ::kill(daemon_, SIGTERM);
      if (!WaitExit(daemon_, std::chrono::seconds(2), &status)) {
        ::kill(daemon_, SIGKILL);
        ::waitpid(daemon_, &status, 0);
      }
    }
    daemon_reaped_ = true;
    daemon_status_ = status;
  }
  g_daemon = -1;
  if (died_early) {
    if (WIFSIGNALED(daemon_status_)) {
      std::fprintf(stderr, "lpc-bench: lpcfs died during the run (%s)\n",
                   strsignal(WTERMSIG(daemon_status_)));
    }
    PrintLog("lpcfs exited during the run");
  }
  ::rmdir(dir_.c_str());
  ::unlink(log_.c_str());
  g_dir[0] = '\0';
  g_log[0] = '\0';
}

void OwnMount::EmergencyTeardown() {
  if (g_dir[0] != '\0') ::umount2(g_dir, MNT_DETACH);
  pid_t d = g_daemon;
  if (d > 0) ::kill(d, SIGKILL);
  if (g_dir[0] != '\0') ::rmdir(g_dir);
  if (g_log[0] != '\0') ::unlink(g_log);
}

}  // namespace lpcbench
