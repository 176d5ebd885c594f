// The measurements. Each runs a server process and a client process
// (fork), lets the client warm up, then returns the client's per-iteration
// times in nanoseconds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
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
  size_t clients = 256;               // concurrent client threads (conc256)
  std::chrono::milliseconds load_duration{1000};  // conc256, per transport
  size_t oneway_messages = 40000;   // one-way messages per transport
  size_t batch = 32;                // messages per LPC_IOC_TRANSFER batch
  size_t idle_connections = 10000;  // idle10k
  pid_t daemon_pid = -1;            // the lpcfs process, if known
  // Large-message round trips: timed milliseconds per row and round (the
  // count of round trips follows from it, as it varies 100x with size).
  std::chrono::milliseconds large_duration{300};
  size_t window_mib = 64;    // window-read: the client's buffer
  size_t window_passes = 4;  // window-read: reads of all of it
  // 64 MiB hand-offs timed per transport and round.
  size_t handoff_iterations = 10;
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

// ---------------------------------------------------------------------------
// The ioctl fast path (issue 7; include/lpc.h, lpc.7 "IOCTLS").

// Round trip with LPC_IOC_CALL: the client calls, the server answers with
// LPC_IOC_TRANSFER on its server handle (the reply to the previous message
// and the wait for the next in one ioctl: reply-and-receive).
std::vector<uint64_t> RttLpcfsCall(const Config& cfg);

// Events counted over a time.
struct Throughput {
  uint64_t events = 0;
  uint64_t elapsed_ns = 0;
};

// One-way messages of message_size bytes, oneway_messages of them, from
// the client's first send to the server's receiving the last.
// Unix SOCK_SEQPACKET socketpair: one message per send() and recv().
Throughput OnewayUnixSeqpacket(const Config& cfg);
// lpcfs, one message per write() on the client port and per read() of a
// record from the server handle.
Throughput OnewayLpcfsPlain(const Config& cfg);
// lpcfs, `batch` messages per LPC_IOC_TRANSFER (LPC_TRANSFER_NO_RECEIVE)
// on the client port, polling for POLLOUT when the queue is full; the
// server receives as many records per LPC_IOC_TRANSFER on its server
// handle as fit 16 KiB.
Throughput OnewayLpcfsBatch(const Config& cfg);
// The same, but the server reads as many records per read() of its server
// handle as 64 KiB hold (LPC_PORT_READ_BATCHES).
Throughput OnewayLpcfsBatchRead(const Config& cfg);
// The same, but the server opens .conn/ID (binding the connection) and
// receives MESSAGE records with LPC_IOC_TRANSFER on it.
Throughput OnewayLpcfsBatchBound(const Config& cfg);

// `clients` threads in one client process, each with a connection of its
// own, call in a loop for load_duration: latency of every call and the
// calls completed.
struct LoadSamples {
  std::vector<uint64_t> latencies;
  Throughput throughput;
};
// Unix SOCK_SEQPACKET socketpairs, one epoll server thread echoing.
LoadSamples LoadUnixSeqpacket(const Config& cfg);
// LPC_IOC_CALL on an auto-accepting port; two server threads in
// reply-and-receive LPC_IOC_TRANSFER on one server handle.
LoadSamples LoadLpcfsCall(const Config& cfg);

// The daemon's resident memory (VmRSS of cfg.daemon_pid) before and after
// a client opened idle_connections connections to an auto-accepting port
// whose server read their CONNECT records.
struct IdleFootprint {
  size_t connections = 0;
  double rss_before_kib = 0;
  double rss_after_kib = 0;
};
IdleFootprint IdleLpcfsConnections(const Config& cfg);

// ---------------------------------------------------------------------------
// Large messages (issue 8): round trips of `size` bytes each way.

// The largest size the large rows measure: 1000 KiB, the largest round
// number of KiB under LPC_MAX_MESSAGE_LIMIT (1016 KiB), which is what one
// FUSE request carries with a record header from any buffer.
constexpr size_t kLargeMaxSize = 1000 * 1024;

// Each runs for cfg.large_duration after a tenth of it as warm-up; before
// that one checked round trip: the server compares every byte of the
// request with the pattern the client sent and answers with another
// pattern, which the client compares too. The timed ones are echoes whose
// length and first, middle and last bytes the client checks.
//
// lpcfs: the client write()s the message to its port and read()s the
// reply; the server, whose port allows exactly `size`-byte messages
// (lpc_port_limits), read()s each LPC_REC_MESSAGE record from its server
// handle into a buffer of sizeof(lpc_record) + size and write()s the
// LPC_REC_REPLY record from the same buffer.
std::vector<uint64_t> RttLargeLpcfs(const Config& cfg, size_t size);
// Unix SOCK_SEQPACKET socketpair: one send() and one recv() each way, with
// SO_SNDBUF raised so that one datagram holds the message (Unavailable if
// net.core.wmem_max and the lack of CAP_NET_ADMIN forbid it).
std::vector<uint64_t> RttLargeSeqpacket(const Config& cfg, size_t size);
// Unix SOCK_STREAM socketpair at its default buffer sizes: write() and
// read() in loops until all `size` bytes are through, each way.
std::vector<uint64_t> RttLargeStream(const Config& cfg, size_t size);

// ---------------------------------------------------------------------------
// Memory windows (issue 8; lpc.7 "MEMORY WINDOWS"). A client calls with a
// buffer of window_mib MiB; the server reads all of it window_passes
// times, 1 MiB at a time, and then replies. Events are MiB read.

// pread() of /lpc/.windows/ID (the daemon needs -o memory_windows).
Throughput WindowRead(const Config& cfg);
// process_vm_readv(2) of the client by the server itself, the address
// sent in the message: what the daemon does for each pread, without the
// FUSE request around it.
Throughput ProcessVmReadv(const Config& cfg);
// The 64 MiB hand-off (issue 8): from a client that has the data in memory
// to a server that has it in memory it can read, and the server's answer.
// cfg.handoff_iterations timed hand-offs per round, after one checked one.

// lpcfs: the client's data is in a section it filled (and wrote back, with
// msync, before the clock starts); one LPC_IOC_CALL carries a view of it;
// the server opens /lpc/.views/ID, maps the range (MAP_POPULATE too when
// `populate`: every page table entry made before it answers), checks a
// few pages' stamps, unmaps and replies.
std::vector<uint64_t> HandoffView(const Config& cfg, bool populate);
// Unix SOCK_STREAM socketpair: the client writes 64 MiB, the server reads
// them into its own buffer and answers one byte.
std::vector<uint64_t> HandoffUnixStream(const Config& cfg);
// One memcpy() of 64 MiB between two buffers whose pages are all mapped.
std::vector<uint64_t> Memcpy64MiB(const Config& cfg);

}  // namespace lpcbench
