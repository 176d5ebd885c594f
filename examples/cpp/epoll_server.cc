// epoll_server: a tiny key-value store served on an lpcfs port.
//
//   lpc-example-epoll-server [MOUNT_DIR [PORT_NAME]]
//
// Creates MOUNT_DIR/PORT_NAME (default $LPC_MOUNT or /lpc, and "kv") with mode
// 0666 less the umask, and answers each client message with an LPC_REC_REPLY:
//
//   set KEY VALUE   -> OK               (VALUE is the rest of the line)
//   get KEY         -> VALUE, or ERR no such key
//   del KEY         -> OK, or ERR no such key
//   anything else   -> ERR usage: set KEY VALUE | get KEY | del KEY
//
// One trailing newline of a message is ignored, so `echo get k >PORT` works.
// Every client is served from one thread: the server handle is non-blocking
// and sits in an epoll set with a signalfd (SIGINT, SIGTERM: exit 0) and a
// timerfd that retries replies a full client queue refused (see
// ReplyBacklog). At exit a summary goes to stderr. pool_server.cc serves the
// same store from a pool of threads, each in reply-and-receive ioctls.

#include <fcntl.h>
#include <lpc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "key_value_store.h"

namespace {

// Writes one record (header + payload) to the server handle. Returns 0 or the
// errno of the write.
int WriteRecord(int port_fd, uint32_t type, uint64_t conn_id,
                uint64_t msg_id = 0, std::string_view payload = {}) {
  lpc_record header{};
  header.type = type;
  header.length = static_cast<uint32_t>(payload.size());
  header.conn_id = conn_id;
  header.msg_id = msg_id;
  std::string record(reinterpret_cast<const char*>(&header), sizeof header);
  record.append(payload);
  return write(port_fd, record.data(), record.size()) < 0 ? errno : 0;
}

const char* DisconnectReason(uint32_t flags) {
  if (flags & LPC_DISCONNECT_CLIENT_CLOSED) return "client closed";
  if (flags & LPC_DISCONNECT_SERVER_CLOSED) return "server closed";
  if (flags & LPC_DISCONNECT_WITHDRAWN) return "withdrawn";
  return "unknown reason";
}

// Replies that the server handle refused with EAGAIN because the client's
// incoming queue (queue_messages/queue_bytes) was full.
//
// epoll cannot say when such a queue has room again: the server handle's
// POLLOUT is always set, because it takes records at any time and only a
// SEND/REPLY to one full client queue fails. So the backlog is retried on
// every wakeup of the event loop and, while it is not empty, on a periodic
// timerfd. Replies of one connection keep their order: once one is waiting,
// later ones queue behind it.
class ReplyBacklog {
 public:
  // More waiting replies than this and the client is disconnected: it sends
  // without reading. The daemon keeps only reply_window (default 1024)
  // unreplied ids per connection, so the limit stays below that.
  static constexpr size_t kMaxPerConnection = 512;
  static constexpr long kRetryNanoseconds = 5'000'000;

  ReplyBacklog(int port_fd, int timer_fd)
      : port_fd_(port_fd), timer_fd_(timer_fd) {}

  // Sends the reply now, or keeps it for later if the client's queue is full.
  void Reply(uint64_t conn_id, uint64_t msg_id, std::string payload) {
    auto it = waiting_.find(conn_id);
    if (it == waiting_.end()) {
      int err = WriteRecord(port_fd_, LPC_REC_REPLY, conn_id, msg_id, payload);
      if (err != EAGAIN) {
        if (err != 0) ReportDropped(conn_id, err);
        return;
      }
      std::printf("conn=%llu: client queue full, replies deferred\n",
                  static_cast<unsigned long long>(conn_id));
      it = waiting_.try_emplace(conn_id).first;
    } else if (it->second.size() == kMaxPerConnection) {
      std::fprintf(stderr,
                   "conn=%llu does not read its replies: disconnecting\n",
                   static_cast<unsigned long long>(conn_id));
      WriteRecord(port_fd_, LPC_REC_DISCONNECT, conn_id);
      waiting_.erase(it);
      UpdateTimer();
      return;
    }
    it->second.push_back({msg_id, std::move(payload)});
    ++deferred_;
    UpdateTimer();
  }

  // The connection has ended: its waiting replies can never be delivered.
  void Forget(uint64_t conn_id) {
    waiting_.erase(conn_id);
    UpdateTimer();
  }

  void Retry() {
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      it = Flush(it->first, it->second) ? waiting_.erase(it) : std::next(it);
    }
    UpdateTimer();
  }

  unsigned long long deferred() const { return deferred_; }

 private:
  struct Pending {
    uint64_t msg_id;
    std::string payload;
  };

  // Sends the waiting replies of one connection in order. Returns true when
  // none is left to retry.
  bool Flush(uint64_t conn_id, std::deque<Pending>& queue) {
    while (!queue.empty()) {
      int err = WriteRecord(port_fd_, LPC_REC_REPLY, conn_id,
                            queue.front().msg_id, queue.front().payload);
      if (err == EAGAIN) return false;
      if (err != 0) {
        ReportDropped(conn_id, err);
        return true;  // the connection is gone: so are the other replies
      }
      queue.pop_front();
    }
    return true;
  }

  // EPIPE: the client closed; its DISCONNECT record is on the way.
  static void ReportDropped(uint64_t conn_id, int err) {
    std::fprintf(stderr, "reply to conn=%llu dropped: %s\n",
                 static_cast<unsigned long long>(conn_id), std::strerror(err));
  }

  void UpdateTimer() {
    bool armed = !waiting_.empty();
    if (armed == timer_armed_) return;
    itimerspec spec{};
    if (armed)
      spec.it_interval.tv_nsec = spec.it_value.tv_nsec = kRetryNanoseconds;
    timerfd_settime(timer_fd_, 0, &spec, nullptr);
    timer_armed_ = armed;
  }

  int port_fd_;
  int timer_fd_;
  bool timer_armed_ = false;
  std::map<uint64_t, std::deque<Pending>> waiting_;  // never holds empty queues
  unsigned long long deferred_ = 0;
};

class Server {
 public:
  Server(int port_fd, int timer_fd)
      : port_fd_(port_fd), backlog_(port_fd, timer_fd) {}

  // Reads the records queued on the non-blocking server handle. Returns false
  // if the handle failed.
  bool ReadRecords() {
    // Level-triggered epoll: whatever is left after this batch wakes us again.
    for (int i = 0; i < 64; ++i) {
      ssize_t n = read(port_fd_, buffer_.data(), buffer_.size());
      if (n < 0) {
        if (errno == EAGAIN) return true;
        std::perror("read server handle");
        return false;
      }
      lpc_record record;
      std::memcpy(&record, buffer_.data(), sizeof record);
      std::string_view payload(buffer_.data() + sizeof record, record.length);
      Handle(record, payload);
    }
    return true;
  }

  void RetryReplies() { backlog_.Retry(); }

  void PrintSummary() const {
    std::fprintf(stderr,
                 "served %llu connections, %llu messages; replies deferred "
                 "(client queue full): %llu\n",
                 connections_, messages_, backlog_.deferred());
  }

 private:
  void Handle(const lpc_record& record, std::string_view payload) {
    switch (record.type) {
      case LPC_REC_CONNECT:
        OnConnect(record, payload);
        break;
      case LPC_REC_MESSAGE: {
        ++messages_;
        std::string reply = store_.Handle(payload);
        reply.resize(std::min<size_t>(reply.size(), LPC_MAX_MESSAGE));
        backlog_.Reply(record.conn_id, record.msg_id, std::move(reply));
        break;
      }
      case LPC_REC_DISCONNECT:
        std::printf("disconnect conn=%llu (%s)\n",
                    static_cast<unsigned long long>(record.conn_id),
                    DisconnectReason(record.flags));
        backlog_.Forget(record.conn_id);
        break;
      default:
        std::printf("ignoring record type %u\n", record.type);
    }
  }

  void OnConnect(const lpc_record& record, std::string_view payload) {
    lpc_connect_info info;
    std::memcpy(&info, payload.data(), sizeof info);
    std::string groups;
    for (uint32_t i = 0; i < info.ngroups; ++i) {
      uint32_t gid;
      std::memcpy(&gid, payload.data() + sizeof info + i * sizeof gid,
                  sizeof gid);
      groups += (i ? "," : "") + std::to_string(gid);
    }
    // Protocol version 2: the process (pid and start time) follows groups[].
    lpc_connect_process process{};
    size_t process_at = sizeof info + size_t{info.ngroups} * sizeof(uint32_t);
    if (payload.size() >= process_at + sizeof process) {
      std::memcpy(&process, payload.data() + process_at, sizeof process);
    }
    std::printf(
        "connect conn=%llu pid=%u uid=%u gid=%u groups=%s start_time=%llu\n",
        static_cast<unsigned long long>(record.conn_id), record.pid, record.uid,
        record.gid, groups.c_str(),
        static_cast<unsigned long long>(process.start_time));
    ++connections_;
    if (record.flags & LPC_CONNECT_ACCEPTED) return;  // auto-accept port
    // ENOTCONN: the client gave up (signal, connect_timeout) meanwhile.
    if (int err = WriteRecord(port_fd_, LPC_REC_ACCEPT, record.conn_id)) {
      std::printf("accept conn=%llu failed: %s\n",
                  static_cast<unsigned long long>(record.conn_id),
                  std::strerror(err));
    }
  }

  int port_fd_;
  ReplyBacklog backlog_;
  KeyValueStore store_;
  std::vector<char> buffer_ = std::vector<char>(LPC_RECORD_MAX);
  unsigned long long connections_ = 0;
  unsigned long long messages_ = 0;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "lpc-example-epoll-server: %s: %s\n", what.c_str(),
               std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3) {
    std::fprintf(stderr, "usage: %s [MOUNT_DIR [PORT_NAME]]\n", argv[0]);
    return 2;
  }
  const char* env_mount = std::getenv("LPC_MOUNT");
  std::string mount = argc > 1 ? argv[1] : env_mount ? env_mount : "/lpc";
  std::string path = mount + "/" + (argc > 2 ? argv[2] : "kv");
  // Stdout is a log that tests read while the server runs.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  // Block the signals before anything else so they queue for the signalfd.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &signals, nullptr) < 0) return Fail("sigprocmask");
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) return Fail("signalfd");
  int timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (timer_fd < 0) return Fail("timerfd_create");

  int port_fd = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
  if (port_fd < 0) return Fail(path);
  // Non-blocking: an empty handle reads EAGAIN, and a reply to a full client
  // queue fails EAGAIN instead of stalling every other client.
  if (fcntl(port_fd, F_SETFL, fcntl(port_fd, F_GETFL) | O_NONBLOCK) < 0) {
    return Fail("fcntl O_NONBLOCK");
  }
  std::printf("listening on %s\n", path.c_str());

  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return Fail("epoll_create1");
  for (int fd : {port_fd, signal_fd, timer_fd}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
      return Fail("epoll_ctl");
    }
  }

  Server server(port_fd, timer_fd);
  for (;;) {
    epoll_event events[3];
    int n = epoll_wait(epoll_fd, events, 3, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == signal_fd) {
        signalfd_siginfo info;
        if (read(signal_fd, &info, sizeof info) != sizeof info) {
          return Fail("read signalfd");
        }
        std::printf("stopping on %s\n", strsignal(info.ssi_signo));
        server.PrintSummary();
        close(port_fd);  // removes the port; every connection ends
        return 0;
      }
      if (fd == timer_fd) {
        uint64_t expirations;
        if (read(timer_fd, &expirations, sizeof expirations) < 0 &&
            errno != EAGAIN) {
          return Fail("read timerfd");
        }
      }
      if (fd == port_fd && !server.ReadRecords()) return 1;
    }
    server.RetryReplies();
  }
}
