#include "pair.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace lpcbench {

Pipe MakePipe() {
  int p[2];
  Check(::pipe2(p, O_CLOEXEC), "pipe");
  return {Fd(p[0]), Fd(p[1])};
}

void PinTo(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  Check(::sched_setaffinity(0, sizeof set, &set),
        "pin to CPU " + std::to_string(cpu));
}

void RunPair(const Config& cfg, const std::string& what,
             const std::function<void(int ready_fd)>& server,
             const std::function<void()>& client,
             const std::function<void()>& close_in_parent) {
  auto deadline = Clock::now() + cfg.timeout;
  Pipe ready = MakePipe();
  Fd &ready_r = ready.read_end, &ready_w = ready.write_end;

  Child s = Spawn(what + " server", [&] {
    ready_r.reset();
    PinTo(cfg.server_cpu);
    server(ready_w.get());
  });
  ready_w.reset();
  try {
    WaitToken(ready_r.get(), deadline, what + " server to start");
  } catch (...) {
    // Prefer the server's own failure over "pipe closed".
    WaitAll({&s}, Clock::now() + std::chrono::seconds(1));
    throw;
  }
  Child c = Spawn(what + " client", [&] {
    PinTo(cfg.client_cpu);
    client();
  });
  close_in_parent();
  WaitAll({&c, &s}, deadline);
}

void WriteMessage(int fd, const char* buf, size_t n, const char* what) {
  ssize_t w = ::write(fd, buf, n);
  if (w < 0) ThrowErrno(what);
  if (size_t(w) != n)
    throw std::runtime_error(std::string(what) + ": short write");
}

size_t ReadMessage(int fd, char* buf, size_t cap, const char* what) {
  ssize_t r = ::read(fd, buf, cap);
  if (r < 0) ThrowErrno(what);
  return size_t(r);
}

bool ReadExact(int fd, char* buf, size_t n, const char* what) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0) ThrowErrno(what);
    if (r == 0) {
      if (got == 0) return false;
      throw std::runtime_error(std::string(what) + ": EOF inside a message");
    }
    got += size_t(r);
  }
  return true;
}

}  // namespace lpcbench
