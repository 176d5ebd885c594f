#include "figures.h"

#include <fcntl.h>
#include <lpc.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "pair.h"
#include "process.h"
#include "records.h"
#include "util.h"

namespace lpcbench {
namespace {

// ---------------------------------------------------------------------------
// POSIX message queue, closed and unlinked in the parent once both children
// hold it.

class MessageQueue {
 public:
  MessageQueue(const std::string& name, size_t msgsize) {
    mq_attr attr{};
    attr.mq_maxmsg = 8;
    attr.mq_msgsize = long(msgsize);
    mq_ = ::mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600,
                    &attr);
    if (mq_ == mqd_t(-1)) {
      if (errno == ENOSYS) throw Unavailable("POSIX message queues: ENOSYS");
      ThrowErrno("mq_open " + name);
    }
    ::mq_unlink(name.c_str());
  }
  ~MessageQueue() { Close(); }
  MessageQueue(const MessageQueue&) = delete;
  MessageQueue& operator=(const MessageQueue&) = delete;

  mqd_t get() const { return mq_; }
  void Close() {
    if (mq_ != mqd_t(-1)) ::mq_close(mq_);
    mq_ = mqd_t(-1);
  }

 private:
  mqd_t mq_ = mqd_t(-1);
};

}  // namespace

// ---------------------------------------------------------------------------
// Round trips

std::vector<uint64_t> RttUnixSeqpacket(const Config& cfg) {
  SharedSamples samples(cfg.iterations);
  int sv[2];
  Check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
        "socketpair");
  Fd client_end(sv[0]), server_end(sv[1]);
  RunPair(
      cfg, "unix socket rtt",
      [&](int ready) {
        client_end.reset();
        SendToken(ready);
        char buf[LPC_MAX_MESSAGE + 1];
        while (size_t n = ReadMessage(server_end.get(), buf, sizeof buf,
                                      "server read")) {
          WriteMessage(server_end.get(), buf, n, "server write");
        }
      },
      [&] {
        server_end.reset();
        int fd = client_end.get();
        ClientLoop(cfg, samples,
                   [fd](const char* m, size_t n, char* r, size_t cap) {
                     WriteMessage(fd, m, n, "client write");
                     return ReadMessage(fd, r, cap, "client read");
                   });
      },
      [&] {
        client_end.reset();
        server_end.reset();
      });
  return samples.Copy();
}

std::vector<uint64_t> RttPipe(const Config& cfg) {
  SharedSamples samples(cfg.iterations);
  Pipe req = MakePipe(), rep = MakePipe();
  Fd &req_r = req.read_end, &req_w = req.write_end;
  Fd &rep_r = rep.read_end, &rep_w = rep.write_end;
  size_t size = cfg.message_size;
  RunPair(
      cfg, "pipe rtt",
      [&](int ready) {
        req_w.reset();
        rep_r.reset();
        SendToken(ready);
        std::vector<char> buf(size);
        while (ReadExact(req_r.get(), buf.data(), size, "server read")) {
          WriteMessage(rep_w.get(), buf.data(), size, "server write");
        }
      },
      [&] {
        req_r.reset();
        rep_w.reset();
        int in = rep_r.get(), out = req_w.get();
        ClientLoop(cfg, samples,
                   [=](const char* m, size_t n, char* r, size_t) -> size_t {
                     WriteMessage(out, m, n, "client write");
                     return ReadExact(in, r, n, "client read") ? n : 0;
                   });
      },
      [&] {
        req_r.reset();
        req_w.reset();
        rep_r.reset();
        rep_w.reset();
      });
  return samples.Copy();
}

std::vector<uint64_t> RttMqueue(const Config& cfg) {
  SharedSamples samples(cfg.iterations);
  std::string base = "/lpc-bench-" + std::to_string(::getpid());
  size_t size = cfg.message_size;
  MessageQueue req(base + "-req", size), rep(base + "-rep", size);
  RunPair(
      cfg, "mqueue rtt",
      [&](int ready) {
        SendToken(ready);
        std::vector<char> buf(size);
        for (;;) {
          ssize_t n = ::mq_receive(req.get(), buf.data(), size, nullptr);
          if (n < 0) ThrowErrno("server mq_receive");
          if (n == 0) break;  // the client's end marker
          if (::mq_send(rep.get(), buf.data(), size_t(n), 0) != 0) {
            ThrowErrno("server mq_send");
          }
        }
      },
      [&] {
        mqd_t in = rep.get(), out = req.get();
        ClientLoop(cfg, samples,
                   [=](const char* m, size_t n, char* r, size_t) -> size_t {
                     if (::mq_send(out, m, n, 0) != 0)
                       ThrowErrno("client mq_send");
                     ssize_t got = ::mq_receive(in, r, n, nullptr);
                     if (got < 0) ThrowErrno("client mq_receive");
                     return size_t(got);
                   });
        if (::mq_send(out, "", 0, 0) != 0) ThrowErrno("client mq_send end");
      },
      [&] {
        req.Close();
        rep.Close();
      });
  return samples.Copy();
}

namespace {

// The client side of both lpcfs round trips: connect, then write a
// request and read the reply, timed by ClientLoop.
void LpcfsClient(const Config& cfg, SharedSamples& samples,
                 const std::string& path) {
  Fd port(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!port) ThrowErrno("connect to " + path);
  int fd = port.get();
  ClientLoop(cfg, samples, [fd](const char* m, size_t n, char* r, size_t cap) {
    WriteMessage(fd, m, n, "client write");
    return ReadMessage(fd, r, cap, "client read");
  });
}

}  // namespace

std::vector<uint64_t> RttLpcfs(const Config& cfg) {
  SharedSamples samples(cfg.iterations);
  std::string path = PortPath(cfg, "rtt");
  RunPair(
      cfg, "lpcfs rtt",
      [&](int ready) {
        Fd handle = CreatePort(path);
        SendToken(ready);
        char buf[LPC_RECORD_MAX];
        for (;;) {
          Record r = ReadRecord(handle.get(), buf);
          switch (r.header.type) {
            case LPC_REC_CONNECT:
              AcceptConnect(handle.get(), r);
              break;
            case LPC_REC_MESSAGE:
              WriteRecord(handle.get(), LPC_REC_REPLY, r.header.conn_id,
                          r.header.msg_id, r.payload, r.header.length);
              break;
            case LPC_REC_DISCONNECT:
              return;
            default:
              Unexpected(r, "on the server handle");
          }
        }
      },
      [&] { LpcfsClient(cfg, samples, path); }, [] {});
  return samples.Copy();
}

std::vector<uint64_t> RttLpcfsBound(const Config& cfg) {
  SharedSamples samples(cfg.iterations);
  std::string path = PortPath(cfg, "rtt-bound");
  RunPair(
      cfg, "lpcfs bound rtt",
      [&](int ready) {
        Fd handle = CreatePort(path);
        SendToken(ready);
        char buf[LPC_RECORD_MAX];
        Record r = ReadRecord(handle.get(), buf);
        if (r.header.type != LPC_REC_CONNECT) Unexpected(r, "before CONNECT");
        uint64_t id = r.header.conn_id;
        AcceptConnect(handle.get(), r);
        std::string conn =
            cfg.mount + "/" LPC_CONN_DIR "/" + std::to_string(id);
        Fd bound(::open(conn.c_str(), O_RDWR | O_CLOEXEC));
        if (!bound) ThrowErrno("open " + conn);
        char msg[LPC_MAX_MESSAGE + 1];
        while (size_t n = ReadMessage(bound.get(), msg, sizeof msg,
                                      "server read .conn")) {
          WriteMessage(bound.get(), msg, n, "server write .conn");
        }
        bound.reset();
        r = ReadRecord(handle.get(), buf);
        if (r.header.type != LPC_REC_DISCONNECT || r.header.conn_id != id) {
          Unexpected(r, "after the bound connection ended");
        }
      },
      [&] { LpcfsClient(cfg, samples, path); }, [] {});
  return samples.Copy();
}

std::vector<uint64_t> FuseRequestStatfs(const Config& cfg) {
  SharedSamples samples(cfg.iterations);
  Child c = Spawn("lpcfs statfs client", [&] {
    PinTo(cfg.client_cpu);
    struct statfs st;
    size_t total = cfg.warmup + cfg.iterations;
    for (size_t i = 0; i < total; ++i) {
      uint64_t t0 = NowNs();
      Check(::statfs(cfg.mount.c_str(), &st), "statfs " + cfg.mount);
      uint64_t t1 = NowNs();
      if (i >= cfg.warmup) samples.data()[i - cfg.warmup] = t1 - t0;
    }
  });
  WaitAll({&c}, Clock::now() + cfg.timeout);
  return samples.Copy();
}

// ---------------------------------------------------------------------------
// Connect + accept + close cycles

namespace {

// Shared shape of both connect figures. `serve(ready, done)` handles
// connections and sends a token on `done` after each one ended; `open_once`
// opens one connection and returns its fd.
ConnectSamples ConnectCycle(const Config& cfg, const std::string& what,
                            const std::function<void(int, int)>& serve,
                            const std::function<Fd()>& open_once) {
  SharedSamples cycle(cfg.connect_iterations), call(cfg.connect_iterations),
      close(cfg.connect_iterations);
  Pipe done = MakePipe();
  Fd &done_r = done.read_end, &done_w = done.write_end;
  RunPair(
      cfg, what,
      [&](int ready) {
        done_r.reset();
        serve(ready, done_w.get());
      },
      [&] {
        done_w.reset();
        size_t total = cfg.connect_warmup + cfg.connect_iterations;
        for (size_t i = 0; i < total; ++i) {
          uint64_t t0 = NowNs();
          Fd fd = open_once();
          uint64_t t1 = NowNs();
          fd.reset();
          uint64_t t2 = NowNs();
          ReceiveToken(done_r.get());
          uint64_t t3 = NowNs();
          if (i >= cfg.connect_warmup) {
            cycle.data()[i - cfg.connect_warmup] = t3 - t0;
            call.data()[i - cfg.connect_warmup] = t1 - t0;
            close.data()[i - cfg.connect_warmup] = t2 - t1;
          }
        }
      },
      [&] {
        done_r.reset();
        done_w.reset();
      });
  return {cycle.Copy(), call.Copy(), close.Copy()};
}

}  // namespace

ConnectSamples ConnectLpcfs(const Config& cfg, bool auto_accept) {
  std::string path = PortPath(cfg, auto_accept ? "connect-auto" : "connect");
  size_t total = cfg.connect_warmup + cfg.connect_iterations;
  return ConnectCycle(
      cfg, auto_accept ? "lpcfs auto-accept connect" : "lpcfs connect",
      [&](int ready, int done) {
        Fd handle = CreatePort(path);
        if (auto_accept) SetAutoAccept(handle.get());
        SendToken(ready);
        char buf[LPC_RECORD_MAX];
        for (size_t ended = 0; ended < total;) {
          Record r = ReadRecord(handle.get(), buf);
          switch (r.header.type) {
            case LPC_REC_CONNECT:
              AcceptConnect(handle.get(), r);
              break;
            case LPC_REC_DISCONNECT:
              ++ended;
              SendToken(done);
              break;
            default:
              Unexpected(r, "in the connect cycle");
          }
        }
      },
      [&] {
        Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (!fd) ThrowErrno("connect to " + path);
        return fd;
      });
}

ConnectSamples ConnectUnixSeqpacket(const Config& cfg) {
  // Abstract address: nothing on disk to clean up.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = "lpc-bench-" + std::to_string(::getpid()) + "-connect";
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  auto* sa = reinterpret_cast<const sockaddr*>(&addr);
  size_t total = cfg.connect_warmup + cfg.connect_iterations;
  return ConnectCycle(
      cfg, "unix socket connect",
      [&](int ready, int done) {
        Fd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
        if (!listener) ThrowErrno("socket");
        Check(::bind(listener.get(), sa, len), "bind");
        Check(::listen(listener.get(), 128), "listen");
        SendToken(ready);
        char buf[16];
        for (size_t i = 0; i < total; ++i) {
          Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
          if (!conn) ThrowErrno("accept");
          if (ReadMessage(conn.get(), buf, sizeof buf, "server read") != 0) {
            throw std::runtime_error("unexpected data on connection");
          }
          conn.reset();
          SendToken(done);
        }
      },
      [&] {
        Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
        if (!fd) ThrowErrno("socket");
        Check(::connect(fd.get(), sa, len), "connect");
        return fd;
      });
}

}  // namespace lpcbench
