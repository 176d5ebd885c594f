// /.monitor on a real mount (lpc.7 "MONITOR"): a connection's events in
// order, with real users who see only their own ports' traffic, payloads
// only after LPC_IOC_MONITOR, a monitor that never reads losing events
// with a count while the clients go on, and a blocked read that a signal
// interrupts.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "ioctl_buffer.h"
#include "test_users.h"

namespace lpctest {
namespace {

struct Event {
  lpc_monitor_event h{};
  std::string path;
  std::string payload;
};

// The records of one read of a monitor; false if one is malformed.
bool ParseEvents(const char* data, size_t length, std::vector<Event>* out) {
  size_t at = 0;
  while (at < length) {
    Event e;
    if (length - at < sizeof e.h) return false;
    std::memcpy(&e.h, data + at, sizeof e.h);
    if (e.h.size > length - at ||
        e.h.size != sizeof e.h + e.h.path_length + e.h.captured) {
      return false;
    }
    e.path.assign(data + at + sizeof e.h, e.h.path_length);
    e.payload.assign(data + at + sizeof e.h + e.h.path_length, e.h.captured);
    out->push_back(std::move(e));
    at += LPC_MONITOR_SPACE(e.h.size);
  }
  return true;
}

// Everything queued on a monitor now, read without waiting.
std::vector<Event> Drain(int monitor) {
  std::vector<Event> events;
  EXPECT_OK(SetNonblocking(monitor, true));
  std::vector<char> buf(65536);
  for (;;) {
    ssize_t n = read(monitor, buf.data(), buf.size());
    if (n < 0) {
      EXPECT_ERR(EAGAIN, errno);
      break;
    }
    EXPECT_GT(n, 0);
    if (n <= 0) break;
    EXPECT_TRUE(ParseEvents(buf.data(), static_cast<size_t>(n), &events));
  }
  EXPECT_OK(SetNonblocking(monitor, false));
  return events;
}

std::vector<uint16_t> TypesOf(const std::vector<Event>& events) {
  std::vector<uint16_t> types;
  for (const Event& e : events) types.push_back(e.h.type);
  return types;
}

int AskForPayloads(int monitor) {
  lpc_monitor_options o{LPC_MONITOR_PAYLOADS, 0};
  if (ioctl(monitor, LPC_IOC_MONITOR, &o) != 0) return errno;
  return o.flags == LPC_MONITOR_PAYLOADS ? 0 : EINVAL;
}

class MonitorTest : public MountTest {
 protected:
  UniqueFd OpenMonitor() {
    Opened o = Open(P(LPC_MONITOR_FILE), O_RDONLY);
    EXPECT_OK(o.err);
    return std::move(o.fd);
  }
};

TEST_F(MonitorTest, ConnectionEventsInOrder) {
  UniqueFd monitor = OpenMonitor();
  ASSERT_TRUE(monitor.valid());
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  uint64_t conn = 0;
  {
    // A client that sends, gets a reply, calls and gives up, and leaves.
    pid_t client = Spawn([path = P("svc")] {
      Opened o = Open(path, O_RDWR);
      CHILD_CHECK_ERR(0, o.err);
      CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "ping"));
      std::string reply;
      CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &reply));
      CHILD_CHECK(reply == "pong");
      CHILD_CHECK_ERR(ETIMEDOUT, CallOnce(o.fd.get(), "call", 4096, 1000).err);
      return 0;
    });
    Record c = Expect(srv.get(), LPC_REC_CONNECT);
    conn = c.h.conn_id;
    ASSERT_OK(Accept(srv.get(), conn));
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, conn);
    ASSERT_OK(Reply(srv.get(), conn, m.h.msg_id, "pong"));
    Expect(srv.get(), LPC_REC_MESSAGE, conn);  // the call, left unanswered
    Expect(srv.get(), LPC_REC_CANCEL, conn);
    Expect(srv.get(), LPC_REC_DISCONNECT, conn);
    EXPECT_EQ(0, WaitExit(client));
  }
  std::vector<Event> events = Drain(monitor.get());
  ASSERT_EQ(TypesOf(events),
            (std::vector<uint16_t>{
                LPC_MON_CONNECT, LPC_MON_ACCEPT, LPC_MON_MESSAGE, LPC_MON_REPLY,
                LPC_MON_MESSAGE, LPC_MON_CANCEL, LPC_MON_DISCONNECT}));
  uint64_t before = 0;
  for (const Event& e : events) {
    EXPECT_EQ("/svc", e.path);
    EXPECT_EQ(conn, e.h.conn_id);
    EXPECT_GE(e.h.time_ns, before) << "in the order they happened";
    before = e.h.time_ns;
  }
  EXPECT_EQ(static_cast<uint32_t>(getpid()), events[3].h.pid)
      << "the server replied";
  EXPECT_NE(static_cast<uint32_t>(getpid()), events[2].h.pid)
      << "the client wrote";
  EXPECT_EQ(events[2].h.pid, events[0].h.pid);
  EXPECT_EQ(4u, events[2].h.length);
  EXPECT_EQ(events[2].h.msg_id, events[3].h.msg_id);
  EXPECT_EQ(uint32_t{LPC_MESSAGE_CALL}, events[4].h.flags & LPC_MESSAGE_CALL);
  EXPECT_EQ(events[4].h.msg_id, events[5].h.msg_id);
  EXPECT_EQ(uint32_t{LPC_CANCEL_TIMED_OUT}, events[5].h.flags);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, events[6].h.flags);
}

TEST_F(MonitorTest, PayloadsOnlyWhenAsked) {
  UniqueFd plain = OpenMonitor();
  UniqueFd full = OpenMonitor();
  ASSERT_TRUE(plain.valid() && full.valid());
  ASSERT_OK(AskForPayloads(full.get()));
  ConnectedClient c = ConnectAutoAccepted("svc");
  ASSERT_TRUE(c.client.valid());
  ASSERT_OK(WriteMsg(c.client.get(), "secret"));
  Expect(c.srv.get(), LPC_REC_MESSAGE);

  auto message = [](const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (e.h.type == LPC_MON_MESSAGE) return e;
    }
    ADD_FAILURE() << "no message event";
    return Event{};
  };
  Event without = message(Drain(plain.get()));
  Event with = message(Drain(full.get()));
  EXPECT_EQ(6u, without.h.length);
  EXPECT_EQ("", without.payload);
  EXPECT_EQ(6u, with.h.length);
  EXPECT_EQ("secret", with.payload);
  // Only a monitor takes the ioctl.
  lpc_monitor_options o{LPC_MONITOR_PAYLOADS, 0};
  EXPECT_ERR(ENOTTY,
             ioctl(c.client.get(), LPC_IOC_MONITOR, &o) == 0 ? 0 : errno);
}

class SlowMonitorTest : public MonitorTest {
 protected:
  std::string DaemonOptions() const override { return "monitor_queue=16384"; }
};

TEST_F(SlowMonitorTest, LosesEventsWithACountNeverBlocksClients) {
  UniqueFd monitor = OpenMonitor();  // never read until the end
  ASSERT_TRUE(monitor.valid());
  ConnectedClient c = ConnectAutoAccepted("svc");
  ASSERT_TRUE(c.client.valid());
  // Each write would wait only for the port's queue (never for the
  // monitor): O_NONBLOCK proves it, and the server keeps the queue short.
  ASSERT_OK(SetNonblocking(c.client.get(), true));
  constexpr int kMessages = 1000;  // ~72 KiB of records, 16 KiB of queue
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_OK(WriteMsg(c.client.get(), "m"));
    Expect(c.srv.get(), LPC_REC_MESSAGE);
  }
  std::vector<Event> events = Drain(monitor.get());
  uint64_t seen = 0, lost = 0;
  for (const Event& e : events) {
    if (e.h.type == LPC_MON_LOST) {
      lost += e.h.length;
    } else {
      ++seen;
    }
  }
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(LPC_MON_LOST, events.back().h.type) << "the gap at the end";
  EXPECT_GT(lost, 0u);
  // CONNECT, ACCEPT and the messages: each one seen or counted lost.
  EXPECT_EQ(uint64_t{kMessages} + 2, seen + lost);
  // With room again, it goes on.
  ASSERT_OK(WriteMsg(c.client.get(), "after"));
  EXPECT_EQ((std::vector<uint16_t>{LPC_MON_MESSAGE}),
            TypesOf(Drain(monitor.get())));
}

TEST_F(MonitorTest, BlockedReadWakesPollsAndIsInterrupted) {
  UniqueFd monitor = OpenMonitor();
  ASSERT_TRUE(monitor.valid());
  EXPECT_EQ(0, PollOnce(monitor.get(), POLLIN, 0)) << "nothing yet";
  int fd = monitor.get();
  pid_t interrupted = Spawn([fd] {
    CatchWithoutRestart(SIGUSR1);
    char buf[LPC_MONITOR_RECORD_MAX];
    CHILD_CHECK(read(fd, buf, sizeof buf) < 0 && errno == EINTR);
    return 0;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(interrupted, ReadSyscalls()))
      << DescribeProc(interrupted);
  kill(interrupted, SIGUSR1);
  EXPECT_EQ(0, WaitExit(interrupted));

  pid_t reader = Spawn([fd] {
    char buf[LPC_MONITOR_RECORD_MAX];
    ssize_t n = read(fd, buf, sizeof buf);
    CHILD_CHECK(n > 0);
    std::vector<Event> events;
    CHILD_CHECK(ParseEvents(buf, static_cast<size_t>(n), &events));
    CHILD_CHECK(!events.empty() && events[0].h.type == LPC_MON_CONNECT);
    return 0;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  ConnectedClient c = ConnectAutoAccepted("svc");  // wakes the reader
  EXPECT_EQ(0, WaitExit(reader));
  ASSERT_OK(WriteMsg(c.client.get(), "x"));
  EXPECT_EQ(POLLIN, PollOnce(monitor.get(), POLLIN, 10000))
      << "queued events are POLLIN";
  // A buffer too small for a record: EMSGSIZE, and the record stays.
  char small[sizeof(lpc_monitor_event)];
  EXPECT_ERR(EMSGSIZE,
             read(monitor.get(), small, sizeof small) < 0 ? errno : 0);
  EXPECT_FALSE(Drain(monitor.get()).empty());
}

TEST_F(MonitorTest, ReservedReadOnlyFile) {
  struct stat st {};
  ASSERT_EQ(0, stat(P(LPC_MONITOR_FILE).c_str(), &st));
  EXPECT_EQ(S_IFREG | 0444u, st.st_mode);
  EXPECT_EQ(0u, st.st_uid);
  EXPECT_ERR(EPERM, Open(P(LPC_MONITOR_FILE), O_RDWR).err);
  EXPECT_NE(0, unlink(P(LPC_MONITOR_FILE).c_str()));
  EXPECT_ERR(EEXIST,
             Open(P(LPC_MONITOR_FILE), O_CREAT | O_EXCL | O_RDWR, 0666).err);
}

// Real users: a monitor shows a user the traffic of the ports it owns and
// nothing of anyone else's; root (CAP_SYS_ADMIN) sees them all.
class MonitorUsersTest : public TwoUsersTest {};

TEST_F(MonitorUsersTest, EachUserSeesOnlyItsOwnPorts) {
  UniqueFd alice_monitor = OpenedAs(alice_, P(LPC_MONITOR_FILE), O_RDONLY);
  UniqueFd bob_monitor = OpenedAs(bob_, P(LPC_MONITOR_FILE), O_RDONLY);
  Opened root_monitor = Open(P(LPC_MONITOR_FILE), O_RDONLY);
  ASSERT_TRUE(alice_monitor.valid() && bob_monitor.valid());
  ASSERT_OK(root_monitor.err);
  ASSERT_OK(AskForPayloads(bob_monitor.get()));  // still nothing of alice's

  std::vector<UniqueFd> held;
  auto port_with_traffic = [&](const User& owner, const std::string& name,
                               const std::string& message) {
    UniqueFd srv = OpenedAs(owner, P(name), O_CREAT | O_EXCL | O_RDWR, 0666);
    ASSERT_TRUE(srv.valid());
    ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
    Opened client = Open(P(name), O_RDWR);
    ASSERT_OK(client.err);
    Expect(srv.get(), LPC_REC_CONNECT);
    ASSERT_OK(WriteMsg(client.fd.get(), message));
    Record m = Expect(srv.get(), LPC_REC_MESSAGE);
    ASSERT_OK(Reply(srv.get(), m.h.conn_id, m.h.msg_id, "ok"));
    held.push_back(std::move(srv));
    held.push_back(std::move(client.fd));
  };
  port_with_traffic(alice_, "alice-svc", "alice's secret");
  port_with_traffic(bob_, "bob-svc", "bob's message");
  UniqueFd roots = CreateAutoAcceptPort("root-svc");
  ASSERT_TRUE(roots.valid());
  Opened root_client = Open(P("root-svc"), O_RDWR);
  ASSERT_OK(root_client.err);

  auto paths = [](const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const Event& e : events) {
      if (out.empty() || out.back() != e.path) out.push_back(e.path);
    }
    return out;
  };
  std::vector<Event> alice = Drain(alice_monitor.get());
  std::vector<Event> bob = Drain(bob_monitor.get());
  std::vector<Event> root = Drain(root_monitor.fd.get());
  EXPECT_EQ((std::vector<std::string>{"/alice-svc"}), paths(alice));
  EXPECT_EQ((std::vector<std::string>{"/bob-svc"}), paths(bob));
  EXPECT_EQ((std::vector<std::string>{"/alice-svc", "/bob-svc", "/root-svc"}),
            paths(root));
  EXPECT_EQ(4u, alice.size());  // connect, accept, message, reply
  for (const Event& e : bob) {
    EXPECT_EQ(std::string::npos, e.payload.find("alice")) << e.payload;
  }
}

TEST_F(MonitorUsersTest, AUserMayHoldOnlySoManyMonitors) {
  std::vector<UniqueFd> held;
  for (int i = 0; i < 4; ++i) {  // monitor_handles, lpcfs.8
    held.push_back(OpenedAs(alice_, P(LPC_MONITOR_FILE), O_RDONLY));
    ASSERT_TRUE(held.back().valid());
  }
  std::string path = P(LPC_MONITOR_FILE);
  EXPECT_EQ(EMFILE, WaitExit(RunAs(
                        alice_, [path] { return Open(path, O_RDONLY).err; })));
  EXPECT_EQ(0,
            WaitExit(RunAs(bob_, [path] { return Open(path, O_RDONLY).err; })));
}

}  // namespace
}  // namespace lpctest
