// Request and reply under a storm of signals. Several clients and one
// server echo tagged messages while each process gets SIGALRM at
// pseudo-random intervals from a timer of its own (handler without
// SA_RESTART) and retries every call that fails with EINTR. lpc.7
// ("MESSAGES": signals) says such a call has taken or sent nothing, so
// retrying is always right: every reply must reach the client that asked,
// in order, no call may fail with anything but EINTR, and nothing may stay
// blocked (the watchdog bounds the test). The intervals come from fixed
// seeds, but where the signals land is up to the scheduler.
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {
namespace {

constexpr int kClients = 4;
constexpr int kEchoes = 2000;  // per client
// Signal intervals, in microseconds.
constexpr long kMinInterval = 50;
constexpr long kMaxInterval = 1500;

// ------------------------------------------------------------ alarms

// Each process has its own one-shot timer, re-armed from the handler with
// the next interval of a xorshift generator (async-signal-safe).
timer_t g_timer;
uint64_t g_rng;
volatile sig_atomic_t g_alarms = 0;

long NextIntervalNs() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  long us = kMinInterval +
            static_cast<long>(
                g_rng % static_cast<uint64_t>(kMaxInterval - kMinInterval + 1));
  return us * 1000;
}

void ArmTimer() {
  itimerspec its{};
  its.it_value.tv_nsec = NextIntervalNs();
  timer_settime(g_timer, 0, &its, nullptr);
}

void OnAlarm(int) {
  g_alarms = g_alarms + 1;
  int saved = errno;
  ArmTimer();
  errno = saved;
}

// Inside a child: SIGALRM from now on, every 50 to 1500 us.
void StartAlarms(uint64_t seed) {
  g_rng = seed;
  // A waiting call returns EINTR; OnAlarm counts and re-arms the timer.
  CatchWithoutRestart(SIGALRM, OnAlarm);
  sigevent sev{};
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGALRM;
  CHILD_CHECK(timer_create(CLOCK_MONOTONIC, &sev, &g_timer) == 0);
  ArmTimer();
}

void StopAlarms() {
  timer_delete(g_timer);
  signal(SIGALRM, SIG_IGN);
}

// ------------------------------------------------------------ calls

// What a process did, sent to the test at the end.
struct Tally {
  int who = 0;  // client index, or -1 for the server
  long calls = 0;
  long eintr = 0;
  long alarms = 0;
};

// write() of one message or record, retried while it fails with EINTR.
// Returns 0 or the errno; a short write is EIO.
int WriteRetrying(int fd, std::string_view data, Tally* t) {
  for (;;) {
    ++t->calls;
    ssize_t n = write(fd, data.data(), data.size());
    if (n >= 0) return static_cast<size_t>(n) == data.size() ? 0 : EIO;
    if (errno != EINTR) return errno;
    ++t->eintr;
  }
}

// read() retried while it fails with EINTR. Returns 0 or the errno.
int ReadRetrying(int fd, char* buf, size_t size, size_t* got, Tally* t) {
  for (;;) {
    ++t->calls;
    ssize_t n = read(fd, buf, size);
    if (n >= 0) {
      *got = static_cast<size_t>(n);
      return 0;
    }
    if (errno != EINTR) return errno;
    ++t->eintr;
  }
}

std::string Tag(int client, int seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "c%d #%d", client, seq);
  return buf;
}

// ------------------------------------------------------------ processes

// The server: replies to every MESSAGE with its payload until all clients
// have disconnected. Checks that each connection's messages come in
// order, numbered 1, 2, 3, ..., from the process that connected.
int Serve(int srv, int report_fd) {
  Tally t;
  t.who = -1;
  StartAlarms(0x5eed0001);
  struct Conn {
    uint32_t pid = 0;
    uint64_t next_msg = 1;
  };
  std::map<uint64_t, Conn> conns;
  int disconnects = 0;
  std::vector<char> buf(LPC_RECORD_MAX);
  while (disconnects < kClients) {
    size_t n = 0;
    CHILD_CHECK_ERR(0, ReadRetrying(srv, buf.data(), buf.size(), &n, &t));
    CHILD_CHECK(n >= sizeof(lpc_record));
    lpc_record h;
    std::memcpy(&h, buf.data(), sizeof h);
    CHILD_CHECK(n == sizeof h + h.length);
    std::string payload(buf.data() + sizeof h, h.length);
    switch (h.type) {
      case LPC_REC_CONNECT:
        CHILD_CHECK(conns.find(h.conn_id) == conns.end());
        conns[h.conn_id].pid = h.pid;
        break;
      case LPC_REC_MESSAGE: {
        auto it = conns.find(h.conn_id);
        CHILD_CHECK(it != conns.end());
        if (h.msg_id != it->second.next_msg || h.pid != it->second.pid) {
          std::fprintf(stderr,
                       "server: conn %llu: message %llu from pid %u, want "
                       "message %llu from pid %u: \"%s\"\n",
                       static_cast<unsigned long long>(h.conn_id),
                       static_cast<unsigned long long>(h.msg_id), h.pid,
                       static_cast<unsigned long long>(it->second.next_msg),
                       it->second.pid, payload.c_str());
          CHILD_CHECK(!"messages of a connection in order, from its client");
        }
        ++it->second.next_msg;
        lpc_record r{};
        r.type = LPC_REC_REPLY;
        r.conn_id = h.conn_id;
        r.msg_id = h.msg_id;
        r.length = h.length;
        std::string rec(reinterpret_cast<const char*>(&r), sizeof r);
        rec += payload;
        CHILD_CHECK_ERR(0, WriteRetrying(srv, rec, &t));
        break;
      }
      case LPC_REC_DISCONNECT:
        CHILD_CHECK(conns.count(h.conn_id));
        ++disconnects;
        break;
      default:
        CHILD_CHECK(!"only CONNECT, MESSAGE and DISCONNECT records");
    }
  }
  StopAlarms();
  t.alarms = g_alarms;
  CHILD_CHECK(write(report_fd, &t, sizeof t) == sizeof t);
  return 0;
}

// A client: kEchoes round trips, each reply checked against its request.
int Client(const std::string& path, int who, int report_fd) {
  Tally t;
  t.who = who;
  // Auto-accepted: the open does not wait, so it needs no retrying.
  Opened o = Open(path, O_RDWR);
  CHILD_CHECK_ERR(0, o.err);
  int fd = o.fd.get();
  StartAlarms(0x5eed1000 + static_cast<uint64_t>(who));
  char buf[LPC_MAX_MESSAGE];
  uint64_t pause_rng = 0x9a05e + static_cast<uint64_t>(who);
  for (int seq = 0; seq < kEchoes; ++seq) {
    // Now and then a pause, so that the server runs out of requests and
    // its reads wait, and get interrupted, too.
    pause_rng = pause_rng * 6364136223846793005u + 1442695040888963407u;
    if ((pause_rng >> 33) % 4 == 0) {
      timespec pause{0,
                     static_cast<long>(100 + (pause_rng >> 40) % 200) * 1000};
      nanosleep(&pause, nullptr);  // an alarm may cut it short: fine
    }
    std::string tag = Tag(who, seq);
    CHILD_CHECK_ERR(0, WriteRetrying(fd, tag, &t));
    size_t n = 0;
    CHILD_CHECK_ERR(0, ReadRetrying(fd, buf, sizeof buf, &n, &t));
    std::string got(buf, n);
    if (got != tag) {
      std::string what = "\"" + got + "\"";
      if (got.size() >= sizeof(lpc_record)) {
        Record r;
        std::memcpy(&r.h, got.data(), sizeof r.h);
        r.payload = got.substr(sizeof r.h);
        what = "a record: " + Describe(r);
      }
      std::fprintf(stderr, "client %d: sent \"%s\", got %zu bytes, %s\n", who,
                   tag.c_str(), n, what.c_str());
      CHILD_CHECK(!"every reply reaches the client that asked, in order");
    }
  }
  StopAlarms();
  t.alarms = g_alarms;
  CHILD_CHECK(write(report_fd, &t, sizeof t) == sizeof t);
  return 0;
}

// 1 to 3.5 s on 2 cores, 3 to 6 s with a sanitizer build of the daemon
// (how many calls get interrupted varies from run to run); the watchdog
// leaves room for a loaded machine.
class SignalStressTest : public MountTest {
 protected:
  unsigned WatchdogSeconds() const override { return 30; }
};

TEST_F(SignalStressTest, EchoesSurviveRandomSignalsOnBothSides) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  int fds[2];
  ASSERT_EQ(0, pipe(fds));
  UniqueFd report_r(fds[0]), report_w(fds[1]);
  auto start = std::chrono::steady_clock::now();

  int sfd = srv.get();
  int wfd = report_w.get();
  pid_t server = Spawn([sfd, wfd] { return Serve(sfd, wfd); });
  std::string path = P("svc");
  std::vector<pid_t> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Spawn([path, i, wfd] { return Client(path, i, wfd); }));
  }
  // As soon as one process fails, the others would wait for good: stop
  // them, so the failure is reported at once.
  std::vector<std::pair<pid_t, std::string>> running = {{server, "server"}};
  for (int i = 0; i < kClients; ++i) {
    running.push_back({clients[i], "client " + std::to_string(i)});
  }
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
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  report_w.reset();
  Tally t;
  int reports = 0;
  long eintr = 0;
  while (read(report_r.get(), &t, sizeof t) == sizeof t) {
    ++reports;
    eintr += t.eintr;
    std::printf("%s %d: %ld calls, %ld EINTR, %ld signals\n",
                t.who < 0 ? "server" : "client", t.who < 0 ? 0 : t.who, t.calls,
                t.eintr, t.alarms);
  }
  EXPECT_EQ(kClients + 1, reports) << "every process finished its part";
  std::printf("%d x %d echoes in %.2f s, %ld calls interrupted\n", kClients,
              kEchoes, seconds, eintr);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

}  // namespace
}  // namespace lpctest
