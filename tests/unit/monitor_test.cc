// The monitor without a mount (lpc.7 "MONITOR"): the events of a
// connection's life in order, who sees which port, payloads only when
// asked, a slow monitor losing events with a count while the traffic goes
// on, and reads that wait, are interrupted or find no room.
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "broker_fixture.h"
#include "monitor.h"

namespace lpc::testing {
namespace {

constexpr uint64_t kCapSysAdmin = uint64_t{1} << 21;
constexpr uint32_t kOwner = 1000;  // BrokerTest::Create's port owner

struct ParsedEvent {
  lpc_monitor_event h{};
  std::string path;
  std::string payload;
};

// The records of one read of a monitor: each at a multiple of 8, sized by
// its header.
std::vector<ParsedEvent> ParseEvents(const std::string& raw) {
  std::vector<ParsedEvent> events;
  size_t at = 0;
  while (at < raw.size()) {
    ParsedEvent e;
    EXPECT_LE(at + sizeof e.h, raw.size()) << "a cut header";
    if (at + sizeof e.h > raw.size()) break;
    std::memcpy(&e.h, raw.data() + at, sizeof e.h);
    EXPECT_LE(at + e.h.size, raw.size()) << "a cut record";
    EXPECT_EQ(e.h.size, sizeof e.h + e.h.path_length + e.h.captured);
    if (at + e.h.size > raw.size()) break;
    e.path = raw.substr(at + sizeof e.h, e.h.path_length);
    e.payload = raw.substr(at + sizeof e.h + e.h.path_length, e.h.captured);
    events.push_back(e);
    at += LPC_MONITOR_SPACE(e.h.size);
  }
  return events;
}

std::vector<uint16_t> TypesOf(const std::vector<ParsedEvent>& events) {
  std::vector<uint16_t> types;
  for (const ParsedEvent& e : events) types.push_back(e.h.type);
  return types;
}

Caller Reader(uint32_t uid, uint64_t caps = 0) {
  Caller c = MakeCaller(77, uid);
  c.cap_effective = caps;
  return c;
}

class MonitorTest : public BrokerTest {
 protected:
  explicit MonitorTest(Limits limits = {}) : BrokerTest(limits) {}

  NodeId MonitorNode() {
    return broker_.Lookup(Namespace::kRootIno, LPC_MONITOR_FILE)->ino;
  }
  Req OpenMonitorRequest(const Caller& who, int flags = O_RDONLY) {
    Req r = d_.Issue(RequestKind::kOpen);
    broker_.Open(r.token, MonitorNode(), flags, who);
    return r;
  }
  HandleId OpenMonitor(const Caller& who) {
    return OpenedHandle(OpenMonitorRequest(who));
  }
  // What a monitor has queued now, all of it.
  std::vector<ParsedEvent> Drain(HandleId monitor) {
    std::vector<ParsedEvent> all;
    for (;;) {
      Req r = Read(monitor, 65536, /*nonblock=*/true);
      auto reply = d_.reply(r);
      if (reply && std::holds_alternative<Error>(*reply)) {
        EXPECT_EQ(std::get<Error>(*reply), Error::kWouldBlock);
        return all;
      }
      std::vector<ParsedEvent> some = ParseEvents(DataOf(r));
      EXPECT_FALSE(some.empty());
      if (some.empty()) return all;
      all.insert(all.end(), some.begin(), some.end());
    }
  }
  Status SetOptions(HandleId monitor, uint32_t flags, uint32_t reserved = 0) {
    lpc_monitor_options o{flags, reserved};
    auto set = broker_.SetMonitorOptions(
        monitor, {reinterpret_cast<const std::byte*>(&o), sizeof o});
    if (!set) return set.error();
    EXPECT_EQ(set->flags, flags);
    return Ok{};
  }
};

TEST_F(MonitorTest, ConnectionLifeInOrder) {
  HandleId monitor = OpenMonitor(Reader(0, kCapSysAdmin));
  HandleId server = Create("svc");
  Req open = Connect(O_RDWR, 42);
  ParsedRecord connect = NextRecord(server);
  ExpectWritten(Command(server, LPC_REC_ACCEPT, ConnOf(connect)));
  HandleId client = OpenedHandle(open);
  ExpectWritten(Send(client, "ping"));
  ParsedRecord message = NextRecord(server);
  ExpectWritten(Command(server, LPC_REC_REPLY, ConnOf(connect),
                        message.header.msg_id, 0, 0, "pong"));
  ExpectWritten(SendRecord(server, ConnOf(connect), "news"));
  broker_.Release(client);
  broker_.Release(server);

  std::vector<ParsedEvent> events = Drain(monitor);
  ASSERT_EQ(TypesOf(events),
            (std::vector<uint16_t>{LPC_MON_CONNECT, LPC_MON_ACCEPT,
                                   LPC_MON_MESSAGE, LPC_MON_REPLY, LPC_MON_SEND,
                                   LPC_MON_DISCONNECT, LPC_MON_DISCONNECT}));
  uint64_t last_time = 0;
  for (const ParsedEvent& e : events) {
    EXPECT_EQ(e.path, "/svc");
    EXPECT_EQ(e.h.conn_id, connect.header.conn_id);
    EXPECT_GE(e.h.time_ns, last_time) << "in the order they happened";
    last_time = e.h.time_ns;
    EXPECT_EQ(e.h.reserved, 0u);
  }
  EXPECT_EQ(events[0].h.pid, 42u) << "the client asked to connect";
  EXPECT_EQ(events[0].h.flags, uint32_t{LPC_CONNECT_READ | LPC_CONNECT_WRITE});
  EXPECT_EQ(events[1].h.flags, 0u) << "accepted by the server";
  EXPECT_EQ(events[2].h.msg_id, message.header.msg_id);
  EXPECT_EQ(events[2].h.length, 4u);
  EXPECT_EQ(events[2].h.captured, 0u) << "no payload unless asked";
  EXPECT_EQ(events[2].h.pid, 42u);
  EXPECT_EQ(events[3].h.msg_id, message.header.msg_id);
  EXPECT_EQ(events[3].h.pid, 1u) << "the server wrote the reply";
  EXPECT_EQ(events[4].h.msg_id, 0u);
  EXPECT_EQ(events[5].h.flags, uint32_t{LPC_DISCONNECT_CLIENT_CLOSED});
  EXPECT_EQ(events[5].h.pid, 42u);
  EXPECT_EQ(events[6].h.flags, uint32_t{LPC_DISCONNECT_SERVER_CLOSED});
  EXPECT_EQ(events[6].h.pid, 1u) << "the port's server";
}

TEST_F(MonitorTest, RefusalsAndAutoAccept) {
  HandleId monitor = OpenMonitor(Reader(kOwner));
  HandleId server = Create("svc");
  Req open = Connect();
  ExpectWritten(
      Command(server, LPC_REC_REJECT, ConnOf(NextRecord(server)), 0, 0, EBUSY));
  EXPECT_EQ(ErrorOf(open), Error::kBusy);
  ExpectWritten(
      Command(server, LPC_REC_PORT_OPTIONS, ConnId(), 0, LPC_PORT_AUTO_ACCEPT));
  HandleId client = OpenedHandle(Connect());

  std::vector<ParsedEvent> events = Drain(monitor);
  ASSERT_EQ(TypesOf(events),
            (std::vector<uint16_t>{LPC_MON_CONNECT, LPC_MON_REJECT,
                                   LPC_MON_CONNECT, LPC_MON_ACCEPT}));
  EXPECT_EQ(events[1].h.status, EBUSY);
  EXPECT_EQ(events[1].h.flags, uint32_t{LPC_MONITOR_BY_SERVER});
  EXPECT_EQ(events[2].h.flags & LPC_CONNECT_ACCEPTED, 0u)
      << "CONNECT says how it was opened";
  EXPECT_EQ(events[3].h.flags, uint32_t{LPC_CONNECT_ACCEPTED});
  broker_.Release(client);
}

TEST_F(MonitorTest, RefusedBeforeItWasARequest) {
  Limits limits;
  limits.backlog = 1;
  // A fixture of its own for the backlog: one pending request fills it.
  RecordingDelegate d;
  Broker broker(&d, limits);
  auto port = broker.CreatePort(Namespace::kRootIno, "svc", 0666, 0, true,
                                MakeCaller(1, kOwner));
  ASSERT_TRUE(port);
  Req monitor_open = d.Issue(RequestKind::kOpen);
  broker.Open(monitor_open.token,
              broker.Lookup(Namespace::kRootIno, LPC_MONITOR_FILE)->ino,
              O_RDONLY, Reader(kOwner));
  HandleId monitor = std::get<Opened>(*d.reply(monitor_open)).handle.handle;
  Req first = d.Issue(RequestKind::kOpen);
  broker.Open(first.token, port->attr.ino, O_RDWR, MakeCaller(42));
  Req second = d.Issue(RequestKind::kOpen);
  broker.Open(second.token, port->attr.ino, O_RDWR, MakeCaller(43));
  EXPECT_EQ(std::get<Error>(*d.reply(second)), Error::kWouldBlock);

  Req read = d.Issue(RequestKind::kRead);
  broker.Read(read.token, monitor, 4096, 0, true);
  std::vector<ParsedEvent> events =
      ParseEvents(std::get<Data>(*d.reply(read)).text());
  ASSERT_EQ(TypesOf(events),
            (std::vector<uint16_t>{LPC_MON_CONNECT, LPC_MON_REJECT}));
  EXPECT_EQ(events[1].h.conn_id, 0u) << "it never became a connection";
  EXPECT_EQ(events[1].h.pid, 43u);
  EXPECT_EQ(events[1].h.status, EAGAIN);
  EXPECT_EQ(events[1].h.flags, 0u) << "the daemon refused it";
  broker.AbortWaiters();
}

TEST_F(MonitorTest, InterruptedCallIsACancel) {
  HandleId monitor = OpenMonitor(Reader(0, kCapSysAdmin));
  HandleId server = Create("svc");
  ExpectWritten(
      Command(server, LPC_REC_PORT_OPTIONS, ConnId(), 0, LPC_PORT_AUTO_ACCEPT));
  HandleId client = OpenedHandle(Connect());
  NextRecord(server);  // CONNECT

  Bytes buffer(4096);
  lpc_transfer t{};
  lpc_record m{};
  m.type = LPC_REC_MESSAGE;
  m.length = 1;
  t.send_length = sizeof m + 1;
  std::memcpy(buffer.data(), &t, sizeof t);
  std::memcpy(buffer.data() + sizeof t, &m, sizeof m);
  buffer[sizeof t + sizeof m] = std::byte{'q'};
  Req call = d_.Issue(RequestKind::kCall);
  broker_.Call(call.token, client, SpanOf(buffer), Sender{42, 1000, 1000});
  ParsedRecord message = NextRecord(server);  // the server has read it
  ASSERT_TRUE(Cancel(call));

  std::vector<ParsedEvent> events = Drain(monitor);
  ASSERT_EQ(TypesOf(events),
            (std::vector<uint16_t>{LPC_MON_CONNECT, LPC_MON_ACCEPT,
                                   LPC_MON_MESSAGE, LPC_MON_CANCEL}));
  EXPECT_EQ(events[2].h.flags & LPC_MESSAGE_CALL, uint32_t{LPC_MESSAGE_CALL});
  EXPECT_EQ(events[3].h.msg_id, message.header.msg_id);
  EXPECT_EQ(events[3].h.flags, uint32_t{LPC_CANCEL_INTERRUPTED});
  EXPECT_EQ(events[3].h.pid, 42u);

  // The late reply is dropped, and said to be.
  ExpectWritten(Command(server, LPC_REC_REPLY, ConnOf(message),
                        message.header.msg_id, 0, 0, "late"));
  events = Drain(monitor);
  ASSERT_EQ(TypesOf(events), (std::vector<uint16_t>{LPC_MON_REPLY}));
  EXPECT_EQ(events[0].h.flags, uint32_t{LPC_MONITOR_REPLY_DROPPED});
  broker_.Release(client);
}

TEST(MonitorSeesTest, OwnerOrSysAdmin) {
  struct Case {
    const char* what;
    MonitorReader reader;
    uint32_t owner;
    bool sees;
  };
  const Case cases[] = {
      {"the owner", {1000, false}, 1000, true},
      {"another user", {1001, false}, 1000, false},
      {"CAP_SYS_ADMIN", {1001, true}, 1000, true},
      {"uid 0 without CAP_SYS_ADMIN, another's port", {0, false}, 1000, false},
      {"uid 0 without CAP_SYS_ADMIN, root's port", {0, false}, 0, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MonitorSees(c.reader, c.owner), c.sees) << c.what;
  }
  Caller admin = Reader(1001, kCapSysAdmin | (uint64_t{1} << 2));
  EXPECT_TRUE(MonitorReaderOf(admin).sees_every_port);
  Caller dac_only = Reader(0, uint64_t{1} << 2);  // CAP_DAC_READ_SEARCH
  EXPECT_FALSE(MonitorReaderOf(dac_only).sees_every_port);
}

TEST_F(MonitorTest, OthersSeeNothingOfAPort) {
  HandleId owner = OpenMonitor(Reader(kOwner));
  HandleId other = OpenMonitor(Reader(kOwner + 1));
  HandleId root_without_caps = OpenMonitor(Reader(0));
  HandleId admin = OpenMonitor(Reader(kOwner + 1, kCapSysAdmin));
  auto [client, conn] = AcceptedClient(Create("svc"));
  ExpectWritten(Send(client, "x"));
  broker_.Release(client);

  EXPECT_EQ(Drain(owner).size(), 4u);  // connect, accept, message, close
  EXPECT_EQ(Drain(admin).size(), 4u);
  EXPECT_TRUE(Drain(other).empty());
  EXPECT_TRUE(Drain(root_without_caps).empty());
  // Nothing queued means nothing to poll for.
  EXPECT_EQ(broker_.Poll(other, PollToken()).value(), 0u);
}

TEST_F(MonitorTest, PayloadsOnlyWhenAsked) {
  HandleId plain = OpenMonitor(Reader(kOwner));
  HandleId full = OpenMonitor(Reader(kOwner));
  ASSERT_TRUE(SetOptions(full, LPC_MONITOR_PAYLOADS));
  EXPECT_EQ(SetOptions(full, 0x80).error(), Error::kInvalid);
  EXPECT_EQ(SetOptions(full, LPC_MONITOR_PAYLOADS, 1).error(), Error::kInvalid);
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, "secret"));
  ExpectWritten(SendRecord(server, conn, "answer"));

  std::vector<ParsedEvent> p = Drain(plain);
  std::vector<ParsedEvent> f = Drain(full);
  ASSERT_EQ(p.size(), 4u);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(p[2].h.length, 6u);
  EXPECT_EQ(p[2].payload, "");
  EXPECT_EQ(f[2].h.length, 6u);
  EXPECT_EQ(f[2].payload, "secret");
  EXPECT_EQ(f[3].payload, "answer");
  // The ioctl is the monitor's only: anything else is not a tty for it.
  EXPECT_EQ(SetOptions(server, LPC_MONITOR_PAYLOADS).error(), Error::kNotTty);
  broker_.Release(client);
}

class SlowMonitorTest : public MonitorTest {
 protected:
  static Limits RoomyQueues() {
    Limits l;
    l.monitor_queue = LPC_MONITOR_RECORD_MAX;
    l.queue_messages = 1000;
    l.queue_bytes = 1 << 20;
    return l;
  }
  SlowMonitorTest() : MonitorTest(RoomyQueues()) {}
};

TEST_F(SlowMonitorTest, LosesEventsWithACountAndNeverBlocksTheTraffic) {
  HandleId monitor = OpenMonitor(Reader(kOwner));
  auto [client, conn] = AcceptedClient(Create("svc"));
  constexpr int kMessages = 600;  // far more than 16 KiB of records hold
  for (int i = 0; i < kMessages; ++i) {
    Req w = Send(client, "m", /*nonblock=*/true);
    ASSERT_TRUE(d_.answered(w)) << "a write waited for the monitor";
    ExpectWritten(w);
  }
  std::vector<ParsedEvent> events = Drain(monitor);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().h.type, LPC_MON_CONNECT);
  ASSERT_EQ(events.back().h.type, LPC_MON_LOST) << "told after the last one";
  uint64_t messages = 0;
  uint64_t last_id = 0;
  for (const ParsedEvent& e : events) {
    if (e.h.type != LPC_MON_MESSAGE) continue;
    ++messages;
    EXPECT_EQ(e.h.msg_id, last_id + 1) << "the first ones, none skipped";
    last_id = e.h.msg_id;
  }
  EXPECT_GT(messages, 0u);
  EXPECT_EQ(messages + events.back().h.length, uint64_t{kMessages})
      << "every message is seen or counted lost";

  // With room again, events flow; a later gap is told where it is.
  ExpectWritten(Send(client, "after"));
  std::vector<ParsedEvent> after = Drain(monitor);
  ASSERT_EQ(TypesOf(after), (std::vector<uint16_t>{LPC_MON_MESSAGE}));
  EXPECT_EQ(after[0].h.msg_id, uint64_t{kMessages + 1});
  broker_.Release(client);
}

TEST(MonitorQueueTest, LostRecordStandsWhereTheGapIs) {
  WaitRegistry registry;
  Outbox outbox;
  MonitorQueue queue({1000, false}, 200, {&registry, &outbox});
  MonitorEvent event;
  event.type = LPC_MON_MESSAGE;
  auto record = std::make_shared<const Bytes>(
      EncodeMonitorRecord(event, {1, 0}, "/p", {}));  // 66 bytes, 72 queued
  auto read = [&](size_t size) {
    Result<Bytes> got = queue.Take(size);
    EXPECT_TRUE(got);
    if (!got) return std::vector<ParsedEvent>{};
    return ParseEvents(
        std::string(reinterpret_cast<const char*>(got->data()), got->size()));
  };
  EXPECT_TRUE(queue.Push(record, {1, 0}));
  EXPECT_TRUE(queue.Push(record, {1, 0}));
  EXPECT_FALSE(queue.Push(record, {2, 0}));  // 216 > 200
  EXPECT_FALSE(queue.Push(record, {3, 0}));
  EXPECT_EQ(queue.lost(), 2u);
  Result<Bytes> first = queue.Take(72);  // one record, without padding
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 66u);
  EXPECT_EQ(read(72).size(), 1u);
  EXPECT_TRUE(queue.Push(record, {4, 0}));  // after the gap's record
  std::vector<ParsedEvent> events = read(4096);
  ASSERT_EQ(TypesOf(events),
            (std::vector<uint16_t>{LPC_MON_LOST, LPC_MON_MESSAGE}));
  EXPECT_EQ(events[0].h.length, 2u);
  EXPECT_EQ(events[0].h.time_ns, 2'000'000'000u) << "when the gap began";

  // A gap at the end is told once what came before it is read.
  EXPECT_TRUE(queue.Push(record, {5, 0}));
  EXPECT_TRUE(queue.Push(record, {5, 0}));
  EXPECT_FALSE(queue.Push(record, {6, 0}));
  EXPECT_TRUE(queue.ready());
  EXPECT_EQ(
      TypesOf(read(4096)),
      (std::vector<uint16_t>{LPC_MON_MESSAGE, LPC_MON_MESSAGE, LPC_MON_LOST}));
  EXPECT_FALSE(queue.ready());
  EXPECT_EQ(queue.queued_bytes(), 0u);
}

TEST(MonitorQueueTest, LongPathIsCut) {
  MonitorEvent event;
  event.type = LPC_MON_CONNECT;
  std::string path(LPC_MONITOR_PATH_MAX + 10, 'a');
  Bytes b = EncodeMonitorRecord(event, {}, path, {});
  lpc_monitor_event h;
  std::memcpy(&h, b.data(), sizeof h);
  EXPECT_EQ(h.path_length, LPC_MONITOR_PATH_MAX);
  EXPECT_EQ(h.flags, uint32_t{LPC_MONITOR_PATH_TRUNCATED});
  EXPECT_EQ(h.size, b.size());
  EXPECT_LE(b.size(), size_t{LPC_MONITOR_RECORD_MAX});
}

TEST_F(MonitorTest, ReadWaitsForAnEventAndCanBeInterrupted) {
  HandleId monitor = OpenMonitor(Reader(kOwner));
  EXPECT_EQ(ErrorOf(Read(monitor, 4096, /*nonblock=*/true)),
            Error::kWouldBlock);
  Req waiting = Read(monitor, 4096);
  EXPECT_FALSE(d_.answered(waiting));
  PollToken poll(7);
  EXPECT_EQ(broker_.Poll(monitor, poll).value(), 0u);
  HandleId server = Create("svc");
  Req open = Connect();  // one CONNECT event: the read gets it
  std::vector<ParsedEvent> got = ParseEvents(DataOf(waiting));
  ASSERT_EQ(TypesOf(got), (std::vector<uint16_t>{LPC_MON_CONNECT}));

  Req interrupted = Read(monitor, 4096);
  ASSERT_TRUE(Cancel(interrupted));
  EXPECT_EQ(ErrorOf(interrupted), Error::kInterrupted);
  ExpectWritten(
      Command(server, LPC_REC_ACCEPT, ConnOf(NextRecord(server))));  // ACCEPT
  EXPECT_NE(std::count(d_.notified.begin(), d_.notified.end(), poll), 0)
      << "a poller is told of the first event queued";
  EXPECT_EQ(broker_.Poll(monitor, PollToken()).value(), uint32_t{POLLIN});
  // A buffer too small for the record: EMSGSIZE, and it stays.
  EXPECT_EQ(ErrorOf(Read(monitor, sizeof(lpc_monitor_event))),
            Error::kMessageTooLong);
  EXPECT_EQ(TypesOf(Drain(monitor)), (std::vector<uint16_t>{LPC_MON_ACCEPT}));
  broker_.Release(OpenedHandle(open));
  EXPECT_EQ(broker_.waiter_count(), 0u);
}

TEST_F(MonitorTest, OpenIsReadOnlyAndBounded) {
  EXPECT_EQ(ErrorOf(OpenMonitorRequest(Reader(kOwner), O_RDWR)),
            Error::kNotPermitted);
  std::vector<HandleId> held;
  for (size_t i = 0; i < Limits{}.monitor_handles; ++i) {
    held.push_back(OpenMonitor(Reader(kOwner)));
  }
  EXPECT_EQ(ErrorOf(OpenMonitorRequest(Reader(kOwner))), Error::kTooManyOpen);
  OpenMonitor(Reader(kOwner + 1));  // another user's count is its own
  EXPECT_EQ(ErrorOf(Send(held[0], "x")), Error::kNotPermitted);
  broker_.Release(held[0]);
  OpenMonitor(Reader(kOwner));  // a close gives the room back
}

}  // namespace
}  // namespace lpc::testing
