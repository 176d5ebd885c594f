// The broker's behaviour through its public API and a recording delegate:
// every case a mount would exercise, without a mount.
#include "broker.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>

#include "broker_fixture.h"

namespace lpc {
namespace {

using testing::BrokerTest;
using testing::MakeCaller;
using testing::ParsedRecord;
using testing::RecordingDelegate;
using testing::Req;

TEST_F(BrokerTest, ConnectAcceptExchangeAndReply) {
  HandleId server = Create("svc");
  Req open = Connect(O_RDWR, 42);
  EXPECT_FALSE(d_.answered(open)) << "open waits for the server";

  ParsedRecord c = NextRecord(server);
  EXPECT_EQ(c.header.type, uint32_t{LPC_REC_CONNECT});
  EXPECT_EQ(c.header.pid, 42u);
  EXPECT_EQ(c.header.uid, 1000u);
  EXPECT_EQ(c.header.flags, uint32_t{LPC_CONNECT_READ | LPC_CONNECT_WRITE});
  lpc_connect_info info;
  ASSERT_GE(c.payload.size(), sizeof info);
  std::memcpy(&info, c.payload.data(), sizeof info);
  EXPECT_EQ(info.ngroups, 2u);

  ExpectWritten(Command(server, LPC_REC_ACCEPT, ConnOf(c)));
  HandleId client = OpenedHandle(open);

  ExpectWritten(Send(client, "ping"));
  ParsedRecord m = NextRecord(server);
  EXPECT_EQ(m.header.type, uint32_t{LPC_REC_MESSAGE});
  EXPECT_EQ(m.header.conn_id, c.header.conn_id);
  EXPECT_EQ(m.header.msg_id, 1u);
  EXPECT_EQ(m.header.pid, 42u);
  EXPECT_EQ(m.payload, "ping");

  Req r = Read(client);
  EXPECT_FALSE(d_.answered(r)) << "read waits for a message";
  ExpectWritten(Command(server, LPC_REC_REPLY, ConnOf(c), 1, 0, 0, "pong"));
  EXPECT_EQ(DataOf(r), "pong");

  // Each message can be answered once.
  EXPECT_EQ(
      ErrorOf(Command(server, LPC_REC_REPLY, ConnOf(c), 1, 0, 0, "again")),
      Error::kNoMessage);
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_REPLY, ConnOf(c), 99, 0, 0, "x")),
            Error::kNoMessage);
}

// Each MESSAGE record says how its writer differs from the client at
// connect (core/context_change.h decides; here: that the broker asks it
// for the client's messages and puts the answer in the record).
TEST_F(BrokerTest, MessageRecordsCarryContextChangeFlags) {
  HandleId server = Create("svc");
  Req open = Connect(O_RDWR, 42);
  ParsedRecord c = NextRecord(server);
  ExpectWritten(Command(server, LPC_REC_ACCEPT, ConnOf(c)));
  HandleId client = OpenedHandle(open);

  ExpectWritten(Send(client, "same", false, Sender{42, 1000, 1000}));
  EXPECT_EQ(NextRecord(server).header.flags, 0u);
  ExpectWritten(Send(client, "child", false, Sender{43, 1000, 1000}));
  EXPECT_EQ(NextRecord(server).header.flags,
            uint32_t{LPC_MESSAGE_PROCESS_CHANGED});
  ExpectWritten(Send(client, "setuid", false, Sender{42, 0, 1000}));
  EXPECT_EQ(NextRecord(server).header.flags,
            uint32_t{LPC_MESSAGE_IDENTITY_CHANGED});
  auto other_groups = std::make_shared<const std::vector<uint32_t>>(
      std::vector<uint32_t>{1000});
  ExpectWritten(Send(client, "groups", false,
                     Writer(Sender{42, 1000, 1000}, other_groups)));
  EXPECT_EQ(NextRecord(server).header.flags,
            uint32_t{LPC_MESSAGE_IDENTITY_CHANGED});
}

// lpc.7 "WHO SERVES A NAME": the creator, for as long as the port has
// its server handle; nothing for anything else.
TEST_F(BrokerTest, ServerAttributeNamesTheCreatorWhileThePortLives) {
  Caller creator = MakeCaller(77, 1001);
  creator.sender.start_time = 123456;
  auto created =
      broker_.CreatePort(Namespace::kRootIno, "svc", 0666, 0, true, creator);
  ASSERT_TRUE(created);
  NodeId ino = created->attr.ino;
  auto text = broker_.ServerAttribute(ino);
  ASSERT_TRUE(text);
  EXPECT_EQ(text.value(), "uid=1001 gid=1001 pid=77 start_time=123456");
  EXPECT_EQ(broker_.ServerAttribute(Namespace::kRootIno).error(),
            Error::kNoData);

  // The kernel still knows the node (its lookup is not forgotten) after
  // the server handle closes: it is no longer served.
  broker_.Release(created->handle);
  auto after = broker_.ServerAttribute(ino);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), Error::kNoData);
}

TEST_F(BrokerTest, PartialReadsNeverSpanMessages) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(SendRecord(server, conn, "hello"));
  ExpectWritten(SendRecord(server, conn, "world"));
  EXPECT_EQ(DataOf(Read(client, 2)), "he");
  EXPECT_EQ(DataOf(Read(client, 100)), "llo");
  EXPECT_EQ(DataOf(Read(client, 100)), "world");
  EXPECT_EQ(ErrorOf(Read(client, 100, true)), Error::kWouldBlock);
}

// The kernel splits a read(2) whose buffer spans more pages than one FUSE
// request carries, and asks for the rest at the offset reached, as long as
// each part comes back full. The later parts continue the message the
// first part began, never start the next one, and never wait.
TEST_F(BrokerTest, LaterPartsOfASplitReadStayInOneMessage) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(SendRecord(server, conn, std::string(256, 'a')));
  ExpectWritten(SendRecord(server, conn, std::string(256, 'b')));
  EXPECT_EQ(DataOf(Read(client, 256)), std::string(256, 'a'));
  EXPECT_EQ(DataOf(Read(client, 44, false, 256)), "")
      << "the first part finished the message";
  EXPECT_EQ(DataOf(Read(client, 100)), std::string(100, 'b'));
  EXPECT_EQ(DataOf(Read(client, 100, false, 100)), std::string(100, 'b'))
      << "a later part continues the message begun";
  EXPECT_EQ(DataOf(Read(client, 100, false, 200)), std::string(56, 'b'));
  Req later = Read(client, 100, false, 256);
  EXPECT_EQ(DataOf(later), "") << "a later part never waits";
  // The same on a server handle: one record per read(2).
  ExpectWritten(Send(client, "x"));
  ExpectWritten(Send(client, "y"));
  EXPECT_EQ(NextRecord(server).payload, "x");
  EXPECT_EQ(DataOf(Read(server, LPC_RECORD_MAX, false, 49)), "");
  EXPECT_EQ(NextRecord(server).payload, "y");
}

TEST_F(BrokerTest, RejectFailsTheOpenWithTheGivenErrno) {
  HandleId server = Create("svc");
  Req a = Connect();
  Req b = Connect();
  ParsedRecord ca = NextRecord(server);
  ParsedRecord cb = NextRecord(server);
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_REJECT, ConnOf(ca), 0, 0, EINTR)),
            Error::kInvalid);
  ExpectWritten(Command(server, LPC_REC_REJECT, ConnOf(ca)));
  ExpectWritten(Command(server, LPC_REC_REJECT, ConnOf(cb), 0, 0, EACCES));
  EXPECT_EQ(ErrorOf(a), Error::kConnectionRefused);
  EXPECT_EQ(ErrorOf(b), Error::kAccessDenied);
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_ACCEPT, ConnOf(ca))),
            Error::kNotConnected);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, RejectBeforeTheConnectRecordWasReadRemovesIt) {
  HandleId server = Create("svc");
  Req open = Connect();
  // Connection ids are not secret to the server: it may answer one it has
  // not read yet. The record then goes too.
  std::string stats = broker_.StatsText();
  size_t at = stats.find("conn ");
  ASSERT_NE(at, std::string::npos) << stats;
  ConnId id(std::stoull(stats.substr(at + 5)));
  ExpectWritten(Command(server, LPC_REC_REJECT, id));
  EXPECT_EQ(ErrorOf(open), Error::kConnectionRefused);
  EXPECT_EQ(ErrorOf(Read(server, LPC_RECORD_MAX, true)), Error::kWouldBlock);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, AcceptErrors) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_ACCEPT, conn)),
            Error::kAlreadyConnected);
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_ACCEPT, ConnId(424242))),
            Error::kNotConnected);
  Bytes junk(20);
  Req r = d_.Issue(RequestKind::kWrite);
  broker_.Write(r.token, server, testing::SpanOf(junk), true, {});
  EXPECT_EQ(ErrorOf(r), Error::kInvalid);
}

TEST_F(BrokerTest, CommandsForAnotherPortsConnectionFail) {
  HandleId a = Create("a");
  auto [client, conn] = AcceptedClient(a);
  HandleId b = Create("b");
  EXPECT_EQ(ErrorOf(SendRecord(b, conn, "x")), Error::kNotConnected);
  EXPECT_EQ(ErrorOf(Command(b, LPC_REC_DISCONNECT, conn)),
            Error::kNotConnected);
}

TEST_F(BrokerTest, InterruptedOpenUnseenByServerLeavesNoTrace) {
  HandleId server = Create("svc");
  Req open = Connect();
  ASSERT_TRUE(Cancel(open));
  EXPECT_EQ(ErrorOf(Read(server, LPC_RECORD_MAX, true)), Error::kWouldBlock);
  EXPECT_EQ(broker_.connection_count(), 0u);
  EXPECT_FALSE(broker_.Cancel(open.token));
}

TEST_F(BrokerTest, InterruptedOpenSeenByServerIsWithdrawn) {
  HandleId server = Create("svc");
  Req open = Connect();
  ParsedRecord c = NextRecord(server);
  ASSERT_TRUE(Cancel(open));
  ParsedRecord d = NextRecord(server);
  EXPECT_EQ(d.header.type, uint32_t{LPC_REC_DISCONNECT});
  EXPECT_EQ(d.header.conn_id, c.header.conn_id);
  EXPECT_EQ(d.header.flags, uint32_t{LPC_DISCONNECT_WITHDRAWN});
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_ACCEPT, ConnOf(c))),
            Error::kNotConnected);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, AlreadyInterruptedRequestIsNotParked) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  Req r = d_.Issue(RequestKind::kRead);
  d_.MarkInterrupted(r);
  broker_.Read(r.token, client, 10, 0, false);
  EXPECT_EQ(ErrorOf(r), Error::kInterrupted);
  EXPECT_EQ(broker_.waiter_count(), 0u);
}

TEST_F(BrokerTest, AReadyReadIgnoresAPendingSignal) {
  // lpc.7 "MESSAGES": a read whose data is queued returns it even if a
  // signal is pending.
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(SendRecord(server, conn, "here"));
  Req r = d_.Issue(RequestKind::kRead);
  d_.MarkInterrupted(r);
  broker_.Read(r.token, client, 10, 0, false);
  EXPECT_EQ(DataOf(r), "here");
}

TEST_F(BrokerTest, CancelledReaderIsSkipped) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  Req first = Read(client);
  Req second = Read(client);
  ASSERT_TRUE(Cancel(first));
  ExpectWritten(SendRecord(server, conn, "m"));
  EXPECT_EQ(ErrorOf(first), Error::kInterrupted);
  EXPECT_EQ(DataOf(second), "m");
}

TEST_F(BrokerTest, ConnectTimeout) {
  Limits l;
  l.connect_timeout_ms = 1000;
  RecordingDelegate d;
  Broker b(&d, l);
  auto port =
      b.CreatePort(Namespace::kRootIno, "svc", 0666, 0, true, MakeCaller(1));
  Req open = d.Issue(RequestKind::kOpen);
  b.Open(open.token, port->attr.ino, O_RDWR, MakeCaller(2));
  b.Expire(std::chrono::steady_clock::now());
  EXPECT_FALSE(d.answered(open));
  b.Expire(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  auto r = d.reply(open);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<Error>(*r), Error::kTimedOut);
  EXPECT_EQ(b.connection_count(), 0u);
}

TEST_F(BrokerTest, AutoAcceptAnswersAtOnceAndAcceptsPending) {
  HandleId server = Create("svc");
  Req before = Connect();
  ExpectWritten(
      Command(server, LPC_REC_PORT_OPTIONS, ConnId(), 0, LPC_PORT_AUTO_ACCEPT));
  OpenedHandle(before);
  Req after = Connect();
  OpenedHandle(after);
  ParsedRecord c1 = NextRecord(server);
  ParsedRecord c2 = NextRecord(server);
  EXPECT_EQ(c1.header.flags & LPC_CONNECT_ACCEPTED, 0u);
  EXPECT_NE(c2.header.flags & LPC_CONNECT_ACCEPTED, 0u);
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_ACCEPT, ConnOf(c2))),
            Error::kAlreadyConnected);
}

TEST_F(BrokerTest, BacklogBounded) {
  Limits l;
  l.backlog = 1;
  RecordingDelegate d;
  Broker b(&d, l);
  auto port =
      b.CreatePort(Namespace::kRootIno, "svc", 0666, 0, true, MakeCaller(1));
  Req one = d.Issue(RequestKind::kOpen);
  Req two = d.Issue(RequestKind::kOpen);
  b.Open(one.token, port->attr.ino, O_RDWR, MakeCaller(2));
  b.Open(two.token, port->attr.ino, O_RDWR, MakeCaller(2));
  EXPECT_FALSE(d.answered(one));
  EXPECT_EQ(std::get<Error>(*d.reply(two)), Error::kWouldBlock);
  b.AbortWaiters();
  EXPECT_EQ(std::get<Error>(*d.reply(one)), Error::kAborted);
}

Limits QueueLimits(size_t messages, size_t bytes) {
  Limits l;
  l.queue_messages = messages;
  l.queue_bytes = bytes;
  return l;
}

class SmallQueueTest : public BrokerTest {
 protected:
  SmallQueueTest() : BrokerTest(QueueLimits(2, 1024)) {}
};

TEST_F(SmallQueueTest, FullQueueParksWriterAndLosesNothing) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, "1"));
  ExpectWritten(Send(client, "2"));
  Req third = Send(client, "3");
  EXPECT_FALSE(d_.answered(third)) << "writer waits for room";
  EXPECT_EQ(ErrorOf(Send(client, "4", true)), Error::kWouldBlock);
  auto mask = broker_.Poll(client, PollToken());
  ASSERT_TRUE(mask);
  EXPECT_EQ(mask.value() & POLLOUT, 0u);

  EXPECT_EQ(NextRecord(server).payload, "1");
  ExpectWritten(third);
  EXPECT_EQ(NextRecord(server).payload, "2");
  EXPECT_EQ(NextRecord(server).payload, "3");
}

TEST_F(SmallQueueTest, ServerSendParksAndNonblockFails) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(SendRecord(server, conn, "a"));
  ExpectWritten(SendRecord(server, conn, "b"));
  EXPECT_EQ(ErrorOf(SendRecord(server, conn, "c")), Error::kWouldBlock);
  Req parked = SendRecord(server, conn, "c", /*nonblock=*/false);
  EXPECT_FALSE(d_.answered(parked));
  EXPECT_EQ(DataOf(Read(client)), "a");
  ExpectWritten(parked);
  EXPECT_EQ(DataOf(Read(client)), "b");
  EXPECT_EQ(DataOf(Read(client)), "c");
}

TEST_F(SmallQueueTest, AReplyThatDidNotGoOutCanBeRetried) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, "q"));
  EXPECT_EQ(NextRecord(server).header.msg_id, 1u);
  ExpectWritten(SendRecord(server, conn, "a"));
  ExpectWritten(SendRecord(server, conn, "b"));
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_REPLY, conn, 1, 0, 0, "r")),
            Error::kWouldBlock);
  Req parked = Command(server, LPC_REC_REPLY, conn, 1, 0, 0, "r", false);
  ASSERT_TRUE(Cancel(parked));
  EXPECT_EQ(DataOf(Read(client)), "a");
  ExpectWritten(Command(server, LPC_REC_REPLY, conn, 1, 0, 0, "r"));
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_REPLY, conn, 1, 0, 0, "r")),
            Error::kNoMessage);
}

class ByteLimitTest : public BrokerTest {
 protected:
  ByteLimitTest() : BrokerTest(QueueLimits(4, 300)) {}
};

TEST_F(ByteLimitTest, CancelledWriterLetsTheOneBehindIn) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, std::string(256, 'x')));
  Req big = Send(client, std::string(100, 'b'));
  EXPECT_FALSE(d_.answered(big)) << "256 + 100 bytes do not fit in 300";
  Req small = Send(client, "s");
  EXPECT_FALSE(d_.answered(small)) << "writers are served in order";
  ASSERT_TRUE(Cancel(big));
  ExpectWritten(small);
  EXPECT_EQ(NextRecord(server).payload, std::string(256, 'x'));
  EXPECT_EQ(NextRecord(server).payload, "s");
}

TEST_F(BrokerTest, ClientCloseComesAfterItsMessages) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, "last words"));
  broker_.Release(client);
  ParsedRecord m = NextRecord(server);
  EXPECT_EQ(m.payload, "last words");
  ParsedRecord d = NextRecord(server);
  EXPECT_EQ(d.header.type, uint32_t{LPC_REC_DISCONNECT});
  EXPECT_EQ(d.header.flags, uint32_t{LPC_DISCONNECT_CLIENT_CLOSED});
  EXPECT_EQ(ErrorOf(SendRecord(server, conn, "x")), Error::kNotConnected);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, SendToClosedClientBeforeDisconnectReadIsEpipe) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  broker_.Release(client);
  EXPECT_EQ(ErrorOf(SendRecord(server, conn, "x")), Error::kBrokenPipe);
  // Ending a connection whose client closed succeeds.
  ExpectWritten(Command(server, LPC_REC_DISCONNECT, conn));
  EXPECT_EQ(ErrorOf(SendRecord(server, conn, "x")), Error::kNotConnected);
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_ACCEPT, conn)),
            Error::kAlreadyConnected);
}

TEST_F(BrokerTest, ServerDisconnectGivesEofAfterDrainAndEpipe) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  Req parked_reader = Read(client);
  ExpectWritten(SendRecord(server, conn, "bye"));
  EXPECT_EQ(DataOf(parked_reader), "bye");
  ExpectWritten(SendRecord(server, conn, "queued"));
  ExpectWritten(Command(server, LPC_REC_DISCONNECT, conn));
  EXPECT_EQ(DataOf(Read(client)), "queued");
  EXPECT_EQ(DataOf(Read(client)), "");
  EXPECT_EQ(ErrorOf(Send(client, "x")), Error::kBrokenPipe);
  auto mask = broker_.Poll(client, PollToken());
  EXPECT_TRUE(mask.value() & POLLHUP);
  ParsedRecord d = NextRecord(server);
  EXPECT_EQ(d.header.flags, uint32_t{LPC_DISCONNECT_SERVER_CLOSED});
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_DISCONNECT, conn)),
            Error::kNotConnected);
  broker_.Release(client);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, ServerDisconnectDropsWhatTheServerDidNotRead) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, "unread"));
  ExpectWritten(Command(server, LPC_REC_DISCONNECT, conn));
  ParsedRecord d = NextRecord(server);
  EXPECT_EQ(d.header.type, uint32_t{LPC_REC_DISCONNECT}) << "no MESSAGE";
  EXPECT_EQ(ErrorOf(Read(server, LPC_RECORD_MAX, true)), Error::kWouldBlock);
}

TEST_F(BrokerTest, PortCloseRefusesPendingAndEndsConnections) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  Req parked = Read(client);
  Req pending = Connect();
  broker_.Release(server);
  EXPECT_EQ(ErrorOf(pending), Error::kConnectionRefused);
  EXPECT_EQ(DataOf(parked), "");
  EXPECT_EQ(ErrorOf(Send(client, "x")), Error::kBrokenPipe);
  EXPECT_EQ(broker_.Lookup(Namespace::kRootIno, "svc").error(),
            Error::kNotFound);
  EXPECT_EQ(ErrorOf(Connect()), Error::kConnectionRefused);
  broker_.Release(client);
  EXPECT_EQ(broker_.connection_count(), 0u);
  EXPECT_EQ(broker_.port_count(), 0u);
  EXPECT_EQ(broker_.waiter_count(), 0u);
}

TEST_F(BrokerTest, PortCloseFailsItsWaitingReaders) {
  HandleId server = Create("svc");
  Req reader = Read(server, LPC_RECORD_MAX);
  broker_.Release(server);
  EXPECT_EQ(ErrorOf(reader), Error::kBadHandle);
}

TEST_F(BrokerTest, ServerReadTooSmallKeepsRecord) {
  HandleId server = Create("svc");
  Connect();
  EXPECT_EQ(ErrorOf(Read(server, 10, true)), Error::kMessageTooLong);
  EXPECT_EQ(NextRecord(server).header.type, uint32_t{LPC_REC_CONNECT});
  expect_aborts_ = true;
  broker_.AbortWaiters();
}

TEST_F(BrokerTest, OversizedMessageRejected) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  EXPECT_EQ(
      ErrorOf(Send(client, std::string(LPC_DEFAULT_MAX_MESSAGE + 1, 'x'))),
      Error::kMessageTooLong);
  ExpectWritten(Send(client, std::string(LPC_DEFAULT_MAX_MESSAGE, 'x')));
  Req empty = Send(client, "");
  ASSERT_TRUE(d_.reply(empty));
  EXPECT_EQ(std::get<testing::Written>(*d_.reply(empty)).count, 0u);
}

TEST_F(BrokerTest, ConnectionFileTakesOverMessages) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, "early"));
  NodeId conn_dir = broker_.Lookup(Namespace::kRootIno, ".conn").value().ino;
  EXPECT_EQ(ErrorOf(OpenNode(conn_dir)), Error::kIsDirectory);
  auto file = broker_.Lookup(conn_dir, std::to_string(conn.value()));
  ASSERT_TRUE(file);
  EXPECT_EQ(file->perm, 0600u);
  HandleId sfile = OpenConnFile(conn);
  EXPECT_EQ(DataOf(Read(sfile)), "early");
  ExpectWritten(Send(client, "late"));
  EXPECT_EQ(DataOf(Read(sfile)), "late");
  EXPECT_EQ(ErrorOf(Read(server, LPC_RECORD_MAX, true)), Error::kWouldBlock);
  ExpectWritten(Send(sfile, "answer"));
  EXPECT_EQ(DataOf(Read(client)), "answer");
  broker_.Release(sfile);
  EXPECT_EQ(DataOf(Read(client)), "");
  EXPECT_EQ(NextRecord(server).header.flags,
            uint32_t{LPC_DISCONNECT_SERVER_CLOSED});
  broker_.Release(client);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, ConnectionFileAfterTheServerEndedIsNotConnected) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  NodeId conn_dir = broker_.Lookup(Namespace::kRootIno, ".conn").value().ino;
  NodeId file = broker_.Lookup(conn_dir, std::to_string(conn.value()))->ino;
  ExpectWritten(Command(server, LPC_REC_DISCONNECT, conn));
  EXPECT_EQ(ErrorOf(OpenNode(file)), Error::kNotConnected);
}

TEST_F(BrokerTest, PollReportsAndNotifies) {
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  auto mask = broker_.Poll(client, PollToken(555));
  EXPECT_EQ(mask.value(), uint32_t{POLLOUT});
  ExpectWritten(SendRecord(server, conn, "x"));
  EXPECT_EQ(d_.notified, std::vector<PollToken>{PollToken(555)});
  EXPECT_EQ(broker_.Poll(client, PollToken()).value(),
            uint32_t{POLLIN | POLLOUT});
  broker_.Poll(client, PollToken(556));
  EXPECT_EQ(d_.dropped, std::vector<PollToken>{PollToken(555)});
  broker_.Release(client);
  EXPECT_EQ(d_.dropped,
            (std::vector<PollToken>{PollToken(555), PollToken(556)}));
  EXPECT_EQ(broker_.Poll(server, PollToken()).value() & POLLIN,
            uint32_t{POLLIN});
  EXPECT_EQ(broker_.Poll(HandleId(999999), PollToken(7)).error(),
            Error::kBadHandle);
  EXPECT_EQ(d_.dropped.back(), PollToken(7)) << "an unknown handle's poll";
}

TEST_F(BrokerTest, NamesOfPorts) {
  HandleId server = Create("svc");
  auto bad = broker_.CreatePort(Namespace::kRootIno, "other", 0666, 0, false,
                                MakeCaller(1));
  EXPECT_EQ(bad.error(), Error::kConnectionRefused);
  EXPECT_EQ(
      broker_
          .CreatePort(Namespace::kRootIno, "svc", 0666, 0, true, MakeCaller(1))
          .error(),
      Error::kExists);
  auto other = broker_.CreatePort(Namespace::kRootIno, "b", 0666, 0, true,
                                  MakeCaller(1));
  EXPECT_EQ(
      broker_.Rename(Namespace::kRootIno, "svc", Namespace::kRootIno, "b", 0)
          .error(),
      Error::kExists);
  EXPECT_TRUE(broker_.Rename(Namespace::kRootIno, "svc", Namespace::kRootIno,
                             "moved", 0));

  // unlink removes the name only; the port keeps serving its clients.
  auto [client, conn] = AcceptedClient(server);
  EXPECT_TRUE(broker_.Unlink(Namespace::kRootIno, "moved"));
  ExpectWritten(Send(client, "still here"));
  EXPECT_EQ(NextRecord(server).payload, "still here");
  std::string stats = broker_.StatsText();
  EXPECT_NE(stats.find("port (unlinked)"), std::string::npos) << stats;
  EXPECT_NE(stats.find("port /b"), std::string::npos) << stats;
  (void)other;
}

TEST_F(BrokerTest, FoldersAndReservedNames) {
  auto dir =
      broker_.MakeFolder(Namespace::kRootIno, "app", 0755, 0, Sender{1, 5, 5});
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->uid, 5u);
  auto p = broker_.CreatePort(dir->ino, "svc", 0600, 0, true, MakeCaller(1));
  ASSERT_TRUE(p);
  EXPECT_EQ(broker_.RemoveFolder(Namespace::kRootIno, "app").error(),
            Error::kNotEmpty);
  auto conn_dir = broker_.Lookup(Namespace::kRootIno, ".conn");
  EXPECT_EQ(broker_.CreatePort(conn_dir->ino, "x", 0600, 0, true, MakeCaller(1))
                .error(),
            Error::kNotPermitted);
  broker_.Release(p->handle);
  EXPECT_TRUE(broker_.RemoveFolder(Namespace::kRootIno, "app"));
}

TEST_F(BrokerTest, StatsSnapshotIsReadOnlyAndSeekable) {
  HandleId server = Create("svc");
  AcceptedClient(server);
  NodeId stats = broker_.Lookup(Namespace::kRootIno, ".stats")->ino;
  EXPECT_EQ(ErrorOf(OpenNode(stats, O_WRONLY)), Error::kNotPermitted);
  HandleId h = OpenedHandle(OpenNode(stats, O_RDONLY));
  std::string all = DataOf(Read(h, 65536));
  EXPECT_EQ(all.rfind("port /svc ", 0), 0u) << all;
  EXPECT_EQ(DataOf(Read(h, 65536, false, 5)), all.substr(5));
  EXPECT_EQ(ErrorOf(Send(h, "x")), Error::kNotPermitted);
}

TEST_F(BrokerTest, PortCloseAfterClientCloseReapsOnce) {
  // The client's DISCONNECT is still unread when the port closes: closing
  // reaps the connection, and must not touch it again afterwards.
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  broker_.Release(client);
  broker_.Release(server);
  EXPECT_EQ(broker_.connection_count(), 0u);
  EXPECT_EQ(broker_.port_count(), 0u);
}

TEST_F(BrokerTest, EverythingClosedLeavesNothingBehind) {
  size_t nodes = broker_.node_count();
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  HandleId file = OpenConnFile(conn);
  ExpectWritten(Send(client, "a"));
  Read(client);
  broker_.Release(file);
  broker_.Release(client);
  broker_.Release(server);
  EXPECT_EQ(broker_.connection_count(), 0u);
  EXPECT_EQ(broker_.port_count(), 0u);
  EXPECT_EQ(broker_.waiter_count(), 0u);
  EXPECT_EQ(broker_.handle_count(), 0u);
  // The kernel still holds its lookups of the port and .conn file.
  EXPECT_GE(broker_.node_count(), nodes);
}

TEST_F(BrokerTest, AbortAnswersEveryWaiter) {
  expect_aborts_ = true;
  HandleId server = Create("svc");
  auto [client, conn] = AcceptedClient(server);
  Req reader = Read(client);
  Req pending = Connect();
  Req server_reader = Read(server, LPC_RECORD_MAX);
  // The pending connect's record was taken by nobody: server_reader got it.
  EXPECT_TRUE(d_.answered(server_reader));
  broker_.AbortWaiters();
  EXPECT_EQ(ErrorOf(reader), Error::kAborted);
  EXPECT_EQ(ErrorOf(pending), Error::kAborted);
  EXPECT_EQ(broker_.waiter_count(), 0u);
}

// A delegate that refuses every open reply, as the kernel does when the
// caller was interrupted before the reply arrived.
class RefusingDelegate : public RecordingDelegate {
 public:
  bool ReplyOpen(Token t, OpenedHandle h) override {
    RecordingDelegate::ReplyOpen(t, h);
    return false;
  }
};

TEST(BrokerRefusedOpen, TheBrokerReleasesTheHandleItself) {
  RefusingDelegate d;
  Broker b(&d);
  auto port =
      b.CreatePort(Namespace::kRootIno, "svc", 0666, 0, true, MakeCaller(1));
  Req opt = d.Issue(RequestKind::kWrite);
  Bytes rec =
      EncodeCommand(LPC_REC_PORT_OPTIONS, 0, 0, LPC_PORT_AUTO_ACCEPT, 0);
  b.Write(opt.token, port->handle, testing::SpanOf(rec), true, {});
  Req open = d.Issue(RequestKind::kOpen);
  b.Open(open.token, port->attr.ino, O_RDWR, MakeCaller(2));
  EXPECT_EQ(b.handle_count(), 1u) << "only the server handle is left";
  Req r = d.Issue(RequestKind::kRead);
  b.Read(r.token, port->handle, LPC_RECORD_MAX, 0, true);
  Req r2 = d.Issue(RequestKind::kRead);
  b.Read(r2.token, port->handle, LPC_RECORD_MAX, 0, true);
  auto disconnect = std::get<testing::Data>(*d.reply(r2)).bytes;
  lpc_record h;
  std::memcpy(&h, disconnect.data(), sizeof h);
  EXPECT_EQ(h.type, uint32_t{LPC_REC_DISCONNECT});
  EXPECT_EQ(h.flags, uint32_t{LPC_DISCONNECT_CLIENT_CLOSED});
}

}  // namespace
}  // namespace lpc
