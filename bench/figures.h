// The measurements. Each runs a server process and a client process
// (fork), lets the client warm up, then returns the client's per-iteration
// times in nanoseconds.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lpcbench {

struct Config {
  size_t iterations = 20000;  // timed round trips per transport
  size_t warmup = 2000;       // untimed round trips before them
  size_t connect_iterations = 5000;
  size_t connect_warmup = 500;
  size_t message_size = 64;           // bytes per request and per reply
  std::chrono::seconds timeout{120};  // per figure
  std::string mount;                  // lpcfs mount directory
  int client_cpu = -1;                // pin the client process (-1: no)
  int server_cpu = -1;                // pin the server process (-1: no)
};

// Thrown when a transport is not available on this machine (e.g. no POSIX
// message queues in the kernel): the figure is skipped, not failed.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Round trip: the client writes message_size bytes, the server echoes them
// back, the client reads them. One sample per round trip.
std::vector<uint64_t> RttUnixSeqpacket(const Config& cfg);
std::vector<uint64_t> RttPipe(const Config& cfg);
std::vector<uint64_t> RttMqueue(const Config& cfg);
// Client: write()+read() on its communication port. Server: reads
// LPC_REC_MESSAGE records from the server handle, writes LPC_REC_REPLY.
std::vector<uint64_t> RttLpcfs(const Config& cfg);
// As RttLpcfs, but the server opens .conn/ID and echoes with plain
// read()/write() on it (the bound server communication port).
std::vector<uint64_t> RttLpcfsBound(const Config& cfg);

// The floor of any lpcfs call: one FUSE request the daemon answers at once
// (statfs of the mount), in a client process of its own. Two context
// switches per sample, like a socket round trip.
std::vector<uint64_t> FuseRequestStatfs(const Config& cfg);

struct ConnectSamples {
  // open/connect, close, and the server has seen the end of the connection
  // (it tells the client through a pipe, the same for both transports).
  std::vector<uint64_t> cycle;
  // The open()/connect() call alone.
  std::vector<uint64_t> call;
  // The close() call alone.
  std::vector<uint64_t> close;
};

// lpcfs: client open(port) -> server reads CONNECT, writes ACCEPT -> open
// returns -> client close() -> server reads DISCONNECT. With auto_accept the
// port accepts by itself (LPC_PORT_AUTO_ACCEPT): open() does not wait for
// the server, which still reads CONNECT and DISCONNECT.
ConnectSamples ConnectLpcfs(const Config& cfg, bool auto_accept);
// Unix SOCK_SEQPACKET: client socket()+connect() -> server accept() ->
// client close() -> server read() returns 0, close().
ConnectSamples ConnectUnixSeqpacket(const Config& cfg);

}  // namespace lpcbench
