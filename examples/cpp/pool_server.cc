// pool_server: the key-value store of epoll_server.cc, served by a pool of
// threads that share one server handle, like an I/O completion port.
//
//   lpc-example-pool-server [--threads N] [MOUNT_DIR [PORT_NAME]]
//
// Creates MOUNT_DIR/PORT_NAME (default $LPC_MOUNT or /lpc, and "kv") with mode
// 0666 less the umask. Each of N threads (default 4, at most 64) loops on one
// ioctl, LPC_IOC_TRANSFER (include/lpc.h "ioctls"): it sends what answers the
// records it received last time (LPC_REC_ACCEPT for a CONNECT, LPC_REC_REPLY
// for a MESSAGE) and waits for the next records, at most kMaxRecords. So a
// request and its answer cost one request to the daemon, not a read() and a
// write(), and whichever thread waits takes the next record. A reply goes
// straight to a client waiting in LPC_IOC_CALL, or is queued to a client
// that reads.
//
// A record of the batch that the daemon refuses ends the batch; it and the
// ones after it are then sent one at a time (a transfer that only sends,
// which never waits). A reply refused with EAGAIN, because the client does
// not read and its queue is full, waits in the Backlog with the later
// replies to that client, and is retried while the workers wait with a
// short timeout. Each thread keeps the order of what it sends, but two
// threads may answer two messages of one connection in either order: each
// call gets its own reply, and a client that waits for each reply sees no
// difference, but one that pipelines needs --threads 1 to pair replies by
// order. SIGINT or SIGTERM: the threads stop, a summary goes to stderr, and
// the server exits 0.

#include <fcntl.h>
#include <lpc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "key_value_store.h"

namespace {

// Records one ioctl receives at most, so that the answers to them (each at
// most LPC_RECORD_SPACE(LPC_MAX_MESSAGE) bytes) fit the next buffer.
constexpr uint32_t kMaxRecords = 16;
// The largest ioctl buffer. A first record that did not fit would stay
// queued and fail every receive, so the pool limits its port's messages
// to LPC_MAX_MESSAGE (lpc_port_limits, in main).
constexpr size_t kBufferSize = LPC_IOCTL_MAX;
static_assert(kMaxRecords * LPC_RECORD_SPACE(LPC_MAX_MESSAGE) <=
              kBufferSize - sizeof(lpc_transfer));

// Sent to a worker to end the ioctl it waits in (see Pool::Stop).
constexpr int kWakeSignal = SIGUSR1;
// Sent by a worker that failed to the main thread, to stop everything.
constexpr int kFailedSignal = SIGUSR2;

// One record to send: the header and its payload.
struct Outgoing {
  lpc_record header;
  std::string payload;
};

Outgoing MakeRecord(uint32_t type, uint64_t conn_id, uint64_t msg_id = 0,
                    std::string payload = {}) {
  Outgoing out{};
  out.header.type = type;
  out.header.length = static_cast<uint32_t>(payload.size());
  out.header.conn_id = conn_id;
  out.header.msg_id = msg_id;
  out.payload = std::move(payload);
  return out;
}

// Sends one record with a transfer that receives nothing: it never waits
// for room (lpc.h LPC_IOC_TRANSFER). Returns 0 or the record's errno.
int SendOne(int port_fd, const Outgoing& r) {
  struct {
    lpc_transfer t;
    lpc_record header;
    char payload[LPC_MAX_MESSAGE];
  } buffer{};
  static_assert(sizeof buffer ==
                sizeof(lpc_transfer) + sizeof(lpc_record) + LPC_MAX_MESSAGE);
  size_t length = std::min(r.payload.size(), sizeof buffer.payload);
  buffer.t.flags = LPC_TRANSFER_NO_RECEIVE;
  buffer.t.send_length = static_cast<uint32_t>(sizeof r.header + length);
  buffer.header = r.header;
  std::memcpy(buffer.payload, r.payload.data(), length);
  for (;;) {
    if (ioctl(port_fd, LPC_IOC_TRANSFER(sizeof buffer), &buffer) == 0) {
      return buffer.t.send_error;  // 0, since a failed first record fails
    }
    if (errno != EINTR) return errno;
  }
}

// Replies refused because the client's queue was full, per connection, in
// order; once one waits, later replies to that client wait behind it.
class Backlog {
 public:
  // More waiting replies than this and the client is disconnected: it sends
  // without reading (as in epoll_server.cc).
  static constexpr size_t kMaxPerConnection = 512;

  explicit Backlog(int port_fd) : port_fd_(port_fd) {}

  bool empty() const { return size_ == 0; }
  bool Holds(uint64_t conn_id) {
    std::lock_guard lock(mu_);
    return waiting_.count(conn_id) != 0;
  }

  // Sends `r` now unless replies to its connection wait already.
  int SendOrQueue(const Outgoing& r) {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(r.header.conn_id);
    if (it == waiting_.end()) return SendOne(port_fd_, r);
    Queue(it->second, r);
    return 0;
  }
  // Keeps `r`, refused with EAGAIN, for later.
  void Add(const Outgoing& r) {
    std::lock_guard lock(mu_);
    Queue(waiting_[r.header.conn_id], r);
  }
  void Forget(uint64_t conn_id) {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(conn_id);
    if (it == waiting_.end()) return;
    size_ -= it->second.size();
    waiting_.erase(it);
  }
  // Sends what the clients have room for now; one thread at a time.
  void Retry() {
    std::unique_lock lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      std::deque<Outgoing>& queue = it->second;
      int err = 0;
      while (!queue.empty() && (err = SendOne(port_fd_, queue.front())) == 0) {
        queue.pop_front();
        --size_;
      }
      if (err != 0 && err != EAGAIN) {
        Report(queue.front(), err);  // the client has gone: so have the rest
        size_ -= queue.size();
        queue.clear();
      }
      it = queue.empty() ? waiting_.erase(it) : std::next(it);
    }
  }

  static void Report(const Outgoing& r, int err) {
    // EPIPE: the client closed (its DISCONNECT record follows); ENOTCONN:
    // it gave up connecting.
    std::fprintf(
        stderr, "record type %u to conn=%llu dropped: %s\n", r.header.type,
        static_cast<unsigned long long>(r.header.conn_id), std::strerror(err));
  }

 private:
  void Queue(std::deque<Outgoing>& queue, const Outgoing& r) {
    if (queue.size() == kMaxPerConnection) {
      std::fprintf(stderr,
                   "conn=%llu does not read its replies: disconnecting\n",
                   static_cast<unsigned long long>(r.header.conn_id));
      lpc_record end{};
      end.type = LPC_REC_DISCONNECT;
      end.conn_id = r.header.conn_id;
      SendOne(port_fd_, {end, {}});
      size_ -= queue.size();
      queue.clear();
      return;
    }
    queue.push_back(r);
    ++size_;
  }

  int port_fd_;
  std::mutex mu_;
  std::map<uint64_t, std::deque<Outgoing>> waiting_;  // guarded by mu_
  std::atomic<size_t> size_{0};  // replies in waiting_, read without mu_
};

// The ioctl buffer: struct lpc_transfer, then data[] with records, each at
// a multiple of 8 bytes from data[0]. The same data[] carries the records
// sent in and the records received.
class TransferBuffer {
 public:
  // Fills data[] with `records` (which must fit) and sets the header to
  // send them and then receive at most kMaxRecords records, waiting at
  // most timeout_ms (0: no limit).
  void Prepare(const std::vector<Outgoing>& records, uint32_t timeout_ms) {
    std::memset(bytes_, 0, sizeof(lpc_transfer));
    size_t at = 0;
    size_t end = 0;
    for (const Outgoing& r : records) {
      std::memcpy(data() + at, &r.header, sizeof r.header);
      std::memcpy(data() + at + sizeof r.header, r.payload.data(),
                  r.payload.size());
      end = at + sizeof r.header + r.payload.size();
      at += LPC_RECORD_SPACE(r.payload.size());
    }
    lpc_transfer t{};
    t.send_length = static_cast<uint32_t>(end);
    t.max_records = kMaxRecords;
    t.timeout_ms = timeout_ms;
    std::memcpy(bytes_, &t, sizeof t);
  }
  // ioctl(LPC_IOC_TRANSFER): 0 or errno.
  int Transfer(int fd) {
    return ioctl(fd, LPC_IOC_TRANSFER(kBufferSize), bytes_) < 0 ? errno : 0;
  }
  lpc_transfer header() const {
    lpc_transfer t;
    std::memcpy(&t, bytes_, sizeof t);
    return t;
  }
  // Calls f(record, payload) for each record received. False if they are
  // not framed as lpc.h says.
  template <class F>
  bool ForEachReceived(F f) const {
    lpc_transfer t = header();
    if (t.received_length > kBufferSize - sizeof t) return false;
    size_t at = 0;
    for (uint32_t i = 0; i < t.received; ++i) {
      lpc_record record;
      if (at + sizeof record > t.received_length) return false;
      std::memcpy(&record, data() + at, sizeof record);
      if (at + sizeof record + record.length > t.received_length) return false;
      f(record, std::string_view(data() + at + sizeof record, record.length));
      at += LPC_RECORD_SPACE(record.length);
    }
    return true;
  }

 private:
  char* data() { return bytes_ + sizeof(lpc_transfer); }
  const char* data() const { return bytes_ + sizeof(lpc_transfer); }

  alignas(8) char bytes_[kBufferSize];
};

const char* DisconnectReason(uint32_t flags) {
  if (flags & LPC_DISCONNECT_CLIENT_CLOSED) return "client closed";
  if (flags & LPC_DISCONNECT_SERVER_CLOSED) return "server closed";
  if (flags & LPC_DISCONNECT_WITHDRAWN) return "withdrawn";
  return "unknown reason";
}

// What the threads share: the handle, the store and the counts.
class Pool {
 public:
  explicit Pool(int port_fd) : port_fd_(port_fd), backlog_(port_fd) {}

  // Runs `threads` workers until Stop().
  void Start(int threads) {
    for (int i = 0; i < threads; ++i) {
      Worker& worker = workers_.emplace_back();
      worker.thread = std::thread([this, &worker] {
        Work();
        worker.done = true;
      });
    }
  }

  // Makes every worker leave its loop and joins them. A worker may be
  // about to enter the ioctl when the signal comes, so the signal is sent
  // again until the worker has gone.
  void Stop() {
    stopping_ = true;
    for (Worker& worker : workers_) {
      while (!worker.done) {
        pthread_kill(worker.thread.native_handle(), kWakeSignal);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      worker.thread.join();
    }
  }

  bool failed() const { return failed_; }

  void PrintSummary() const {
    std::fprintf(stderr,
                 "served %llu connections, %llu messages (%llu calls) with "
                 "%zu threads\n",
                 connections_.load(), messages_.load(), calls_.load(),
                 workers_.size());
  }

 private:
  // How often the backlog is retried while it is not empty.
  static constexpr uint32_t kRetryMs = 5;

  // One worker: each ioctl sends the answers to the previous records and
  // receives the next ones.
  void Work() {
    TransferBuffer buffer;
    std::vector<Outgoing> answers;
    while (!stopping_) {
      bool retrying = !backlog_.empty();
      if (retrying) backlog_.Retry();
      buffer.Prepare(answers, retrying ? kRetryMs : 0);
      int err = buffer.Transfer(port_fd_);
      if (err == 0 && buffer.header().send_error != 0) {
        // Record number `sent` was refused, and nothing was received.
        SendEach(answers, buffer.header().sent);
      } else if (err != 0 && !answers.empty()) {
        // Nothing took effect: the first record may be what failed (its
        // errno is the ioctl's), so they go one at a time.
        SendEach(answers, 0);
      }
      bool had_answers = !answers.empty();
      answers.clear();
      if (err != 0) {
        // Nothing was sent or received. EINTR: Stop(), or another signal;
        // ETIMEDOUT: time to retry the backlog.
        if (err == EINTR || err == ETIMEDOUT || had_answers) continue;
        return Fail("transfer", err);
      }
      if (buffer.header().send_error != 0) continue;
      bool framed = buffer.ForEachReceived(
          [&](const lpc_record& record, std::string_view payload) {
            Handle(record, payload, &answers);
          });
      if (!framed) return Fail("transfer: badly framed records", EPROTO);
    }
  }

  // Adds to `answers` what answers `record`.
  void Handle(const lpc_record& record, std::string_view payload,
              std::vector<Outgoing>* answers) {
    const auto conn = static_cast<unsigned long long>(record.conn_id);
    switch (record.type) {
      case LPC_REC_CONNECT:
        ++connections_;
        std::printf("connect conn=%llu pid=%u uid=%u gid=%u\n", conn,
                    record.pid, record.uid, record.gid);
        // An auto-accept port needs no answer.
        if (!(record.flags & LPC_CONNECT_ACCEPTED)) {
          answers->push_back(MakeRecord(LPC_REC_ACCEPT, record.conn_id));
        }
        break;
      case LPC_REC_MESSAGE: {
        ++messages_;
        if (record.flags & LPC_MESSAGE_CALL) ++calls_;
        std::string reply;
        {
          std::lock_guard lock(store_mu_);
          reply = store_.Handle(payload);
        }
        reply.resize(std::min<size_t>(reply.size(), LPC_MAX_MESSAGE));
        Outgoing r = MakeRecord(LPC_REC_REPLY, record.conn_id, record.msg_id,
                                std::move(reply));
        // Behind the replies to this client that wait for room, if any.
        if (!backlog_.empty() && backlog_.Holds(record.conn_id)) {
          backlog_.Add(r);
        } else {
          answers->push_back(std::move(r));
        }
        break;
      }
      case LPC_REC_DISCONNECT:
        std::printf("disconnect conn=%llu (%s)\n", conn,
                    DisconnectReason(record.flags));
        backlog_.Forget(record.conn_id);
        break;
      case LPC_REC_CANCEL:
        // The caller stopped waiting (a signal, its timeout_ms); a reply
        // written now is accepted and dropped by the daemon.
        std::printf(
            "cancel conn=%llu msg=%llu (%s)\n", conn,
            static_cast<unsigned long long>(record.msg_id),
            record.flags & LPC_CANCEL_TIMED_OUT ? "timed out" : "interrupted");
        break;
      default:
        std::printf("ignoring record type %u\n", record.type);
    }
  }

  // Sends records[from...] one at a time. A reply the client has no room
  // for goes to the backlog; another record that fails is reported and
  // dropped.
  void SendEach(const std::vector<Outgoing>& records, size_t from) {
    for (size_t i = from; i < records.size(); ++i) {
      const Outgoing& r = records[i];
      int err = backlog_.SendOrQueue(r);
      if (err == 0) continue;
      if (err == EAGAIN && r.header.type == LPC_REC_REPLY) {
        backlog_.Add(r);
        continue;
      }
      Backlog::Report(r, err);
      if (err == EMSGSIZE && r.header.type == LPC_REC_REPLY) {
        // The caller's buffer has no room for the reply, and it would wait
        // for ever: end the connection, which fails its call with EPIPE.
        lpc_record end{};
        end.type = LPC_REC_DISCONNECT;
        end.conn_id = r.header.conn_id;
        SendOne(port_fd_, {end, {}});
      }
    }
  }

  void Fail(const char* what, int err) {
    std::fprintf(stderr, "lpc-example-pool-server: %s: %s\n", what,
                 std::strerror(err));
    failed_ = true;
    kill(getpid(), kFailedSignal);
  }

  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};  // set when it has left Work()
  };

  int port_fd_;
  std::deque<Worker> workers_;  // a deque: workers never move
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failed_{false};
  Backlog backlog_;
  std::mutex store_mu_;
  KeyValueStore store_;  // guarded by store_mu_
  std::atomic<unsigned long long> connections_{0};
  std::atomic<unsigned long long> messages_{0};
  std::atomic<unsigned long long> calls_{0};
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "lpc-example-pool-server: %s: %s\n", what.c_str(),
               std::strerror(errno));
  return 1;
}

void IgnoreWake(int) {}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int threads = 4;
  if (args.size() >= 2 && args[0] == "--threads") {
    char* end = nullptr;
    long n = std::strtol(args[1].c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 64) args.assign(3, "");  // usage error
    threads = static_cast<int>(n);
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.size() > 2 || (!args.empty() && args[0].starts_with("-"))) {
    std::fprintf(stderr,
                 "usage: %s [--threads N] [MOUNT_DIR [PORT_NAME]] (N: 1 to "
                 "64, default 4)\n",
                 argv[0]);
    return 2;
  }
  const char* env_mount = std::getenv("LPC_MOUNT");
  std::string mount = !args.empty() ? args[0] : env_mount ? env_mount : "/lpc";
  std::string path = mount + "/" + (args.size() > 1 ? args[1] : "kv");
  // Stdout is a log that tests read while the server runs.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  // The main thread waits for these with sigwait(); blocked before any
  // thread starts, so every thread inherits the mask.
  sigset_t waited;
  sigemptyset(&waited);
  for (int sig : {SIGINT, SIGTERM, kFailedSignal}) sigaddset(&waited, sig);
  if (pthread_sigmask(SIG_BLOCK, &waited, nullptr) != 0) {
    return Fail("pthread_sigmask");
  }
  // kWakeSignal interrupts a worker's ioctl: a handler without SA_RESTART.
  struct sigaction wake {};
  wake.sa_handler = IgnoreWake;
  sigemptyset(&wake.sa_mask);
  if (sigaction(kWakeSignal, &wake, nullptr) < 0) return Fail("sigaction");

  // Blocking: each worker waits in its ioctl (which sees no O_NONBLOCK
  // anyway), and a write() that falls back waits for room.
  int port_fd = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
  if (port_fd < 0) return Fail(path);
  // Short messages only: every record then fits a worker's ioctl buffer,
  // and a client's larger write fails EMSGSIZE instead of stopping the
  // pool (the port's limit is 64 KiB unless its server says otherwise).
  // Before any client can send: requests wait for their accept.
  struct {
    lpc_record header;
    lpc_port_limits limits;
  } options{};
  options.header.type = LPC_REC_PORT_OPTIONS;
  options.header.length = sizeof options.limits;
  options.limits.max_message = LPC_MAX_MESSAGE;
  if (write(port_fd, &options, sizeof options) < 0) return Fail("port options");
  std::printf("listening on %s with %d threads\n", path.c_str(), threads);

  Pool pool(port_fd);
  pool.Start(threads);
  int sig = 0;
  if (sigwait(&waited, &sig) != 0) return Fail("sigwait");
  if (sig != kFailedSignal) std::printf("stopping on %s\n", strsignal(sig));
  pool.Stop();
  pool.PrintSummary();
  close(port_fd);  // removes the port; every connection ends
  return pool.failed() ? 1 : 0;
}
