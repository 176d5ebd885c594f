// Calls that end unanswered (lpc.h LPC_IOC_CALL, LPC_REC_CANCEL): a
// signal makes the call return EINTR at once; a message the server had not
// read is withdrawn, one it had read is cancelled with an LPC_REC_CANCEL
// record, and the server's late reply is accepted, dropped and counted in
// .stats, never delivered to a later call or read. The stress test calls
// from several threads of several processes under random per-thread
// signals: every call gets its own reply or EINTR, never another's.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ioctl_buffer.h"
#include "mount_fixture.h"

namespace lpctest {
namespace {

class CancelTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    // SIGUSR1 interrupts a waiting call (EINTR) instead of killing us.
    CatchWithoutRestart(SIGUSR1);
  }
};

void Interrupt(pid_t tid) { syscall(SYS_tgkill, getpid(), tid, SIGUSR1); }

TEST_F(CancelTest, SignalledCallReturnsEintrAndTheServerGetsCancel) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  Record m;
  {
    BackgroundCall call(fd, "never answered in time");
    m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    ASSERT_TRUE(m.h.flags & LPC_MESSAGE_CALL);
    ASSERT_TRUE(WaitUntilBlockedIn(call.tid(), IoctlSyscalls()))
        << DescribeProc(call.tid());
    Interrupt(call.tid());
    // It returns although the server never answers.
    EXPECT_ERR(EINTR, call.Wait().err);
  }
  Record cancel = Expect(srv.get(), LPC_REC_CANCEL, c.h.conn_id);
  EXPECT_EQ(m.h.msg_id, cancel.h.msg_id);
  EXPECT_EQ(uint32_t{LPC_CANCEL_INTERRUPTED}, cancel.h.flags);
  EXPECT_EQ(0u, cancel.h.length);
  EXPECT_TRUE(NoRecordQueued(srv.get()));

  // The late reply succeeds for the server and is dropped.
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "late"));
  std::string line = ConnStatsLine(c.h.conn_id);
  EXPECT_TRUE(line.find(" calls=0 replies_dropped=1 ") != std::string::npos)
      << line;

  // Neither read() nor the next call sees it.
  ASSERT_OK(SetNonblocking(fd, true));
  std::string got;
  EXPECT_ERR(EAGAIN, ReadMsg(fd, &got)) << "read \"" << got << "\"";
  ASSERT_OK(SetNonblocking(fd, false));
  BackgroundCall next(fd, "next");
  Record m2 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("next", m2.payload);
  EXPECT_GT(m2.h.msg_id, m.h.msg_id);
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m2.h.msg_id, "for next"));
  CallResult r = next.Wait();
  ASSERT_OK(r.err);
  EXPECT_EQ(m2.h.msg_id, r.reply.h.msg_id);
  EXPECT_EQ("for next", r.reply.payload);
  // Still exactly one reply dropped.
  line = ConnStatsLine(c.h.conn_id);
  EXPECT_TRUE(line.find(" calls=0 replies_dropped=1 ") != std::string::npos)
      << line;
}

TEST_F(CancelTest, WaitingCallIsCountedInStats) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  BackgroundCall call(client.get(), "q");
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  std::string line = ConnStatsLine(c.h.conn_id);
  EXPECT_TRUE(line.find(" calls=1 replies_dropped=0 ") != std::string::npos)
      << line;
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "a"));
  EXPECT_OK(call.Wait().err);
  line = ConnStatsLine(c.h.conn_id);
  EXPECT_TRUE(line.find(" calls=0 replies_dropped=0 ") != std::string::npos)
      << line;
}

TEST_F(CancelTest, SignalledCallTheServerHadNotReadIsWithdrawn) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  {
    BackgroundCall call(client.get(), "withdrawn");
    // The message is queued for the server, which does not read it.
    ASSERT_TRUE(WaitFor([&] { return PollOnce(srv.get(), POLLIN, 0) > 0; }));
    ASSERT_TRUE(WaitUntilBlockedIn(call.tid(), IoctlSyscalls()))
        << DescribeProc(call.tid());
    Interrupt(call.tid());
    EXPECT_ERR(EINTR, call.Wait().err);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "a call withdrawn before the server read it leaves no record";
  ASSERT_OK(WriteMsg(client.get(), "after"));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("after", m.payload);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

// ------------------------------------------------------------ stress

constexpr int kClientProcesses = 2;
constexpr int kThreadsPerClient = 3;
constexpr int kAnsweredCalls = 300;  // per thread
// Signal intervals, in microseconds.
constexpr long kMinInterval = 50;
constexpr long kMaxInterval = 1500;

// Each calling thread has a timer that signals that thread only
// (SIGEV_THREAD_ID); the handler re-arms it with the next interval of a
// xorshift generator of the thread's own.
thread_local timer_t t_timer;
thread_local uint64_t t_rng;
thread_local bool t_has_timer = false;

void ArmThreadTimer() {
  t_rng ^= t_rng << 13;
  t_rng ^= t_rng >> 7;
  t_rng ^= t_rng << 17;
  long us = kMinInterval +
            static_cast<long>(
                t_rng % static_cast<uint64_t>(kMaxInterval - kMinInterval + 1));
  itimerspec its{};
  its.it_value.tv_nsec = us * 1000;
  timer_settime(t_timer, 0, &its, nullptr);
}

void OnThreadAlarm(int) {
  int saved = errno;
  if (t_has_timer) ArmThreadTimer();
  errno = saved;
}

bool StartThreadAlarms(uint64_t seed) {
  t_rng = seed;
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGALRM;
  sev._sigev_un._tid = gettid();
  if (timer_create(CLOCK_MONOTONIC, &sev, &t_timer) != 0) return false;
  t_has_timer = true;
  ArmThreadTimer();
  return true;
}

void StopThreadAlarms() {
  t_has_timer = false;
  timer_delete(t_timer);
}

struct Tally {
  int who = 0;  // client process index, or -1 for the server
  long answered = 0;
  long interrupted = 0;  // calls that returned EINTR (clients)
  long cancels = 0;      // CANCEL records read (server)
};

// A client process: kThreadsPerClient threads calling on one fd until each
// has kAnsweredCalls answers, each checked against its own request.
int CallingClient(const std::string& path, int who, int report_fd) {
  CloseOtherFds({report_fd});
  Opened o = Open(path, O_RDWR);  // auto-accepted: no waiting
  CHILD_CHECK_ERR(0, o.err);
  int fd = o.fd.get();
  CatchWithoutRestart(SIGALRM, OnThreadAlarm);
  std::atomic<long> answered{0}, interrupted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreadsPerClient; ++t) {
    threads.emplace_back([&, t] {
      CHILD_CHECK(StartThreadAlarms(0x5eed2000 + 16 * who + t));
      long attempt = 0;
      for (int done = 0; done < kAnsweredCalls;) {
        char tag[64];
        std::snprintf(tag, sizeof tag, "p%d t%d #%ld", who, t, attempt++);
        CallResult r = CallOnce(fd, tag);
        if (r.err == EINTR) {
          ++interrupted;
          continue;
        }
        CHILD_CHECK_ERR(0, r.err);
        CHILD_CHECK(r.framing_ok);
        if (r.reply.h.msg_id != r.t.first_msg_id ||
            r.reply.payload != std::string("re: ") + tag) {
          std::fprintf(stderr,
                       "client %d thread %d: call \"%s\" (msg %llu) got msg "
                       "%llu \"%s\"\n",
                       who, t, tag,
                       static_cast<unsigned long long>(r.t.first_msg_id),
                       static_cast<unsigned long long>(r.reply.h.msg_id),
                       r.reply.payload.c_str());
          CHILD_CHECK(!"every call gets its own reply");
        }
        ++done;
        ++answered;
      }
      StopThreadAlarms();
    });
  }
  for (std::thread& t : threads) t.join();
  Tally tally;
  tally.who = who;
  tally.answered = answered;
  tally.interrupted = interrupted;
  CHILD_CHECK(write(report_fd, &tally, sizeof tally) == sizeof tally);
  return 0;
}

// The server: replies "re: " + payload to every call, also after it was
// cancelled (the reply is then dropped, and must still succeed), until all
// clients have disconnected. A CANCEL must name a call it has read.
int AnsweringServer(int srv, int report_fd) {
  Tally tally;
  tally.who = -1;
  std::map<uint64_t, std::set<uint64_t>> read_calls;  // conn -> msg ids
  int disconnects = 0;
  while (disconnects < kClientProcesses) {
    Record r;
    CHILD_CHECK_ERR(0, ReadRecord(srv, &r));
    switch (r.h.type) {
      case LPC_REC_CONNECT:
        break;
      case LPC_REC_MESSAGE:
        CHILD_CHECK(r.h.flags & LPC_MESSAGE_CALL);
        read_calls[r.h.conn_id].insert(r.h.msg_id);
        CHILD_CHECK_ERR(
            0, Reply(srv, r.h.conn_id, r.h.msg_id, "re: " + r.payload));
        ++tally.answered;
        break;
      case LPC_REC_CANCEL:
        CHILD_CHECK(r.h.flags == LPC_CANCEL_INTERRUPTED);
        CHILD_CHECK(read_calls[r.h.conn_id].count(r.h.msg_id) == 1);
        ++tally.cancels;
        break;
      case LPC_REC_DISCONNECT:
        ++disconnects;
        break;
      default:
        std::fprintf(stderr, "server: unexpected %s\n", Describe(r).c_str());
        CHILD_CHECK(!"only CONNECT, MESSAGE, CANCEL and DISCONNECT");
    }
  }
  CHILD_CHECK(write(report_fd, &tally, sizeof tally) == sizeof tally);
  return 0;
}

class CancelStressTest : public MountTest {
 protected:
  unsigned WatchdogSeconds() const override { return 60; }
};

TEST_F(CancelStressTest, CallsUnderRandomSignalsGetTheirOwnReplyOrEintr) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  int fds[2];
  ASSERT_EQ(0, pipe(fds));
  UniqueFd report_r(fds[0]), report_w(fds[1]);
  int sfd = srv.get();
  int wfd = report_w.get();
  std::vector<std::pair<pid_t, std::string>> running;
  running.push_back(
      {Spawn([sfd, wfd] { return AnsweringServer(sfd, wfd); }), "server"});
  std::string path = P("svc");
  for (int i = 0; i < kClientProcesses; ++i) {
    running.push_back(
        {Spawn([path, i, wfd] { return CallingClient(path, i, wfd); }),
         "client " + std::to_string(i)});
  }
  // When one process fails the others would wait for good: stop them.
  while (!running.empty()) {
    size_t done = 0;
    ASSERT_TRUE(WaitFor([&] {
      for (done = 0; done < running.size(); ++done) {
        char st = ProcState(running[done].first);
        if (st == 'Z' || st == 0) return true;
      }
      return false;
    }));
    int status = WaitExit(running[done].first);
    EXPECT_EQ(0, status) << running[done].second;
    running.erase(running.begin() + static_cast<long>(done));
    if (status != 0) {
      for (auto& [pid, name] : running) kill(pid, SIGKILL);
    }
  }
  report_w.reset();
  Tally t;
  int reports = 0;
  long interrupted = 0, cancels = 0, answered_by_server = 0, answered = 0;
  while (read(report_r.get(), &t, sizeof t) == sizeof t) {
    ++reports;
    if (t.who < 0) {
      cancels = t.cancels;
      answered_by_server = t.answered;
    } else {
      interrupted += t.interrupted;
      answered += t.answered;
    }
  }
  EXPECT_EQ(kClientProcesses + 1, reports) << "every process finished";
  EXPECT_EQ(long{kClientProcesses} * kThreadsPerClient * kAnsweredCalls,
            answered);
  // Each cancel is one interrupted call the server had read; every call it
  // read it answered (the dropped replies included).
  EXPECT_LE(cancels, interrupted);
  EXPECT_LE(answered, answered_by_server);
  EXPECT_LE(answered_by_server, answered + interrupted);
  std::printf("%ld answered, %ld interrupted, %ld cancelled after reading\n",
              answered, interrupted, cancels);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

}  // namespace
}  // namespace lpctest
