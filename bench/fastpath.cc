// The figures of the ioctl fast path (issue 7): LPC_IOC_CALL round trips,
// batched one-way messages, many concurrent callers and the daemon's
// memory per idle connection, each next to its Unix-socket peer.

#include <fcntl.h>
#include <lpc.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "figures.h"
#include "pair.h"
#include "process.h"
#include "records.h"
#include "util.h"

namespace lpcbench {
namespace {

// Buffer of a client's LPC_IOC_CALL: the transfer header, then room for
// the largest reply record.
constexpr size_t kCallBuffer =
    sizeof(lpc_transfer) + LPC_RECORD_SPACE(LPC_MAX_MESSAGE);
// The most a server receives per LPC_IOC_TRANSFER: the largest multiple of
// 8 the command's 14-bit size field allows.
constexpr size_t kBigTransfer = LPC_IOCTL_MAX & ~size_t(7);
// The buffer of a server's batch read() (LPC_PORT_READ_BATCHES). The
// kernel pins every page of a direct read's buffer before asking the
// daemon, so a larger one costs on every read, full or not.
constexpr size_t kBatchRead = 64 * 1024;
// How long a server thread waits in one TRANSFER before it looks whether
// the measurement is over (another thread may have seen the last
// DISCONNECT).
constexpr uint32_t kServerPollMs = 200;

[[noreturn]] void ThrowErrnoValue(int err, const std::string& what) {
  errno = err;
  ThrowErrno(what);
}

// ---------------------------------------------------------------------------
// Client side of LPC_IOC_CALL.

// One call: sends `n` bytes, returns the reply's length (copied to reply).
size_t CallOnce(int fd, TransferBuffer& b, const char* msg, size_t n,
                char* reply, size_t cap) {
  b.Reset();
  b.Append(LPC_REC_MESSAGE, 0, 0, msg, n);
  if (int err = b.Call(fd)) ThrowErrnoValue(err, "LPC_IOC_CALL");
  const lpc_transfer& t = b.header();
  if (t.sent != 1 || t.received != 1) {
    throw std::runtime_error(
        "LPC_IOC_CALL returned sent=" + std::to_string(t.sent) +
        " received=" + std::to_string(t.received));
  }
  Record r = b.Received().at(0);
  if (r.header.type != LPC_REC_REPLY || r.header.msg_id != t.first_msg_id) {
    throw std::runtime_error(std::string("LPC_IOC_CALL answered with ") +
                             RecordName(r.header.type) + " for msg " +
                             std::to_string(r.header.msg_id) + ", not REPLY " +
                             std::to_string(t.first_msg_id));
  }
  size_t len = std::min<size_t>(r.header.length, cap);
  std::memcpy(reply, r.payload, len);
  return r.header.length;
}

Fd OpenPort(const std::string& path, int extra_flags = 0) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | extra_flags));
  if (!fd) ThrowErrno("connect to " + path);
  return fd;
}

// ---------------------------------------------------------------------------
// Server side: reply-and-receive with LPC_IOC_TRANSFER on a server handle.

// Answers every call on one server handle by echoing it, from `threads`
// threads (each runs Serve()), until `connections` connections ended.
// Each TRANSFER sends the answers to what the previous one received and
// waits for more. Two buffers take turns: the records one received are
// answered into the other, since an ioctl's output overwrites its input.
class EchoCallServer {
 public:
  EchoCallServer(int handle, size_t threads, size_t connections, size_t buffer)
      : handle_(handle),
        connections_(connections),
        buffer_(buffer),
        // One thread sees every DISCONNECT itself and need not look up.
        poll_ms_(threads > 1 ? kServerPollMs : 0) {}

  // Serves until every connection ended or another thread failed; throws
  // what went wrong.
  void Serve() {
    try {
      ServeUntilDone();
    } catch (...) {
      failed_.store(true);  // the other threads stop within kServerPollMs
      throw;
    }
  }

 private:
  void ServeUntilDone() {
    TransferBuffer a(buffer_), b(buffer_);
    TransferBuffer *cur = &a, *next = &b;
    cur->Reset(0, poll_ms_);
    while (!Finished()) {
      if (int err = cur->Transfer(handle_)) {
        if (err == ETIMEDOUT || err == EINTR) continue;  // nothing was sent
        if (err == EMSGSIZE) {
          // A record larger than the buffer (a CONNECT with many groups):
          // read() it, and answer it with what `cur` still has to send
          // (a failed ioctl sent nothing and left the buffer as it was).
          char big[LPC_RECORD_MAX];
          Answer(ReadRecord(handle_, big), *cur);
          continue;
        }
        ThrowErrnoValue(err, "server LPC_IOC_TRANSFER");
      }
      const lpc_transfer& t = cur->header();
      if (t.sent != cur->to_send()) {
        ThrowErrnoValue(t.send_error, "server LPC_IOC_TRANSFER record " +
                                          std::to_string(t.sent) + " of " +
                                          std::to_string(cur->to_send()));
      }
      next->Reset(0, poll_ms_);
      for (const Record& r : cur->Received()) Answer(r, *next);
      std::swap(cur, next);
    }
  }

  bool Finished() const {
    return failed_.load() || ended_.load() >= connections_;
  }

  void Answer(const Record& r, TransferBuffer& out) {
    bool fits = true;
    switch (r.header.type) {
      case LPC_REC_CONNECT:
        if ((r.header.flags & LPC_CONNECT_ACCEPTED) == 0) {
          fits = out.Append(LPC_REC_ACCEPT, r.header.conn_id, 0, nullptr, 0);
        }
        break;
      case LPC_REC_MESSAGE:
        if ((r.header.flags & LPC_MESSAGE_CALL) == 0) {
          throw std::runtime_error("MESSAGE without LPC_MESSAGE_CALL");
        }
        fits = out.Append(LPC_REC_REPLY, r.header.conn_id, r.header.msg_id,
                          r.payload, r.header.length);
        break;
      case LPC_REC_DISCONNECT:
        ended_.fetch_add(1);
        break;
      case LPC_REC_CANCEL:
        break;  // no call here has a timeout; nothing to undo anyway
      default:
        Unexpected(r, "on the server handle");
    }
    // An answer is never longer than the record it answers.
    if (!fits) throw std::logic_error("answer does not fit the buffer");
  }

  int handle_;
  size_t connections_;
  size_t buffer_;
  uint32_t poll_ms_;  // timeout_ms of each TRANSFER
  std::atomic<size_t> ended_{0};
  std::atomic<bool> failed_{false};
};

}  // namespace

std::vector<uint64_t> RttLpcfsCall(const Config& cfg) {
  SharedSamples samples(cfg.iterations);
  std::string path = PortPath(cfg, "rtt-call");
  RunPair(
      cfg, "lpcfs call rtt",
      [&](int ready) {
        Fd handle = CreatePort(path);
        SendToken(ready);
        // Room for a few records: a round trip has one message in flight.
        EchoCallServer server(
            handle.get(), 1, 1,
            sizeof(lpc_transfer) + 4 * LPC_RECORD_SPACE(LPC_MAX_MESSAGE));
        server.Serve();
      },
      [&] {
        Fd port = OpenPort(path);
        TransferBuffer b(kCallBuffer);
        int fd = port.get();
        ClientLoop(cfg, samples,
                   [&](const char* m, size_t n, char* r, size_t cap) {
                     return CallOnce(fd, b, m, n, r, cap);
                   });
      },
      [] {});
  return samples.Copy();
}

// ---------------------------------------------------------------------------
// One-way messages

namespace {

// Slots of the shared timing record of a one-way run.
enum OnewaySlot { kFirstSend = 0, kLastReceived = 1, kOnewaySlots = 2 };

Throughput OnewayResult(const Config& cfg, SharedSamples& times) {
  uint64_t start = times.data()[kFirstSend], end = times.data()[kLastReceived];
  if (end <= start) throw std::runtime_error("one-way run has no duration");
  return {cfg.oneway_messages, end - start};
}

void CheckLength(const Record& r, const Config& cfg) {
  if (r.header.length != cfg.message_size) {
    throw std::runtime_error("one-way message of " +
                             std::to_string(r.header.length) + " bytes, not " +
                             std::to_string(cfg.message_size));
  }
}

// The lpcfs one-way choreography: an auto-accepting port (the figure is
// about messages, not accepting), a server that calls `receive(handle,
// keep)` and records when it returned, a client that records when it
// started and runs `send(port)`. receive() returns whether it already took
// the DISCONNECT record; `keep` holds what must stay open until then.
Throughput OnewayLpcfs(const Config& cfg, const char* what, const char* tag,
                       const std::function<bool(int, Fd&)>& receive,
                       const std::function<void(int)>& send,
                       uint32_t port_flags = LPC_PORT_AUTO_ACCEPT) {
  SharedSamples times(kOnewaySlots);
  std::string path = PortPath(cfg, tag);
  RunPair(
      cfg, what,
      [&](int ready) {
        Fd handle = CreatePort(path);
        SetPortOptions(handle.get(), port_flags);
        SendToken(ready);
        Fd keep;
        bool ended = receive(handle.get(), keep);
        times.data()[kLastReceived] = NowNs();
        // Read up to the DISCONNECT: the port is removed cleanly.
        char buf[LPC_RECORD_MAX];
        while (!ended) {
          ended =
              ReadRecord(handle.get(), buf).header.type == LPC_REC_DISCONNECT;
        }
      },
      [&] {
        Fd port = OpenPort(path);
        times.data()[kFirstSend] = NowNs();
        send(port.get());
      },
      [] {});
  return OnewayResult(cfg, times);
}

// Counts the MESSAGE records of one batch a one-way server received into
// *got and notes a DISCONNECT in *ended; throws on any other record, and
// if the connection ended before every message came.
void TallyOneway(const std::vector<Record>& records, const Config& cfg,
                 size_t* got, bool* ended) {
  for (const Record& r : records) {
    if (r.header.type == LPC_REC_CONNECT) continue;
    if (r.header.type == LPC_REC_DISCONNECT) {
      *ended = true;
      continue;
    }
    if (r.header.type != LPC_REC_MESSAGE) Unexpected(r, "in one-way");
    CheckLength(r, cfg);
    ++*got;
  }
  if (*ended && *got < cfg.oneway_messages) {
    throw std::runtime_error("connection ended after " + std::to_string(*got) +
                             " messages");
  }
}

// Receives cfg.oneway_messages MESSAGE records with LPC_IOC_TRANSFER on
// `fd` (a server handle or a bound .conn/ID), as many per ioctl as 16 KiB
// hold; returns whether a DISCONNECT came with them.
bool ReceiveBatches(int fd, const Config& cfg) {
  TransferBuffer b(kBigTransfer);
  bool ended = false;
  for (size_t got = 0; got < cfg.oneway_messages;) {
    b.Reset();
    if (int err = b.Transfer(fd)) {
      if (err == EINTR) continue;
      ThrowErrnoValue(err, "server LPC_IOC_TRANSFER");
    }
    TallyOneway(b.Received(), cfg, &got, &ended);
  }
  return ended;
}

// Sends cfg.oneway_messages messages, cfg.batch per LPC_IOC_TRANSFER
// (LPC_TRANSFER_NO_RECEIVE). Sending never waits for room: when the queue
// is full (EAGAIN, or a batch taken in part) it polls for POLLOUT.
void SendBatches(int port, const Config& cfg) {
  std::vector<char> msg(cfg.message_size, 'm');
  TransferBuffer b(sizeof(lpc_transfer) +
                   cfg.batch * LPC_RECORD_SPACE(cfg.message_size));
  for (size_t sent = 0; sent < cfg.oneway_messages;) {
    size_t k = std::min(cfg.batch, cfg.oneway_messages - sent);
    b.Reset(LPC_TRANSFER_NO_RECEIVE);
    for (size_t i = 0; i < k; ++i) {
      b.Append(LPC_REC_MESSAGE, 0, 0, msg.data(), msg.size());
    }
    int err = b.Transfer(port);
    size_t took = err == 0 ? b.header().sent : 0;
    if (err == 0 && took < k) err = b.header().send_error;
    sent += took;
    if (err == 0) continue;
    if (err != EAGAIN) ThrowErrnoValue(err, "client LPC_IOC_TRANSFER");
    pollfd p{port, POLLOUT, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) ThrowErrno("poll");
  }
}

}  // namespace

Throughput OnewayUnixSeqpacket(const Config& cfg) {
  SharedSamples times(kOnewaySlots);
  int sv[2];
  Check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
        "socketpair");
  Fd client_end(sv[0]), server_end(sv[1]);
  RunPair(
      cfg, "unix socket one-way",
      [&](int ready) {
        client_end.reset();
        SendToken(ready);
        char buf[LPC_MAX_MESSAGE + 1];
        for (size_t i = 0; i < cfg.oneway_messages; ++i) {
          size_t n = ReadMessage(server_end.get(), buf, sizeof buf, "recv");
          if (n != cfg.message_size) {
            throw std::runtime_error("one-way recv of " + std::to_string(n) +
                                     " bytes");
          }
        }
        times.data()[kLastReceived] = NowNs();
      },
      [&] {
        server_end.reset();
        std::vector<char> msg(cfg.message_size, 'm');
        times.data()[kFirstSend] = NowNs();
        for (size_t i = 0; i < cfg.oneway_messages; ++i) {
          WriteMessage(client_end.get(), msg.data(), msg.size(), "send");
        }
      },
      [&] {
        client_end.reset();
        server_end.reset();
      });
  return OnewayResult(cfg, times);
}

Throughput OnewayLpcfsPlain(const Config& cfg) {
  return OnewayLpcfs(
      cfg, "lpcfs one-way", "oneway",
      [&](int handle, Fd&) {
        char buf[LPC_RECORD_MAX];
        for (size_t got = 0; got < cfg.oneway_messages;) {
          Record r = ReadRecord(handle, buf);
          if (r.header.type == LPC_REC_CONNECT) continue;
          if (r.header.type != LPC_REC_MESSAGE) Unexpected(r, "in one-way");
          CheckLength(r, cfg);
          ++got;
        }
        return false;
      },
      [&](int port) {
        std::vector<char> msg(cfg.message_size, 'm');
        for (size_t i = 0; i < cfg.oneway_messages; ++i) {
          WriteMessage(port, msg.data(), msg.size(), "client write");
        }
      });
}

Throughput OnewayLpcfsBatch(const Config& cfg) {
  return OnewayLpcfs(
      cfg, "lpcfs one-way batch", "oneway-batch",
      [&](int handle, Fd&) { return ReceiveBatches(handle, cfg); },
      [&](int port) { SendBatches(port, cfg); });
}

Throughput OnewayLpcfsBatchRead(const Config& cfg) {
  return OnewayLpcfs(
      cfg, "lpcfs one-way batch, batch reads", "oneway-batch-read",
      [&](int handle, Fd&) {
        std::vector<char> buf(kBatchRead);
        bool ended = false;
        for (size_t got = 0; got < cfg.oneway_messages;) {
          TallyOneway(ReadRecords(handle, buf), cfg, &got, &ended);
        }
        return ended;
      },
      [&](int port) { SendBatches(port, cfg); },
      LPC_PORT_AUTO_ACCEPT | LPC_PORT_READ_BATCHES);
}

Throughput OnewayLpcfsBatchBound(const Config& cfg) {
  return OnewayLpcfs(
      cfg, "lpcfs one-way batch, bound", "oneway-batch-bound",
      [&](int handle, Fd& bound) {
        char buf[LPC_RECORD_MAX];
        Record r = ReadRecord(handle, buf);
        if (r.header.type != LPC_REC_CONNECT) Unexpected(r, "before CONNECT");
        std::string conn =
            cfg.mount + "/" LPC_CONN_DIR "/" + std::to_string(r.header.conn_id);
        // Messages queued before the open move to the file (lpc.7).
        bound = Fd(::open(conn.c_str(), O_RDWR | O_CLOEXEC));
        if (!bound) ThrowErrno("open " + conn);
        ReceiveBatches(bound.get(), cfg);
        return false;  // the DISCONNECT comes on the handle
      },
      [&](int port) { SendBatches(port, cfg); });
}

// ---------------------------------------------------------------------------
// Many concurrent callers

namespace {

// Slots of the shared record of a load run.
enum LoadSlot { kCalls = 0, kElapsed = 1, kKept = 2, kLoadSlots = 3 };
// Most latency samples a load run keeps (the first ones of every thread
// in turn are kept; all calls are counted).
constexpr size_t kMaxLoadSamples = size_t(1) << 22;

// Runs cfg.clients threads in this process. Each gets its connection from
// `connect(i)`, warms up with a few calls, waits for the others, then calls
// `call(fd)` until load_duration has passed since the common start.
// Latencies and counts go to the shared buffers.
void RunCallers(const Config& cfg, SharedSamples& slots, SharedSamples& lat,
                const std::function<Fd(size_t)>& connect,
                const std::function<void(int, TransferBuffer&)>& call) {
  std::mutex m;
  std::condition_variable cv;
  size_t ready = 0;
  bool go = false;
  uint64_t start_ns = 0;
  std::atomic<uint64_t> last_end{0}, calls{0};
  std::vector<std::vector<uint64_t>> per_thread(cfg.clients);
  std::vector<std::string> errors(cfg.clients);
  std::vector<std::thread> threads;
  threads.reserve(cfg.clients);
  for (size_t i = 0; i < cfg.clients; ++i) {
    threads.emplace_back([&, i] {
      try {
        Fd fd = connect(i);
        TransferBuffer b(kCallBuffer);
        for (int w = 0; w < 10; ++w) call(fd.get(), b);
        uint64_t deadline;
        {
          std::unique_lock lock(m);
          ++ready;
          cv.notify_all();
          cv.wait(lock, [&] { return go; });
          deadline =
              start_ns +
              uint64_t(std::chrono::nanoseconds(cfg.load_duration).count());
        }
        auto& mine = per_thread[i];
        mine.reserve(1 << 14);
        uint64_t now = NowNs();
        while (now < deadline) {
          call(fd.get(), b);
          uint64_t t1 = NowNs();
          mine.push_back(t1 - now);
          now = t1;
        }
        calls.fetch_add(mine.size());
        uint64_t prev = last_end.load();
        while (prev < now && !last_end.compare_exchange_weak(prev, now)) {
        }
      } catch (const std::exception& e) {
        errors[i] = e.what();
        std::unique_lock lock(m);
        ++ready;  // do not keep the others waiting
        cv.notify_all();
      }
    });
  }
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return ready == cfg.clients; });
    start_ns = NowNs();
    go = true;
    cv.notify_all();
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < cfg.clients; ++i) {
    if (!errors[i].empty()) {
      throw std::runtime_error("client thread " + std::to_string(i) + ": " +
                               errors[i]);
    }
  }
  // Interleave the threads' samples up to the cap, so that no thread's
  // whole run is dropped.
  size_t kept = 0;
  for (size_t k = 0; kept < lat.size(); ++k) {
    bool any = false;
    for (auto& v : per_thread) {
      if (k >= v.size() || kept >= lat.size()) continue;
      lat.data()[kept++] = v[k];
      any = true;
    }
    if (!any) break;
  }
  slots.data()[kCalls] = calls.load();
  slots.data()[kElapsed] = last_end.load() - start_ns;
  slots.data()[kKept] = kept;
}

LoadSamples LoadResult(SharedSamples& slots, SharedSamples& lat) {
  LoadSamples s;
  s.throughput = {slots.data()[kCalls], slots.data()[kElapsed]};
  s.latencies.assign(lat.data(), lat.data() + slots.data()[kKept]);
  return s;
}

void EchoCall(int fd, TransferBuffer& b, const std::vector<char>& msg) {
  char reply[LPC_MAX_MESSAGE + 1];
  if (CallOnce(fd, b, msg.data(), msg.size(), reply, sizeof reply) !=
      msg.size()) {
    throw std::runtime_error("reply does not echo the call");
  }
}

}  // namespace

LoadSamples LoadUnixSeqpacket(const Config& cfg) {
  SharedSamples slots(kLoadSlots), lat(kMaxLoadSamples);
  std::vector<Fd> client_ends, server_ends;
  RaiseDescriptorLimit(2 * cfg.clients + 64);
  for (size_t i = 0; i < cfg.clients; ++i) {
    int sv[2];
    Check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
          "socketpair");
    client_ends.emplace_back(sv[0]);
    server_ends.emplace_back(sv[1]);
  }
  RunPair(
      cfg, "unix socket load",
      [&](int ready) {
        client_ends.clear();
        Fd ep(::epoll_create1(EPOLL_CLOEXEC));
        if (!ep) ThrowErrno("epoll_create1");
        for (auto& fd : server_ends) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = fd.get();
          Check(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd.get(), &ev),
                "epoll_ctl");
        }
        SendToken(ready);
        size_t open = server_ends.size();
        epoll_event events[64];
        char buf[LPC_MAX_MESSAGE + 1];
        while (open > 0) {
          int n = ::epoll_wait(ep.get(), events, 64, -1);
          if (n < 0 && errno == EINTR) continue;
          Check(n, "epoll_wait");
          for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            ssize_t got = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (got < 0) ThrowErrno("server recv");
            if (got == 0) {
              Check(::epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr),
                    "epoll_ctl del");
              --open;
              continue;
            }
            WriteMessage(fd, buf, size_t(got), "server send");
          }
        }
      },
      [&] {
        server_ends.clear();
        std::vector<char> msg(cfg.message_size, 'm');
        RunCallers(
            cfg, slots, lat,
            [&](size_t i) { return std::move(client_ends[i]); },
            [&](int fd, TransferBuffer&) {
              char reply[LPC_MAX_MESSAGE + 1];
              WriteMessage(fd, msg.data(), msg.size(), "client send");
              if (ReadMessage(fd, reply, sizeof reply, "client recv") !=
                  msg.size()) {
                throw std::runtime_error("reply does not echo the request");
              }
            });
      },
      [&] {
        client_ends.clear();
        server_ends.clear();
      });
  return LoadResult(slots, lat);
}

LoadSamples LoadLpcfsCall(const Config& cfg) {
  SharedSamples slots(kLoadSlots), lat(kMaxLoadSamples);
  std::string path = PortPath(cfg, "load");
  RunPair(
      cfg, "lpcfs call load",
      [&](int ready) {
        Fd handle = CreatePort(path);
        // Auto-accept: cfg.clients connect at once, more than the backlog.
        SetAutoAccept(handle.get());
        SendToken(ready);
        // Room for a reply to every client in one batch, up to 8 KiB.
        size_t want =
            sizeof(lpc_transfer) + std::max<size_t>(cfg.clients, 4) *
                                       LPC_RECORD_SPACE(cfg.message_size);
        EchoCallServer server(handle.get(), 2, cfg.clients,
                              std::min<size_t>(want, 8192));
        // If one thread fails, the other stops within kServerPollMs.
        std::exception_ptr failures[2];
        auto serve = [&](std::exception_ptr& failure) {
          try {
            server.Serve();
          } catch (...) {
            failure = std::current_exception();
          }
        };
        std::thread second(serve, std::ref(failures[1]));
        serve(failures[0]);
        second.join();
        for (auto& f : failures) {
          if (f) std::rethrow_exception(f);
        }
      },
      [&] {
        RaiseDescriptorLimit(cfg.clients + 64);
        std::vector<char> msg(cfg.message_size, 'm');
        RunCallers(
            cfg, slots, lat, [&](size_t) { return OpenPort(path); },
            [&](int fd, TransferBuffer& b) { EchoCall(fd, b, msg); });
      },
      [] {});
  return LoadResult(slots, lat);
}

// ---------------------------------------------------------------------------
// Idle connections

namespace {

// VmRSS of `pid` in KiB, from /proc/PID/status.
double ResidentKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6));
  }
  throw std::runtime_error("no VmRSS in /proc/" + std::to_string(pid) +
                           "/status");
}

}  // namespace

IdleFootprint IdleLpcfsConnections(const Config& cfg) {
  if (cfg.daemon_pid <= 0) {
    throw Unavailable("needs the daemon's pid (start lpcfs from lpc-bench)");
  }
  auto deadline = Clock::now() + cfg.timeout;
  std::string path = PortPath(cfg, "idle");
  size_t n = cfg.idle_connections;
  Pipe ready = MakePipe(), all_seen = MakePipe(), opened = MakePipe(),
       release = MakePipe();

  Child server = Spawn("lpcfs idle server", [&] {
    ready.read_end.reset();
    all_seen.read_end.reset();
    PinTo(cfg.server_cpu);
    Fd handle = CreatePort(path);
    SetAutoAccept(handle.get());
    SendToken(ready.write_end.get());
    // Read every CONNECT, as a server that keeps idle clients would, then
    // every DISCONNECT.
    char buf[LPC_RECORD_MAX];
    size_t connects = 0, ends = 0;
    while (ends < n) {
      Record r = ReadRecord(handle.get(), buf);
      if (r.header.type == LPC_REC_CONNECT) {
        if (++connects == n) SendToken(all_seen.write_end.get());
      } else if (r.header.type == LPC_REC_DISCONNECT) {
        ++ends;
      } else {
        Unexpected(r, "on an idle port");
      }
    }
  });
  ready.write_end.reset();
  all_seen.write_end.reset();
  WaitToken(ready.read_end.get(), deadline, "idle server to start");
  IdleFootprint f;
  f.connections = n;
  f.rss_before_kib = ResidentKib(cfg.daemon_pid);

  Child client = Spawn("lpcfs idle client", [&] {
    opened.read_end.reset();
    release.write_end.reset();
    PinTo(cfg.client_cpu);
    RaiseDescriptorLimit(n + 64);
    std::vector<Fd> conns;
    conns.reserve(n);
    for (size_t i = 0; i < n; ++i) conns.push_back(OpenPort(path));
    SendToken(opened.write_end.get());
    ReceiveToken(release.read_end.get());
  });
  opened.write_end.reset();
  release.read_end.reset();
  try {
    WaitToken(opened.read_end.get(), deadline, "idle client to connect");
    WaitToken(all_seen.read_end.get(), deadline, "idle server's CONNECTs");
  } catch (...) {
    WaitAll({&client, &server}, Clock::now() + std::chrono::seconds(1));
    throw;
  }
  f.rss_after_kib = ResidentKib(cfg.daemon_pid);
  SendToken(release.write_end.get());
  WaitAll({&client, &server}, deadline);
  return f;
}

}  // namespace lpcbench
