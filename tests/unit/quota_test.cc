// QuotaLedger on tables of cases, and the Broker charging it: every path a
// port, a connection, a folder or a queued message can end by gives its
// charge back, and a user at a quota is refused with the errno of lpc.7
// "QUOTAS" while another user is not.
#include "quota.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "broker_fixture.h"
#include "user_stats.h"

namespace lpc::testing {
namespace {

constexpr uint32_t kAlice = 1000;  // the port owner of BrokerTest::Create
constexpr uint32_t kBob = 2000;

QuotaLimits SmallQuota() {
  QuotaLimits q;
  q[QuotaKind::kPorts] = 2;
  q[QuotaKind::kClientConnections] = 2;
  q[QuotaKind::kServedConnections] = 3;
  q[QuotaKind::kPending] = 1;
  q[QuotaKind::kBytes] = 8;
  q[QuotaKind::kFolders] = 2;
  return q;
}

// ------------------------------------------------------------ the ledger

struct ChargeCase {
  const char* name;
  QuotaKind kind;
  uint32_t uid;
  std::vector<size_t> amounts;  // charged in order, all held together
  std::vector<bool> granted;
  bool exempt_root = false;
};

TEST(QuotaLedger, ChargesUpToTheLimitAndReleasesToZero) {
  const ChargeCase cases[] = {
      {"count up to the limit", QuotaKind::kPorts, 7, {1, 1, 1}, {1, 1, 0}},
      {"bytes up to the byte", QuotaKind::kBytes, 7, {5, 3, 1}, {1, 1, 0}},
      {"a refused amount may be followed by a smaller one",
       QuotaKind::kBytes,
       7,
       {5, 4, 3},
       {1, 0, 1}},
      {"an amount over the limit on its own", QuotaKind::kBytes, 7, {9}, {0}},
      {"a zero amount always fits", QuotaKind::kPending, 7, {1, 0}, {1, 1}},
      {"root is limited without the option",
       QuotaKind::kPending,
       0,
       {1, 1},
       {1, 0}},
      {"root exempt: counted, never refused",
       QuotaKind::kPending,
       0,
       {1, 1, 1},
       {1, 1, 1},
       true},
      {"exemption is for root only",
       QuotaKind::kPending,
       7,
       {1, 1},
       {1, 0},
       true},
  };
  for (const ChargeCase& c : cases) {
    SCOPED_TRACE(c.name);
    QuotaLimits limits = SmallQuota();
    limits.exempt_root = c.exempt_root;
    QuotaLedger ledger(limits);
    std::vector<QuotaCharge> held;
    size_t expected = 0;
    for (size_t i = 0; i < c.amounts.size(); ++i) {
      auto charge = ledger.Charge(c.uid, c.kind, c.amounts[i]);
      EXPECT_EQ(charge.ok(), c.granted[i]) << "charge " << i;
      if (charge) {
        expected += c.amounts[i];
        held.push_back(std::move(charge.value()));
      } else {
        EXPECT_EQ(charge.error(), Error::kQuotaExceeded);
      }
      EXPECT_EQ(ledger.UsageOf(c.uid)[c.kind], expected);
    }
    EXPECT_EQ(ledger.UsageOf(c.uid + 1)[c.kind], 0u) << "another user";
    held.clear();
    EXPECT_TRUE(ledger.empty());
    EXPECT_TRUE(ledger.UsageOf(c.uid).zero());
  }
}

TEST(QuotaLedger, ChargesMoveAndResetOnce) {
  QuotaLedger ledger(SmallQuota());
  auto first = ledger.Charge(5, QuotaKind::kFolders);
  ASSERT_TRUE(first);
  QuotaCharge moved = std::move(first.value());
  EXPECT_TRUE(first.value().empty());
  QuotaCharge target;
  target = std::move(moved);
  EXPECT_EQ(target.uid(), 5u);
  EXPECT_EQ(ledger.UsageOf(5)[QuotaKind::kFolders], 1u);
  target.Reset();
  target.Reset();
  EXPECT_TRUE(ledger.empty());
  // Assigning over a held charge gives the old one back.
  auto a = ledger.Charge(5, QuotaKind::kFolders);
  auto b = ledger.Charge(6, QuotaKind::kFolders);
  a.value() = std::move(b.value());
  EXPECT_EQ(ledger.UsageOf(5)[QuotaKind::kFolders], 0u);
  EXPECT_EQ(ledger.UsageOf(6)[QuotaKind::kFolders], 1u);
}

TEST(QuotaLedger, ByteWaitersAreReadiedByTheirUsersRelease) {
  QuotaLedger ledger(SmallQuota());
  ledger.Add(5, QuotaKind::kBytes, 8);
  ledger.Add(6, QuotaKind::kBytes, 8);
  ledger.WaitForBytes(5, {ConnId(1), Direction::kToServer});
  ledger.WaitForBytes(5, {ConnId(1), Direction::kToServer});  // once
  ledger.WaitForBytes(6, {ConnId(2), Direction::kToClient});
  ledger.Release(6, QuotaKind::kBytes, 1);
  std::vector<QuotaWaiter> ready = ledger.TakeReady();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].conn, ConnId(2));
  ledger.Release(5, QuotaKind::kBytes, 8);
  ready = ledger.TakeReady();
  ASSERT_EQ(ready.size(), 1u) << "registered twice, readied once";
  EXPECT_EQ(ready[0].conn, ConnId(1));
  EXPECT_FALSE(ledger.has_ready());
  ledger.Release(6, QuotaKind::kBytes, 7);
  EXPECT_TRUE(ledger.TakeReady().empty()) << "nobody waits any more";
  EXPECT_TRUE(ledger.empty());
}

TEST(UserStats, OneLinePerUserWithUsage) {
  QuotaLedger ledger(SmallQuota());
  EXPECT_EQ(FormatUserStats(ledger), "");
  auto port = ledger.Charge(1000, QuotaKind::kPorts);
  ledger.Add(2000, QuotaKind::kBytes, 5);
  auto conn = ledger.Charge(2000, QuotaKind::kClientConnections);
  EXPECT_EQ(FormatUserStats(ledger),
            "user 1000 ports=1 connections=0 served=0 pending=0 bytes=0 "
            "folders=0\n"
            "user 2000 ports=0 connections=1 served=0 pending=0 bytes=5 "
            "folders=0\n");
  ledger.Release(2000, QuotaKind::kBytes, 5);
}

// ------------------------------------------------------------ the broker

class QuotaBrokerTest : public BrokerTest {
 protected:
  QuotaBrokerTest() : BrokerTest(QuotaLimitsOf(SmallQuota())) {}
  static Limits QuotaLimitsOf(QuotaLimits q) {
    Limits l;
    l.quota = q;
    l.folder_depth = 3;
    l.port_connections = 4;
    l.queue_messages = 4;
    l.queue_bytes = 1024;
    return l;
  }
  // An open of the last port created by user `uid`.
  Req ConnectAs(uint32_t uid, int flags = O_RDWR) {
    Req r = d_.Issue(RequestKind::kOpen);
    broker_.Open(r.token, port_ino_, flags, MakeCaller(uid + 1, uid));
    return r;
  }
  Req SendAs(uint32_t uid, HandleId h, std::string_view text,
             bool nonblock = false) {
    return Send(h, text, nonblock, Sender{uid + 1, uid, uid});
  }
  // Accepts the connection whose CONNECT record is next.
  ConnId AcceptNext(HandleId server) {
    ParsedRecord c = NextRecord(server);
    EXPECT_EQ(c.header.type, uint32_t{LPC_REC_CONNECT});
    ExpectWritten(Command(server, LPC_REC_ACCEPT, ConnOf(c)));
    return ConnOf(c);
  }
  // Reads and discards every record queued on a server handle.
  void DrainRecords(HandleId server) {
    for (;;) {
      Req r = Read(server, LPC_RECORD_MAX, /*nonblock=*/true);
      if (std::holds_alternative<Error>(*d_.reply(r))) return;
    }
  }
  size_t Used(uint32_t uid, QuotaKind kind) {
    return broker_.UsageOf(uid)[kind];
  }
};

class QuotaEndings : public QuotaBrokerTest {
 public:
  using QuotaBrokerTest::AcceptNext;
  using QuotaBrokerTest::broker_;
  using QuotaBrokerTest::Cancel;
  using QuotaBrokerTest::Command;
  using QuotaBrokerTest::ConnectAs;
  using QuotaBrokerTest::ConnOf;
  using QuotaBrokerTest::Create;
  using QuotaBrokerTest::d_;
  using QuotaBrokerTest::DrainRecords;
  using QuotaBrokerTest::ErrorOf;
  using QuotaBrokerTest::ExpectWritten;
  using QuotaBrokerTest::NextRecord;
  using QuotaBrokerTest::OpenedHandle;
  using QuotaBrokerTest::Read;
  using QuotaBrokerTest::SendAs;
  using QuotaBrokerTest::SendRecord;
  using QuotaBrokerTest::TearDown;
  using QuotaBrokerTest::Used;
  void TestBody() override {}
};

// Each way a connection can end, from its start to nothing left: the
// ledger is back to zero once the port and every handle are closed.
struct EndingCase {
  const char* name;
  std::function<void(QuotaEndings&, HandleId server)> run;
};

TEST(QuotaBroker, EveryEndingReleasesEveryCharge) {
  using T = QuotaEndings;
  const EndingCase cases[] = {
      {"rejected",
       [](T& t, HandleId server) {
         Req open = t.ConnectAs(kBob);
         EXPECT_EQ(t.Used(kBob, QuotaKind::kPending), 1u);
         ParsedRecord c = t.NextRecord(server);
         t.ExpectWritten(t.Command(server, LPC_REC_REJECT, t.ConnOf(c)));
         EXPECT_EQ(t.ErrorOf(open), Error::kConnectionRefused);
         EXPECT_EQ(t.Used(kBob, QuotaKind::kPending), 0u);
       }},
      {"withdrawn unseen",
       [](T& t, HandleId) { EXPECT_TRUE(t.Cancel(t.ConnectAs(kBob))); }},
      {"withdrawn after its CONNECT was read",
       [](T& t, HandleId server) {
         Req open = t.ConnectAs(kBob);
         t.NextRecord(server);
         EXPECT_TRUE(t.Cancel(open));
         EXPECT_EQ(t.Used(kBob, QuotaKind::kClientConnections), 1u)
             << "held until the server reads the DISCONNECT";
         t.DrainRecords(server);
       }},
      {"timed out (connect_timeout)",
       [](T& t, HandleId server) {
         Req open = t.ConnectAs(kBob);
         t.NextRecord(server);
         t.broker_.Expire(std::chrono::steady_clock::now() +
                          std::chrono::hours(1));
         EXPECT_EQ(t.ErrorOf(open), Error::kTimedOut);
         EXPECT_EQ(t.Used(kBob, QuotaKind::kPending), 0u);
         t.DrainRecords(server);
       }},
      {"refused by a quota",
       [](T& t, HandleId) {
         Req a = t.ConnectAs(kBob);
         EXPECT_EQ(t.ErrorOf(t.ConnectAs(kBob)), Error::kQuotaExceeded)
             << "quota_pending is 1";
         EXPECT_TRUE(t.Cancel(a));
       }},
      {"client closes with messages queued both ways",
       [](T& t, HandleId server) {
         Req open = t.ConnectAs(kBob);
         ConnId conn = t.AcceptNext(server);
         HandleId client = t.OpenedHandle(open);
         t.ExpectWritten(t.SendAs(kBob, client, "abc"));
         t.ExpectWritten(t.SendRecord(server, conn, "xy"));
         EXPECT_EQ(t.Used(kBob, QuotaKind::kBytes), 3u);
         t.broker_.Release(client);
         t.DrainRecords(server);
       }},
      {"server disconnects with messages queued both ways",
       [](T& t, HandleId server) {
         Req open = t.ConnectAs(kBob);
         ConnId conn = t.AcceptNext(server);
         HandleId client = t.OpenedHandle(open);
         t.ExpectWritten(t.SendAs(kBob, client, "abc"));
         t.ExpectWritten(t.SendRecord(server, conn, "xy"));
         t.ExpectWritten(t.Command(server, LPC_REC_DISCONNECT, conn));
         EXPECT_EQ(t.Used(kBob, QuotaKind::kBytes), 0u)
             << "what the server did not read is dropped";
         t.broker_.Release(client);
         t.DrainRecords(server);
       }},
      {"port closes with pending and open connections",
       [](T& t, HandleId server) {
         Req open = t.ConnectAs(kBob);
         t.AcceptNext(server);
         HandleId client = t.OpenedHandle(open);
         t.ExpectWritten(t.SendAs(kBob, client, "abc"));
         Req pending = t.ConnectAs(kBob);
         t.broker_.Release(server);
         EXPECT_EQ(t.ErrorOf(pending), Error::kConnectionRefused);
         t.broker_.Release(client);
       }},
      {"a writer parked on the bytes quota, then cancelled",
       [](T& t, HandleId server) {
         Req open = t.ConnectAs(kBob);
         t.AcceptNext(server);
         HandleId client = t.OpenedHandle(open);
         t.ExpectWritten(t.SendAs(kBob, client, "12345678"));
         Req parked = t.SendAs(kBob, client, "9");
         EXPECT_FALSE(t.d_.answered(parked));
         EXPECT_TRUE(t.Cancel(parked));
         t.broker_.Release(client);
         t.DrainRecords(server);
       }},
      {"auto-accepted, closed before the server read anything",
       [](T& t, HandleId server) {
         t.ExpectWritten(t.Command(server, LPC_REC_PORT_OPTIONS, ConnId(), 0,
                                   LPC_PORT_AUTO_ACCEPT));
         HandleId client = t.OpenedHandle(t.ConnectAs(kBob));
         EXPECT_EQ(t.Used(kBob, QuotaKind::kPending), 0u);
         t.ExpectWritten(t.SendAs(kBob, client, "abc"));
         t.broker_.Release(client);
         EXPECT_EQ(t.Used(kBob, QuotaKind::kClientConnections), 1u)
             << "until the server has read its DISCONNECT";
         t.DrainRecords(server);
       }},
  };
  for (const EndingCase& c : cases) {
    SCOPED_TRACE(c.name);
    QuotaEndings t;
    HandleId server = t.Create("svc");
    c.run(t, server);
    t.broker_.Release(server);
    EXPECT_EQ(t.broker_.connection_count(), 0u);
    EXPECT_TRUE(t.broker_.quota_empty()) << t.broker_.StatsText();
    EXPECT_EQ(t.d_.waiting(), 0u) << "every request answered";
    t.TearDown();
  }
}

TEST_F(QuotaBrokerTest, ConnectionQuotasRefuseOnlyTheirUser) {
  HandleId server = Create("svc");
  ExpectWritten(
      Command(server, LPC_REC_PORT_OPTIONS, ConnId(), 0, LPC_PORT_AUTO_ACCEPT));
  HandleId b1 = OpenedHandle(ConnectAs(kBob));
  HandleId b2 = OpenedHandle(ConnectAs(kBob));
  EXPECT_EQ(ErrorOf(ConnectAs(kBob)), Error::kQuotaExceeded);
  EXPECT_EQ(Used(kBob, QuotaKind::kClientConnections), 2u);
  EXPECT_EQ(Used(kAlice, QuotaKind::kServedConnections), 2u);
  // Another user still connects, until the owner's served quota (3).
  HandleId a1 = OpenedHandle(ConnectAs(3000));
  EXPECT_EQ(ErrorOf(ConnectAs(4000)), Error::kQuotaExceeded);
  // A closed connection stays charged until its server reads the end.
  broker_.Release(b1);
  EXPECT_EQ(ErrorOf(ConnectAs(kBob)), Error::kQuotaExceeded);
  DrainRecords(server);
  HandleId b3 = OpenedHandle(ConnectAs(kBob));
  for (HandleId h : {b2, a1, b3}) broker_.Release(h);
  broker_.Release(server);
  EXPECT_TRUE(broker_.quota_empty());
}

TEST_F(QuotaBrokerTest, PortConnectionsBoundIsEagain) {
  Limits l = QuotaLimitsOf(SmallQuota());
  l.quota[QuotaKind::kClientConnections] = 100;
  l.quota[QuotaKind::kServedConnections] = 100;
  RecordingDelegate d;
  Broker b(&d, l);
  auto port = b.CreatePort(Namespace::kRootIno, "svc", 0666, 0, true,
                           MakeCaller(1, kAlice));
  ASSERT_TRUE(port);
  // Auto-accept, and the server never reads: every cycle's connection
  // waits to be reaped, up to port_connections (4).
  Req opts = d.Issue(RequestKind::kWrite);
  Bytes rec =
      EncodeCommand(LPC_REC_PORT_OPTIONS, 0, 0, LPC_PORT_AUTO_ACCEPT, 0, {});
  b.Write(opts.token, port->handle, SpanOf(rec), true, Sender{1, kAlice});
  std::vector<Error> errors;
  for (int i = 0; i < 6; ++i) {
    Req open = d.Issue(RequestKind::kOpen);
    b.Open(open.token, port->attr.ino, O_RDWR, MakeCaller(7, kBob));
    auto reply = d.reply(open);
    ASSERT_TRUE(reply);
    if (auto* opened = std::get_if<Opened>(&*reply)) {
      b.Release(opened->handle.handle);
    } else {
      errors.push_back(std::get<Error>(*reply));
    }
  }
  EXPECT_EQ(b.connection_count(), 4u);
  EXPECT_EQ(errors,
            (std::vector<Error>{Error::kWouldBlock, Error::kWouldBlock}));
  b.Release(port->handle);
  EXPECT_EQ(b.connection_count(), 0u);
  EXPECT_TRUE(b.quota_empty());
}

TEST_F(QuotaBrokerTest, BytesQuotaParksBlockingAndRefusesNonblocking) {
  HandleId server = Create("svc");
  Req o1 = ConnectAs(kBob);
  ConnId c1 = AcceptNext(server);
  HandleId b1 = OpenedHandle(o1);
  Req o2 = ConnectAs(kBob);
  AcceptNext(server);
  HandleId b2 = OpenedHandle(o2);
  // Bob's 8 bytes are queued on his first connection.
  ExpectWritten(SendAs(kBob, b1, "12345678"));
  // His second connection's queue is empty, but his quota is full.
  EXPECT_EQ(ErrorOf(SendAs(kBob, b2, "x", /*nonblock=*/true)),
            Error::kNoBuffers);
  Req parked = SendAs(kBob, b2, "x");
  EXPECT_FALSE(d_.answered(parked));
  // The server is unaffected: its replies count against its own user.
  ExpectWritten(SendRecord(server, c1, "reply"));
  // Reading Bob's message on the first connection wakes his writer on the
  // second.
  ParsedRecord m = NextRecord(server);
  EXPECT_EQ(m.payload, "12345678");
  ExpectWritten(parked);
  EXPECT_EQ(Used(kBob, QuotaKind::kBytes), 1u);
  EXPECT_EQ(NextRecord(server).payload, "x") << "delivered, in order";
  EXPECT_EQ(DataOf(Read(b1)), "reply");
  for (HandleId h : {b1, b2, server}) broker_.Release(h);
  EXPECT_TRUE(broker_.quota_empty());
}

TEST_F(QuotaBrokerTest, PortsFoldersAndDepth) {
  auto create = [&](const char* name, uint32_t uid) {
    return broker_.CreatePort(Namespace::kRootIno, name, 0666, 0, true,
                              MakeCaller(uid + 1, uid));
  };
  auto p1 = create("a", kBob);
  auto p2 = create("b", kBob);
  EXPECT_EQ(create("c", kBob).error(), Error::kQuotaExceeded);
  EXPECT_EQ(create("a", kBob).error(), Error::kExists)
      << "a taken name is EEXIST first";
  auto p3 = create("c", kAlice);
  EXPECT_TRUE(p3) << "another user";
  broker_.Release(p1->handle);
  auto p4 = create("d", kBob);
  EXPECT_TRUE(p4) << "the closed port gave its charge back";

  Sender bob{1, kBob, kBob};
  auto f1 = broker_.MakeFolder(Namespace::kRootIno, "f1", 0755, 0, bob);
  ASSERT_TRUE(f1);
  auto f2 = broker_.MakeFolder(f1->ino, "f2", 0755, 0, bob);
  ASSERT_TRUE(f2);
  EXPECT_EQ(broker_.MakeFolder(f2->ino, "f3", 0755, 0, bob).error(),
            Error::kQuotaExceeded);
  EXPECT_EQ(broker_.MakeFolder(f1->ino, "f2", 0755, 0, bob).error(),
            Error::kExists);
  Sender alice{1, kAlice, kAlice};
  auto f3 = broker_.MakeFolder(f2->ino, "f3", 0755, 0, alice);
  ASSERT_TRUE(f3) << "depth 3 is allowed";
  EXPECT_EQ(broker_.MakeFolder(f3->ino, "f4", 0755, 0, alice).error(),
            Error::kNameTooLong);
  // Moving a two-level tree under a folder at depth 2 would make depth 4.
  auto g = broker_.MakeFolder(Namespace::kRootIno, "g", 0755, 0, alice);
  ASSERT_TRUE(g);
  EXPECT_EQ(broker_.Rename(Namespace::kRootIno, "f1", g->ino, "f1", 0).error(),
            Error::kNameTooLong);
  EXPECT_TRUE(broker_.Rename(f1->ino, "f2", g->ino, "f2", 0));
  EXPECT_EQ(Used(kBob, QuotaKind::kFolders), 2u);
  EXPECT_TRUE(broker_.RemoveFolder(f2->ino, "f3"));
  EXPECT_TRUE(broker_.RemoveFolder(g->ino, "f2"));
  EXPECT_EQ(Used(kBob, QuotaKind::kFolders), 1u);
  EXPECT_EQ(broker_.RemoveFolder(g->ino, "f2").error(), Error::kNotFound);
  EXPECT_EQ(Used(kBob, QuotaKind::kFolders), 1u) << "a failed rmdir keeps it";
  EXPECT_TRUE(broker_.RemoveFolder(Namespace::kRootIno, "f1"));
  EXPECT_TRUE(broker_.RemoveFolder(Namespace::kRootIno, "g"));
  for (auto* p : {&p2, &p3, &p4}) broker_.Release((*p)->handle);
  EXPECT_TRUE(broker_.quota_empty()) << broker_.StatsText();
}

TEST_F(QuotaBrokerTest, StatsListEachUsersUsage) {
  HandleId server = Create("svc");
  Req open = ConnectAs(kBob);
  std::string text = broker_.StatsText();
  EXPECT_NE(text.find("user 1000 ports=1 connections=0 served=1 pending=0 "
                      "bytes=0 folders=0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("user 2000 ports=0 connections=1 served=0 pending=1 "
                      "bytes=0 folders=0\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(Cancel(open));
  broker_.Release(server);
}

}  // namespace
}  // namespace lpc::testing
