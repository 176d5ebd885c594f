#include "process.h"

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace lpcbench {
namespace {

// Live children, for the interrupt handler (which may only read plain
// values). A slot is 0 when free.
constexpr int kMaxChildren = 16;
std::atomic<pid_t> g_children[kMaxChildren];
void (*g_cleanup)() = nullptr;

void Remember(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t free = 0;
    if (slot.compare_exchange_strong(free, pid)) return;
  }
}

void Forget(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    slot.compare_exchange_strong(expected, 0);
  }
}

void OnInterrupt(int) {
  for (auto& slot : g_children) {
    pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  if (g_cleanup != nullptr) g_cleanup();
  _exit(130);
}

int MillisecondsUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return int(std::clamp<int64_t>(left.count(), 0, 60'000));
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status))
    return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Reaps `c` if it has exited; returns whether it has.
bool TryReap(Child& c) {
  if (c.reaped) return true;
  int status;
  pid_t r = ::waitpid(c.pid, &status, WNOHANG);
  if (r == c.pid) {
    c.status = status;
    c.reaped = true;
    Forget(c.pid);
    c.pidfd.reset();
  }
  return c.reaped;
}

// SIGKILLs the children still running and waits a little for them. A
// process blocked in a FUSE request the daemon already took stays in D
// state until the daemon answers; it is left behind then (the parent's
// death signal and the daemon's teardown end it).
void KillRest(const std::vector<Child*>& children) {
  for (Child* c : children) {
    if (!TryReap(*c)) ::kill(c->pid, SIGKILL);
  }
  auto until = Clock::now() + std::chrono::seconds(2);
  for (Child* c : children) {
    while (!TryReap(*c) && Clock::now() < until) {
      pollfd p{c->pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, MillisecondsUntil(until));
    }
  }
}

}  // namespace

Child Spawn(std::string name, std::function<void()> body) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t parent = ::getpid();
  pid_t pid = Check(::fork(), "fork");
  if (pid == 0) {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lpc-bench: %s: %s\n", name.c_str(), e.what());
      code = 1;
    }
    std::fflush(stdout);
    _exit(code);
  }
  Remember(pid);
  Child c;
  c.name = std::move(name);
  c.pid = pid;
  c.pidfd = Fd(int(::syscall(SYS_pidfd_open, pid, 0)));
  if (!c.pidfd) ThrowErrno("pidfd_open");
  return c;
}

void WaitAll(std::vector<Child*> children, Clock::time_point deadline) {
  for (;;) {
    std::vector<pollfd> fds;
    for (Child* c : children) {
      if (TryReap(*c)) {
        if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0) {
          KillRest(children);
          throw std::runtime_error(c->name + " failed (" +
                                   DescribeStatus(c->status) + ")");
        }
        continue;
      }
      fds.push_back({c->pidfd.get(), POLLIN, 0});
    }
    if (fds.empty()) return;
    if (Clock::now() >= deadline) {
      std::string running;
      for (Child* c : children) {
        if (!c->reaped) running += " " + c->name;
      }
      KillRest(children);
      throw std::runtime_error("timed out waiting for" + running);
    }
    int r = ::poll(fds.data(), fds.size(), MillisecondsUntil(deadline));
    if (r < 0 && errno != EINTR) ThrowErrno("poll");
  }
}

void WaitToken(int fd, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, MillisecondsUntil(deadline));
    if (r < 0 && errno != EINTR) ThrowErrno("poll");
    if (r > 0) {
      ReceiveToken(fd);
      return;
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("timed out waiting for " + what);
    }
  }
}

SharedSamples::SharedSamples(size_t count) : count_(count) {
  size_t bytes = std::max<size_t>(count, 1) * sizeof(uint64_t);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) ThrowErrno("mmap samples");
  data_ = static_cast<uint64_t*>(p);
}

SharedSamples::~SharedSamples() {
  ::munmap(data_, std::max<size_t>(count_, 1) * sizeof(uint64_t));
}

void ReapLeftoverChildren() {
  auto until = Clock::now() + std::chrono::seconds(1);
  for (auto& slot : g_children) {
    pid_t pid = slot.load();
    if (pid <= 0) continue;
    while (::waitpid(pid, nullptr, WNOHANG) == 0 && Clock::now() < until) {
      ::usleep(10'000);
    }
    Forget(pid);
  }
}

void InstallInterruptCleanup(void (*cleanup)()) {
  g_cleanup = cleanup;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace lpcbench
