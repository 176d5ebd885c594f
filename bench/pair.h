// Process choreography shared by the figures: a server and a client
// process per measurement, sync pipes, and message I/O that throws.
#pragma once

#include <lpc.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "figures.h"
#include "process.h"
#include "util.h"

namespace lpcbench {

struct Pipe {
  Fd read_end, write_end;
};

Pipe MakePipe();

// Pins the calling process (or thread) to `cpu`, unless it is -1.
void PinTo(int cpu);

// Forks the server, waits for its ready token, forks the client, runs
// `close_in_parent` (the parent's copies of the transport must go, or no
// side ever sees EOF), and waits for both.
void RunPair(const Config& cfg, const std::string& what,
             const std::function<void(int ready_fd)>& server,
             const std::function<void()>& client,
             const std::function<void()>& close_in_parent);

// One write() that must take all n bytes.
void WriteMessage(int fd, const char* buf, size_t n, const char* what);

// One read(); returns the byte count (0 = peer gone).
size_t ReadMessage(int fd, char* buf, size_t cap, const char* what);

// Reads exactly n bytes from a byte stream (a pipe); false on EOF before
// the first byte.
bool ReadExact(int fd, char* buf, size_t n, const char* what);

// The client's timed loop. `exchange(msg, n, reply, cap)` sends one
// request and returns the size of the reply it read; the reply must echo
// the request.
template <class Exchange>
void ClientLoop(const Config& cfg, SharedSamples& out, Exchange exchange) {
  std::vector<char> msg(cfg.message_size, 'm');
  std::vector<char> reply(LPC_MAX_MESSAGE + 1);
  size_t total = cfg.warmup + cfg.iterations;
  for (size_t i = 0; i < total; ++i) {
    msg[0] = char(i);
    uint64_t t0 = NowNs();
    size_t got = exchange(msg.data(), msg.size(), reply.data(), reply.size());
    uint64_t t1 = NowNs();
    if (got != msg.size() || reply[0] != msg[0]) {
      throw std::runtime_error("round trip " + std::to_string(i) +
                               ": reply of " + std::to_string(got) +
                               " bytes does not echo the request");
    }
    if (i >= cfg.warmup) out.data()[i - cfg.warmup] = t1 - t0;
  }
}
}  // namespace lpcbench
