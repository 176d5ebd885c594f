// A completion-port server (lpc.h LPC_IOC_TRANSFER, ioctl-spec "Several
// threads may wait in TRANSFER on one server handle"): 8 server threads
// each loop on one ioctl that sends the replies to what it received last
// time and waits for the next records; 256 client threads, each with a
// connection of its own, make calls. Every reply must reach its caller,
// every request be handled exactly once, and every server thread get a
// share. No timing: the counts are checked, and the share is made certain
// by each server thread holding its first request until all eight hold
// one (which only a daemon that hands records to every waiter allows;
// otherwise the watchdog ends the test).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ioctl_buffer.h"
#include "mount_fixture.h"

namespace lpctest {
namespace {

constexpr int kServerThreads = 8;
constexpr int kClients = 256;
constexpr int kCallsPerClient = 8;
// A server thread takes at most kMaxRecords records at a time; its replies,
// each with a payload of less than 64 bytes, then fit one buffer.
constexpr uint32_t kMaxRecords = 16;
constexpr size_t kBufferSize = 4096;
static_assert(sizeof(lpc_transfer) + kMaxRecords * LPC_RECORD_SPACE(64) <=
              kBufferSize);

class CompletionPortTest : public MountTest {
 protected:
  unsigned WatchdogSeconds() const override { return 60; }
};

// Counts the server threads that have taken their first request, so that
// each can wait until all have one.
class FirstRequestLatch {
 public:
  void ArriveAndWait() {
    std::unique_lock lock(mu_);
    ++arrived_;
    cv_.notify_all();
    while (arrived_ < kServerThreads && !WatchdogFired()) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;  // guarded by mu_
};

// What the server threads saw, shared.
struct ServerLog {
  std::mutex mu;
  std::map<std::pair<uint64_t, uint64_t>, int> handled;  // (conn, msg) -> n
  std::vector<std::string> problems;
  std::atomic<int> disconnects{0};
};

void ServerThread(int srv, int index, FirstRequestLatch* latch, ServerLog* log,
                  long* share) {
  // Replies to send with the next ioctl: (conn, msg, payload).
  struct Pending {
    uint64_t conn, msg;
    std::string payload;
  };
  std::vector<Pending> pending;
  bool first = true;
  while (log->disconnects < kClients && !WatchdogFired()) {
    IoctlBuffer buf(kBufferSize);
    // The timeout only lets the thread see that the test is over.
    buf.header().timeout_ms = 100;
    // So that the replies to what it receives fit the next buffer.
    buf.header().max_records = kMaxRecords;
    for (const Pending& p : pending) {
      if (!buf.AddCommand(LPC_REC_REPLY, p.conn, p.msg, p.payload)) {
        std::lock_guard lock(log->mu);
        log->problems.push_back("replies do not fit the buffer");
        return;
      }
    }
    size_t to_send = pending.size();
    pending.clear();
    int err = buf.Transfer(srv);
    if (err == ETIMEDOUT) continue;
    if (err != 0) {
      std::lock_guard lock(log->mu);
      log->problems.push_back("server thread " + std::to_string(index) + ": " +
                              ErrName(err));
      return;
    }
    if (buf.header().sent != to_send || buf.header().send_error != 0) {
      std::lock_guard lock(log->mu);
      log->problems.push_back("server thread " + std::to_string(index) +
                              ": sent " + std::to_string(buf.header().sent) +
                              " of " + std::to_string(to_send) + ", " +
                              ErrName(buf.header().send_error));
      return;
    }
    std::vector<Record> records;
    if (!buf.Parse(&records)) {
      std::lock_guard lock(log->mu);
      log->problems.push_back("badly framed records");
      return;
    }
    bool got_request = false;
    for (const Record& r : records) {
      switch (r.h.type) {
        case LPC_REC_CONNECT:
          break;
        case LPC_REC_MESSAGE: {
          got_request = true;
          ++*share;
          {
            std::lock_guard lock(log->mu);
            ++log->handled[{r.h.conn_id, r.h.msg_id}];
            if (!(r.h.flags & LPC_MESSAGE_CALL)) {
              log->problems.push_back("not a call: " + Describe(r));
            }
          }
          pending.push_back(
              {r.h.conn_id, r.h.msg_id,
               "re: " + r.payload + " by " + std::to_string(index)});
          break;
        }
        case LPC_REC_DISCONNECT:
          ++log->disconnects;
          break;
        default: {
          std::lock_guard lock(log->mu);
          log->problems.push_back("unexpected " + Describe(r));
        }
      }
    }
    if (got_request && first) {
      first = false;
      latch->ArriveAndWait();
    }
  }
}

// The clients, all in one child process: kClients threads, each with its
// own connection, kCallsPerClient calls each, every reply checked.
int Clients(const std::string& path) {
  CloseOtherFds({});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Opened o = Open(path, O_RDWR);
      if (o.err != 0) {
        std::fprintf(stderr, "client %d: open: %s\n", i,
                     ErrName(o.err).c_str());
        ++failures;
        return;
      }
      for (int k = 0; k < kCallsPerClient; ++k) {
        std::string tag = "c" + std::to_string(i) + "#" + std::to_string(k);
        CallResult r = CallOnce(o.fd.get(), tag);
        std::string want = "re: " + tag + " by ";
        if (r.err != 0 || !r.framing_ok ||
            r.reply.h.msg_id != r.t.first_msg_id ||
            r.reply.payload.compare(0, want.size(), want) != 0) {
          std::fprintf(stderr, "client %d: call \"%s\": %s, got \"%s\"\n", i,
                       tag.c_str(), ErrName(r.err).c_str(),
                       r.reply.payload.c_str());
          ++failures;
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return failures == 0 ? 0 : 1;
}

TEST_F(CompletionPortTest, EightServerThreadsServeTwoHundredFiftySixCallers) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  // The clients' process first: a fork while the server threads run could
  // copy a lock one of them holds (the sanitizers' allocator's, say).
  std::string path = P("svc");
  pid_t clients = Spawn([path] { return Clients(path); });
  FirstRequestLatch latch;
  ServerLog log;
  std::vector<long> shares(kServerThreads, 0);
  std::vector<std::jthread> servers;
  for (int i = 0; i < kServerThreads; ++i) {
    servers.emplace_back(ServerThread, srv.get(), i, &latch, &log, &shares[i]);
  }
  EXPECT_EQ(0, WaitExit(clients)) << "every client got its own replies";
  for (std::jthread& t : servers) t.join();

  for (const std::string& p : log.problems) ADD_FAILURE() << p;
  EXPECT_EQ(kClients, log.disconnects.load());
  std::map<uint64_t, int> per_conn;
  for (auto& [key, n] : log.handled) {
    EXPECT_EQ(1, n) << "conn " << key.first << " msg " << key.second
                    << " handled " << n << " times";
    ++per_conn[key.first];
  }
  EXPECT_EQ(static_cast<size_t>(kClients), per_conn.size());
  for (auto& [conn, n] : per_conn) {
    EXPECT_EQ(kCallsPerClient, n) << "conn " << conn;
  }
  long total = 0;
  for (int i = 0; i < kServerThreads; ++i) {
    EXPECT_GT(shares[i], 0) << "server thread " << i << " handled nothing";
    total += shares[i];
    std::printf("server thread %d handled %ld requests\n", i, shares[i]);
  }
  EXPECT_EQ(long{kClients} * kCallsPerClient, total);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

}  // namespace
}  // namespace lpctest
