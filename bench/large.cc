// Large-message round trips (issue 8): 4 KiB, 64 KiB and 1000 KiB each way
// through lpcfs's plain write()/read(), next to a Unix SOCK_SEQPACKET and
// a SOCK_STREAM socketpair. bench/README.md says where each path copies.

#include <fcntl.h>
#include <lpc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "figures.h"
#include "pair.h"
#include "process.h"
#include "records.h"
#include "util.h"

namespace lpcbench {
namespace {

// Seeds of the checked round trip's patterns: the client's request and the
// server's different answer, so that an echo of the request (or of stale
// bytes) by a broken path cannot pass for the reply.
constexpr uint32_t kRequestSeed = 1;
constexpr uint32_t kReplySeed = 2;

// A page-aligned buffer: every transport gets the same alignment, and a
// FUSE direct read or write pins the fewest pages from it.
class PageBuffer {
 public:
  explicit PageBuffer(size_t size) : size_((size + 4095) & ~size_t(4095)) {
    void* p = std::aligned_alloc(4096, size_);
    if (p == nullptr) throw std::bad_alloc();
    // Touched now, so that no page fault lands in a timed round trip.
    std::memset(p, 0, size_);
    data_.reset(static_cast<char*>(p));
  }
  char* get() { return data_.get(); }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  size_t size_;
  std::unique_ptr<char, Free> data_;
};

// Byte i of the pattern `seed`: it changes along the message across 256-
// and 64 KiB boundaries, so a lost, repeated or shifted piece shows.
char PatternByte(size_t i, uint32_t seed) {
  return char((i ^ (i >> 8) * 131 ^ (i >> 16) * 29) + seed * 77);
}

void FillPattern(char* p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; ++i) p[i] = PatternByte(i, seed);
}

void CheckPattern(const char* p, size_t n, uint32_t seed, const char* what) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != PatternByte(i, seed)) {
      throw std::runtime_error(std::string(what) + ": byte " +
                               std::to_string(i) + " of " + std::to_string(n) +
                               " is not what was sent");
    }
  }
}

// The server's answer to one request of `got` bytes in `payload`, in
// place: the first request is compared byte by byte and answered with the
// reply pattern, the others are echoed as they are.
void AnswerInPlace(bool first, char* payload, size_t got, size_t size,
                   const char* what) {
  if (got != size) {
    throw std::runtime_error(std::string(what) + ": request of " +
                             std::to_string(got) + " bytes, not " +
                             std::to_string(size));
  }
  if (!first) return;
  CheckPattern(payload, size, kRequestSeed, what);
  FillPattern(payload, size, kReplySeed);
}

// Round-trip times of one client process, shared with the parent: at most
// one sample per 2 µs of the timed duration (no round trip of 4 KiB or
// more is that fast here), and how many there are.
class LargeSamples {
 public:
  explicit LargeSamples(const Config& cfg)
      : samples_(std::max<size_t>(
            16, size_t(cfg.large_duration.count()) * 1000 / 2)),
        count_(1) {}
  SharedSamples& samples() { return samples_; }
  void set_count(size_t n) { count_.data()[0] = n; }
  std::vector<uint64_t> Copy() {
    return {samples_.data(), samples_.data() + count_.data()[0]};
  }

 private:
  SharedSamples samples_;
  SharedSamples count_;
};

// The client's side of every large row. `exchange(msg, reply)` sends the
// `size` bytes of msg and returns the length of the reply it read into
// `reply` (room for `size` bytes). One checked round trip, then warm-up
// for a tenth of large_duration, then round trips timed for
// large_duration (or until the sample buffer is full).
template <class Exchange>
void LargeClientLoop(const Config& cfg, size_t size, LargeSamples& out,
                     Exchange exchange) {
  PageBuffer msg(size), reply(size);
  FillPattern(msg.get(), size, kRequestSeed);
  size_t got = exchange(msg.get(), reply.get());
  if (got != size) {
    throw std::runtime_error("checked round trip: reply of " +
                             std::to_string(got) + " bytes, not " +
                             std::to_string(size));
  }
  CheckPattern(reply.get(), size, kReplySeed, "client, checked reply");

  uint64_t duration_ns =
      uint64_t(std::chrono::nanoseconds(cfg.large_duration).count());
  // A per-iteration stamp at the start, middle and end of the message,
  // checked in each echo: cheap enough for the timed loop.
  const size_t stamp_at[] = {0, size / 2, size - 1};
  auto round_trip = [&](size_t i) {
    for (size_t at : stamp_at) msg.get()[at] = char(i);
    uint64_t t0 = NowNs();
    size_t n = exchange(msg.get(), reply.get());
    uint64_t t1 = NowNs();
    bool echoed = n == size;
    for (size_t at : stamp_at) echoed = echoed && reply.get()[at] == char(i);
    if (!echoed) {
      throw std::runtime_error("round trip " + std::to_string(i) +
                               ": reply of " + std::to_string(n) +
                               " bytes does not echo the request");
    }
    return t1 - t0;
  };
  size_t i = 0;
  uint64_t warm_until = NowNs() + duration_ns / 10;
  for (size_t w = 0; w < 3 || NowNs() < warm_until; ++w) round_trip(i++);
  SharedSamples& s = out.samples();
  size_t kept = 0;
  uint64_t until = NowNs() + duration_ns;
  while (kept < s.size() && (kept == 0 || NowNs() < until)) {
    s.data()[kept++] = round_trip(i++);
  }
  out.set_count(kept);
}

std::string SizeTag(size_t size) {
  return "large-" + std::to_string(size / 1024) + "k";
}

// One write() loop for a byte stream.
void WriteAll(int fd, const char* p, size_t n, const char* what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) ThrowErrno(what);
    p += w;
    n -= size_t(w);
  }
}

// Makes one datagram of `size` bytes fit the socket's send buffer.
// unix_dgram_sendmsg refuses (EMSGSIZE) a datagram larger than sk_sndbuf
// minus 32, and the skb is charged to the sender until it is received.
// SO_SNDBUF is capped at net.core.wmem_max; SO_SNDBUFFORCE
// (CAP_NET_ADMIN) is not. The receiving side has no byte limit of its own
// for AF_UNIX (SO_RCVBUF is not consulted), so it is left alone. Buffers
// are only raised, never lowered below the default.
void FitDatagram(int fd, size_t size) {
  auto current = [fd] {
    int v = 0;
    socklen_t len = sizeof v;
    Check(::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len),
          "getsockopt SO_SNDBUF");
    return size_t(v);
  };
  // Room for the message and the skb's own overhead; the kernel doubles
  // the value it is given.
  size_t want = 2 * size + 8192;
  if (current() >= want) return;
  int half = int(want / 2);
  Check(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &half, sizeof half),
        "setsockopt SO_SNDBUF");
  if (current() < want) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &half, sizeof half);
  }
  if (current() < size + 32) {
    throw Unavailable("one " + std::to_string(size) +
                      "-byte datagram needs SO_SNDBUF " + std::to_string(want) +
                      ", above net.core.wmem_max, and SO_SNDBUFFORCE needs "
                      "CAP_NET_ADMIN");
  }
}

}  // namespace

std::vector<uint64_t> RttLargeLpcfs(const Config& cfg, size_t size) {
  LargeSamples samples(cfg);
  std::string path = PortPath(cfg, SizeTag(size).c_str());
  RunPair(
      cfg, "lpcfs " + SizeTag(size) + " rtt",
      [&](int ready) {
        Fd handle = CreatePort(path);
        // The port takes messages of exactly this size: the server sizes
        // its buffer by its port's limit, as a real one would.
        SetPortLimits(handle.get(), uint32_t(size));
        SendToken(ready);
        // The CONNECT record first, in a buffer of its own: its payload
        // (the client's groups) may be longer than a 4 KiB message.
        char connect[LPC_RECORD_MAX];
        Record r = ReadRecord(handle.get(), connect);
        if (r.header.type != LPC_REC_CONNECT) Unexpected(r, "before CONNECT");
        AcceptConnect(handle.get(), r);
        size_t cap = sizeof(lpc_record) + size;
        PageBuffer buf(cap);
        char* p = buf.get();
        for (bool first = true;; first = false) {
          ssize_t n = ::read(handle.get(), p, cap);
          if (n < 0) ThrowErrno("read server handle");
          if (size_t(n) < sizeof(lpc_record)) {
            throw std::runtime_error("server handle read " + std::to_string(n) +
                                     " bytes, less than a record header");
          }
          Record m{{}, p + sizeof(lpc_record)};
          std::memcpy(&m.header, p, sizeof m.header);
          if (m.header.type == LPC_REC_DISCONNECT) return;
          if (m.header.type != LPC_REC_MESSAGE)
            Unexpected(m, "in a round trip");
          if (sizeof(lpc_record) + m.header.length != size_t(n)) {
            throw std::runtime_error("record length does not match the read");
          }
          AnswerInPlace(first, p + sizeof(lpc_record), m.header.length, size,
                        "lpcfs server");
          // The reply goes out of the same buffer: a new header over the
          // request's (fields a REPLY does not use must be zero), the
          // payload where it was read. One write(), one record.
          lpc_record reply{};
          reply.type = LPC_REC_REPLY;
          reply.length = m.header.length;
          reply.conn_id = m.header.conn_id;
          reply.msg_id = m.header.msg_id;
          std::memcpy(p, &reply, sizeof reply);
          WriteMessage(handle.get(), p, size_t(n), "server write REPLY");
        }
      },
      [&] {
        Fd port(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (!port) ThrowErrno("connect to " + path);
        int fd = port.get();
        LargeClientLoop(cfg, size, samples, [&](const char* m, char* r) {
          WriteMessage(fd, m, size, "client write");
          return ReadMessage(fd, r, size, "client read");
        });
      },
      [] {});
  return samples.Copy();
}

std::vector<uint64_t> RttLargeSeqpacket(const Config& cfg, size_t size) {
  LargeSamples samples(cfg);
  int sv[2];
  Check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
        "socketpair");
  Fd client_end(sv[0]), server_end(sv[1]);
  FitDatagram(client_end.get(), size);
  FitDatagram(server_end.get(), size);
  RunPair(
      cfg, "unix seqpacket " + SizeTag(size) + " rtt",
      [&](int ready) {
        client_end.reset();
        SendToken(ready);
        PageBuffer buf(size);
        int fd = server_end.get();
        for (bool first = true;; first = false) {
          size_t n = ReadMessage(fd, buf.get(), size, "server recv");
          if (n == 0) return;
          AnswerInPlace(first, buf.get(), n, size, "seqpacket server");
          WriteMessage(fd, buf.get(), n, "server send");
        }
      },
      [&] {
        server_end.reset();
        int fd = client_end.get();
        LargeClientLoop(cfg, size, samples, [&](const char* m, char* r) {
          WriteMessage(fd, m, size, "client send");
          return ReadMessage(fd, r, size, "client recv");
        });
      },
      [&] {
        client_end.reset();
        server_end.reset();
      });
  return samples.Copy();
}

std::vector<uint64_t> RttLargeStream(const Config& cfg, size_t size) {
  LargeSamples samples(cfg);
  int sv[2];
  Check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
  Fd client_end(sv[0]), server_end(sv[1]);
  RunPair(
      cfg, "unix stream " + SizeTag(size) + " rtt",
      [&](int ready) {
        client_end.reset();
        SendToken(ready);
        PageBuffer buf(size);
        int fd = server_end.get();
        for (bool first = true;; first = false) {
          if (!ReadExact(fd, buf.get(), size, "server read")) return;
          AnswerInPlace(first, buf.get(), size, size, "stream server");
          WriteAll(fd, buf.get(), size, "server write");
        }
      },
      [&] {
        server_end.reset();
        int fd = client_end.get();
        LargeClientLoop(cfg, size, samples, [&](const char* m, char* r) {
          WriteAll(fd, m, size, "client write");
          return ReadExact(fd, r, size, "client read") ? size : 0;
        });
      },
      [&] {
        client_end.reset();
        server_end.reset();
      });
  return samples.Copy();
}

}  // namespace lpcbench
