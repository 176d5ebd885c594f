// The broker's behaviour through its public API and a recording delegate:
// every case a mount would exercise, without a mount.
#include "broker.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <cstring>

#include "recording_delegate.h"

namespace lpc {
namespace {

using testing::Data;
using testing::Opened;
using testing::RecordingDelegate;
using testing::Written;

Bytes bytes_of(std::string_view s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}
std::span<const std::byte> span_of(const Bytes& b) {
  return {b.data(), b.size()};
}

struct ParsedRecord {
  lpc_record header;
  std::string payload;
};

Caller caller(uint32_t pid, uint32_t uid = 1000) {
  Caller c;
  c.sender = {pid, uid, uid};
  c.groups = {uid, 27};
  return c;
}

class BrokerTest : public ::testing::Test {
 protected:
  explicit BrokerTest(Limits limits = {}) : broker_(&d_, limits) {}

  void TearDown() override { EXPECT_EQ(d_.double_replies, 0); }

  Token token() { return ++next_token_; }

  // Creates a port at the root; returns its server handle.
  HandleId create(std::string_view name, uint32_t perm = 0666) {
    auto r = broker_.create_port(Namespace::kRootIno, name, perm, true,
                                 caller(1, 1000));
    EXPECT_TRUE(r);
    port_ino_ = r->attr.ino;
    return r->handle;
  }

  // Starts a connection request; returns its token.
  Token connect(int flags = O_RDWR, uint32_t pid = 42) {
    Token t = token();
    broker_.open(t, port_ino_, flags, caller(pid));
    return t;
  }

  HandleId opened(Token t) {
    auto r = d_.reply(t);
    EXPECT_TRUE(r && std::holds_alternative<Opened>(*r)) << "not opened";
    return r && std::holds_alternative<Opened>(*r)
               ? std::get<Opened>(*r).handle.handle
               : 0;
  }

  Error error_of(Token t) {
    auto r = d_.reply(t);
    EXPECT_TRUE(r && std::holds_alternative<Error>(*r)) << "no error reply";
    return r && std::holds_alternative<Error>(*r) ? std::get<Error>(*r)
                                                  : Error::kBusy;
  }

  std::string data_of(Token t) {
    auto r = d_.reply(t);
    EXPECT_TRUE(r && std::holds_alternative<Data>(*r)) << "no data reply";
    return r && std::holds_alternative<Data>(*r) ? std::get<Data>(*r).text()
                                                 : "<none>";
  }

  // Reads one record from a server handle, which must have one queued.
  ParsedRecord record(HandleId server) {
    Token t = token();
    broker_.read(t, server, LPC_RECORD_MAX, 0, true);
    std::string raw = data_of(t);
    ParsedRecord p{};
    if (raw.size() >= sizeof(lpc_record)) {
      std::memcpy(&p.header, raw.data(), sizeof p.header);
      p.payload = raw.substr(sizeof(lpc_record));
    }
    return p;
  }

  // Writes a command record; returns the reply token.
  Token command(HandleId server, uint32_t type, uint64_t conn, uint64_t msg = 0,
                uint32_t flags = 0, int32_t status = 0,
                std::string_view payload = {}, bool nonblock = true) {
    Token t = token();
    Bytes p = bytes_of(payload);
    Bytes rec = encode_command(type, conn, msg, flags, status, span_of(p));
    broker_.write(t, server, span_of(rec), nonblock, Sender{1, 1000, 1000});
    return t;
  }

  void expect_written(Token t) {
    auto r = d_.reply(t);
    ASSERT_TRUE(r);
    ASSERT_TRUE(std::holds_alternative<Written>(*r))
        << "error: "
        << (std::holds_alternative<Error>(*r) ? describe(std::get<Error>(*r))
                                              : "?");
  }

  Token send(HandleId h, std::string_view text, bool nonblock = false) {
    Token t = token();
    Bytes b = bytes_of(text);
    broker_.write(t, h, span_of(b), nonblock, Sender{42, 1000, 1000});
    return t;
  }

  Token read(HandleId h, size_t size = 4096, bool nonblock = false) {
    Token t = token();
    broker_.read(t, h, size, 0, nonblock);
    return t;
  }

  // A connected client: returns {client handle, conn id}.
  std::pair<HandleId, ConnId> accepted_client(HandleId server) {
    Token t = connect();
    ParsedRecord c = record(server);
    EXPECT_EQ(c.header.type, uint32_t{LPC_REC_CONNECT});
    expect_written(command(server, LPC_REC_ACCEPT, c.header.conn_id));
    return {opened(t), c.header.conn_id};
  }

  RecordingDelegate d_;
  Broker broker_;
  Ino port_ino_ = 0;
  Token next_token_ = 1000;
};

TEST_F(BrokerTest, ConnectAcceptExchangeAndReply) {
  HandleId server = create("svc");
  Token open = connect(O_RDWR, 42);
  EXPECT_FALSE(d_.answered(open)) << "open waits for the server";

  ParsedRecord c = record(server);
  EXPECT_EQ(c.header.type, uint32_t{LPC_REC_CONNECT});
  EXPECT_EQ(c.header.pid, 42u);
  EXPECT_EQ(c.header.uid, 1000u);
  EXPECT_EQ(c.header.flags, uint32_t{LPC_CONNECT_READ | LPC_CONNECT_WRITE});
  lpc_connect_info info;
  ASSERT_GE(c.payload.size(), sizeof info);
  std::memcpy(&info, c.payload.data(), sizeof info);
  EXPECT_EQ(info.ngroups, 2u);

  expect_written(command(server, LPC_REC_ACCEPT, c.header.conn_id));
  HandleId client = opened(open);

  expect_written(send(client, "ping"));
  ParsedRecord m = record(server);
  EXPECT_EQ(m.header.type, uint32_t{LPC_REC_MESSAGE});
  EXPECT_EQ(m.header.conn_id, c.header.conn_id);
  EXPECT_EQ(m.header.msg_id, 1u);
  EXPECT_EQ(m.header.pid, 42u);
  EXPECT_EQ(m.payload, "ping");

  Token r = read(client);
  EXPECT_FALSE(d_.answered(r)) << "read waits for a message";
  expect_written(
      command(server, LPC_REC_REPLY, c.header.conn_id, 1, 0, 0, "pong"));
  EXPECT_EQ(data_of(r), "pong");

  // Each message can be answered once.
  EXPECT_EQ(error_of(command(server, LPC_REC_REPLY, c.header.conn_id, 1, 0, 0,
                             "again")),
            Error::kNoMessage);
  EXPECT_EQ(
      error_of(command(server, LPC_REC_REPLY, c.header.conn_id, 99, 0, 0, "x")),
      Error::kNoMessage);
}

TEST_F(BrokerTest, PartialReadsNeverSpanMessages) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "hello"));
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "world"));
  EXPECT_EQ(data_of(read(client, 2)), "he");
  EXPECT_EQ(data_of(read(client, 100)), "llo");
  EXPECT_EQ(data_of(read(client, 100)), "world");
  EXPECT_EQ(error_of(read(client, 100, true)), Error::kWouldBlock);
}

TEST_F(BrokerTest, RejectFailsTheOpenWithTheGivenErrno) {
  HandleId server = create("svc");
  Token a = connect();
  Token b = connect();
  ParsedRecord ca = record(server);
  ParsedRecord cb = record(server);
  EXPECT_EQ(
      error_of(command(server, LPC_REC_REJECT, ca.header.conn_id, 0, 0, EINTR)),
      Error::kInvalid);
  expect_written(command(server, LPC_REC_REJECT, ca.header.conn_id));
  expect_written(
      command(server, LPC_REC_REJECT, cb.header.conn_id, 0, 0, EACCES));
  EXPECT_EQ(error_of(a), Error::kConnectionRefused);
  EXPECT_EQ(error_of(b), Error::kAccessDenied);
  EXPECT_EQ(error_of(command(server, LPC_REC_ACCEPT, ca.header.conn_id)),
            Error::kNotConnected);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, AcceptErrors) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  EXPECT_EQ(error_of(command(server, LPC_REC_ACCEPT, conn)),
            Error::kAlreadyConnected);
  EXPECT_EQ(error_of(command(server, LPC_REC_ACCEPT, 424242)),
            Error::kNotConnected);
  Bytes junk(20);
  Token t = token();
  broker_.write(t, server, span_of(junk), true, {});
  EXPECT_EQ(error_of(t), Error::kInvalid);
}

TEST_F(BrokerTest, InterruptedOpenUnseenByServerLeavesNoTrace) {
  HandleId server = create("svc");
  Token open = connect();
  ASSERT_TRUE(broker_.cancel(open));
  EXPECT_FALSE(d_.answered(open)) << "the adapter answers EINTR itself";
  EXPECT_EQ(error_of(read(server, LPC_RECORD_MAX, true)), Error::kWouldBlock);
  EXPECT_EQ(broker_.connection_count(), 0u);
  EXPECT_FALSE(broker_.cancel(open));
}

TEST_F(BrokerTest, InterruptedOpenSeenByServerIsWithdrawn) {
  HandleId server = create("svc");
  Token open = connect();
  ParsedRecord c = record(server);
  ASSERT_TRUE(broker_.cancel(open));
  ParsedRecord d = record(server);
  EXPECT_EQ(d.header.type, uint32_t{LPC_REC_DISCONNECT});
  EXPECT_EQ(d.header.conn_id, c.header.conn_id);
  EXPECT_EQ(d.header.flags, uint32_t{LPC_DISCONNECT_WITHDRAWN});
  EXPECT_EQ(error_of(command(server, LPC_REC_ACCEPT, c.header.conn_id)),
            Error::kNotConnected);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, AlreadyInterruptedRequestIsNotParked) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  Token t = token();
  d_.mark_interrupted(t);
  broker_.read(t, client, 10, 0, false);
  EXPECT_EQ(error_of(t), Error::kInterrupted);
  EXPECT_EQ(broker_.waiter_count(), 0u);
}

TEST_F(BrokerTest, CancelledReaderIsSkipped) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  Token first = read(client);
  Token second = read(client);
  ASSERT_TRUE(broker_.cancel(first));
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "m"));
  EXPECT_FALSE(d_.answered(first));
  EXPECT_EQ(data_of(second), "m");
}

TEST_F(BrokerTest, ConnectTimeout) {
  Limits l;
  l.connect_timeout_ms = 1000;
  RecordingDelegate d;
  Broker b(&d, l);
  auto port = b.create_port(Namespace::kRootIno, "svc", 0666, true, caller(1));
  b.open(7, port->attr.ino, O_RDWR, caller(2));
  b.expire(std::chrono::steady_clock::now());
  EXPECT_FALSE(d.answered(7));
  b.expire(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  auto r = d.reply(7);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<Error>(*r), Error::kTimedOut);
  EXPECT_EQ(b.connection_count(), 0u);
}

TEST_F(BrokerTest, AutoAcceptAnswersAtOnceAndAcceptsPending) {
  HandleId server = create("svc");
  Token before = connect();
  expect_written(
      command(server, LPC_REC_PORT_OPTIONS, 0, 0, LPC_PORT_AUTO_ACCEPT));
  opened(before);
  Token after = connect();
  opened(after);
  ParsedRecord c1 = record(server);
  ParsedRecord c2 = record(server);
  EXPECT_EQ(c1.header.flags & LPC_CONNECT_ACCEPTED, 0u);
  EXPECT_NE(c2.header.flags & LPC_CONNECT_ACCEPTED, 0u);
  EXPECT_EQ(error_of(command(server, LPC_REC_ACCEPT, c2.header.conn_id)),
            Error::kAlreadyConnected);
}

TEST_F(BrokerTest, BacklogBounded) {
  Limits l;
  l.backlog = 1;
  RecordingDelegate d;
  Broker b(&d, l);
  auto port = b.create_port(Namespace::kRootIno, "svc", 0666, true, caller(1));
  b.open(1, port->attr.ino, O_RDWR, caller(2));
  b.open(2, port->attr.ino, O_RDWR, caller(2));
  EXPECT_FALSE(d.answered(1));
  EXPECT_EQ(std::get<Error>(*d.reply(2)), Error::kWouldBlock);
}

class SmallQueueTest : public BrokerTest {
 protected:
  SmallQueueTest() : BrokerTest(small()) {}
  static Limits small() {
    Limits l;
    l.queue_messages = 2;
    l.queue_bytes = 1024;
    return l;
  }
};

TEST_F(SmallQueueTest, FullQueueParksWriterAndLosesNothing) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  expect_written(send(client, "1"));
  expect_written(send(client, "2"));
  Token third = send(client, "3");
  EXPECT_FALSE(d_.answered(third)) << "writer waits for room";
  EXPECT_EQ(error_of(send(client, "4", true)), Error::kWouldBlock);
  Token pollq = token();
  auto mask = broker_.poll(client, 0);
  ASSERT_TRUE(mask);
  EXPECT_EQ(mask.value() & POLLOUT, 0u);
  (void)pollq;

  EXPECT_EQ(record(server).payload, "1");
  expect_written(third);
  EXPECT_EQ(record(server).payload, "2");
  EXPECT_EQ(record(server).payload, "3");
}

TEST_F(SmallQueueTest, ServerSendParksAndNonblockFails) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "a"));
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "b"));
  EXPECT_EQ(error_of(command(server, LPC_REC_SEND, conn, 0, 0, 0, "c")),
            Error::kWouldBlock);
  Token parked =
      command(server, LPC_REC_SEND, conn, 0, 0, 0, "c", /*nonblock=*/false);
  EXPECT_FALSE(d_.answered(parked));
  EXPECT_EQ(data_of(read(client)), "a");
  expect_written(parked);
  EXPECT_EQ(data_of(read(client)), "b");
  EXPECT_EQ(data_of(read(client)), "c");
}

TEST_F(BrokerTest, ClientCloseComesAfterItsMessages) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  expect_written(send(client, "last words"));
  broker_.release(client);
  ParsedRecord m = record(server);
  EXPECT_EQ(m.payload, "last words");
  ParsedRecord d = record(server);
  EXPECT_EQ(d.header.type, uint32_t{LPC_REC_DISCONNECT});
  EXPECT_EQ(d.header.flags, uint32_t{LPC_DISCONNECT_CLIENT_CLOSED});
  EXPECT_EQ(error_of(command(server, LPC_REC_SEND, conn, 0, 0, 0, "x")),
            Error::kNotConnected);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, SendToClosedClientBeforeDisconnectReadIsEpipe) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  broker_.release(client);
  EXPECT_EQ(error_of(command(server, LPC_REC_SEND, conn, 0, 0, 0, "x")),
            Error::kBrokenPipe);
}

TEST_F(BrokerTest, ServerDisconnectGivesEofAfterDrainAndEpipe) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  Token parked_reader = read(client);
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "bye"));
  EXPECT_EQ(data_of(parked_reader), "bye");
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "queued"));
  expect_written(command(server, LPC_REC_DISCONNECT, conn));
  EXPECT_EQ(data_of(read(client)), "queued");
  EXPECT_EQ(data_of(read(client)), "");
  EXPECT_EQ(error_of(send(client, "x")), Error::kBrokenPipe);
  auto mask = broker_.poll(client, 0);
  EXPECT_TRUE(mask.value() & POLLHUP);
  ParsedRecord d = record(server);
  EXPECT_EQ(d.header.flags, uint32_t{LPC_DISCONNECT_SERVER_CLOSED});
  EXPECT_EQ(error_of(command(server, LPC_REC_DISCONNECT, conn)),
            Error::kNotConnected);
  broker_.release(client);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, PortCloseRefusesPendingAndEndsConnections) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  Token parked = read(client);
  Token pending = connect();
  broker_.release(server);
  EXPECT_EQ(error_of(pending), Error::kConnectionRefused);
  EXPECT_EQ(data_of(parked), "");
  EXPECT_EQ(error_of(send(client, "x")), Error::kBrokenPipe);
  EXPECT_EQ(broker_.lookup(Namespace::kRootIno, "svc").error(),
            Error::kNotFound);
  Token late = token();
  broker_.open(late, port_ino_, O_RDWR, caller(3));
  EXPECT_EQ(error_of(late), Error::kConnectionRefused);
  broker_.release(client);
  EXPECT_EQ(broker_.connection_count(), 0u);
  EXPECT_EQ(broker_.port_count(), 0u);
  EXPECT_EQ(broker_.waiter_count(), 0u);
}

TEST_F(BrokerTest, ServerReadTooSmallKeepsRecord) {
  HandleId server = create("svc");
  connect();
  EXPECT_EQ(error_of(read(server, 10, true)), Error::kMessageTooLong);
  EXPECT_EQ(record(server).header.type, uint32_t{LPC_REC_CONNECT});
}

TEST_F(BrokerTest, OversizedMessageRejected) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  EXPECT_EQ(error_of(send(client, std::string(257, 'x'))),
            Error::kMessageTooLong);
  expect_written(send(client, std::string(256, 'x')));
}

TEST_F(BrokerTest, ConnectionFileTakesOverMessages) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  expect_written(send(client, "early"));
  Token t = token();
  broker_.open(t, broker_.lookup(Namespace::kRootIno, ".conn").value().ino,
               O_RDWR, caller(1));
  EXPECT_EQ(error_of(t), Error::kIsDirectory);
  auto file =
      broker_.lookup(broker_.lookup(Namespace::kRootIno, ".conn").value().ino,
                     std::to_string(conn));
  ASSERT_TRUE(file);
  EXPECT_EQ(file->perm, 0600u);
  Token ot = token();
  broker_.open(ot, file->ino, O_RDWR, caller(1));
  HandleId sfile = opened(ot);
  EXPECT_EQ(data_of(read(sfile)), "early");
  expect_written(send(client, "late"));
  EXPECT_EQ(data_of(read(sfile)), "late");
  EXPECT_EQ(error_of(read(server, LPC_RECORD_MAX, true)), Error::kWouldBlock);
  expect_written(send(sfile, "answer"));
  EXPECT_EQ(data_of(read(client)), "answer");
  broker_.release(sfile);
  EXPECT_EQ(data_of(read(client)), "");
  EXPECT_EQ(record(server).header.flags,
            uint32_t{LPC_DISCONNECT_SERVER_CLOSED});
  broker_.release(client);
  EXPECT_EQ(broker_.connection_count(), 0u);
}

TEST_F(BrokerTest, PollReportsAndNotifies) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  auto mask = broker_.poll(client, 555);
  EXPECT_EQ(mask.value(), uint32_t{POLLOUT});
  expect_written(command(server, LPC_REC_SEND, conn, 0, 0, 0, "x"));
  EXPECT_EQ(d_.notified, std::vector<PollToken>{555});
  EXPECT_EQ(broker_.poll(client, 0).value(), uint32_t{POLLIN | POLLOUT});
  broker_.poll(client, 556);
  EXPECT_EQ(d_.dropped, std::vector<PollToken>{555});
  broker_.release(client);
  EXPECT_EQ(d_.dropped, (std::vector<PollToken>{555, 556}));
  EXPECT_EQ(broker_.poll(server, 0).value() & POLLIN, uint32_t{POLLIN});
}

TEST_F(BrokerTest, NamesOfPorts) {
  HandleId server = create("svc");
  auto bad =
      broker_.create_port(Namespace::kRootIno, "other", 0666, false, caller(1));
  EXPECT_EQ(bad.error(), Error::kConnectionRefused);
  EXPECT_EQ(
      broker_.create_port(Namespace::kRootIno, "svc", 0666, true, caller(1))
          .error(),
      Error::kExists);
  SetAttrRequest trunc;
  trunc.set_size = true;
  trunc.size = 5;
  EXPECT_EQ(broker_.setattr(port_ino_, trunc).error(), Error::kInvalid);
  trunc.size = 0;
  EXPECT_TRUE(broker_.setattr(port_ino_, trunc));

  auto other =
      broker_.create_port(Namespace::kRootIno, "b", 0666, true, caller(1));
  EXPECT_EQ(
      broker_.rename(Namespace::kRootIno, "svc", Namespace::kRootIno, "b", 0)
          .error(),
      Error::kExists);
  EXPECT_TRUE(broker_.rename(Namespace::kRootIno, "svc", Namespace::kRootIno,
                             "moved", 0));
  EXPECT_EQ(
      broker_.rename(Namespace::kRootIno, ".stats", Namespace::kRootIno, "s", 0)
          .error(),
      Error::kNotPermitted);

  // unlink removes the name only; the port keeps serving its clients.
  auto [client, conn] = accepted_client(server);
  EXPECT_TRUE(broker_.unlink(Namespace::kRootIno, "moved"));
  expect_written(send(client, "still here"));
  EXPECT_EQ(record(server).payload, "still here");
  std::string stats = broker_.stats_text();
  EXPECT_NE(stats.find("port (unlinked)"), std::string::npos) << stats;
  EXPECT_NE(stats.find("port /b"), std::string::npos) << stats;
  (void)other;
}

TEST_F(BrokerTest, FoldersAndReservedNames) {
  auto dir = broker_.mkdir(Namespace::kRootIno, "app", 0755, Sender{1, 5, 5});
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->uid, 5u);
  auto p = broker_.create_port(dir->ino, "svc", 0600, true, caller(1));
  ASSERT_TRUE(p);
  EXPECT_EQ(broker_.rmdir(Namespace::kRootIno, "app").error(),
            Error::kNotEmpty);
  EXPECT_EQ(broker_.rmdir(Namespace::kRootIno, ".conn").error(), Error::kBusy);
  EXPECT_EQ(broker_.unlink(Namespace::kRootIno, ".stats").error(),
            Error::kNotPermitted);
  auto conn_dir = broker_.lookup(Namespace::kRootIno, ".conn");
  EXPECT_EQ(
      broker_.create_port(conn_dir->ino, "x", 0600, true, caller(1)).error(),
      Error::kNotPermitted);
  broker_.release(p->handle);
  EXPECT_TRUE(broker_.rmdir(Namespace::kRootIno, "app"));
}

TEST_F(BrokerTest, PortCloseAfterClientCloseReapsOnce) {
  // The client's DISCONNECT is still unread when the port closes: closing
  // reaps the connection, and must not touch it again afterwards.
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  broker_.release(client);
  broker_.release(server);
  EXPECT_EQ(broker_.connection_count(), 0u);
  EXPECT_EQ(broker_.port_count(), 0u);
}

TEST_F(BrokerTest, AbortAnswersEveryWaiter) {
  HandleId server = create("svc");
  auto [client, conn] = accepted_client(server);
  Token reader = read(client);
  Token pending = connect();
  Token server_reader = read(server, LPC_RECORD_MAX);
  // The pending connect's record was taken by nobody: server_reader got it.
  EXPECT_TRUE(d_.answered(server_reader));
  broker_.abort_waiters();
  EXPECT_EQ(error_of(reader), Error::kAborted);
  EXPECT_EQ(error_of(pending), Error::kAborted);
  EXPECT_EQ(broker_.waiter_count(), 0u);
}

}  // namespace
}  // namespace lpc
