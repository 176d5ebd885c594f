// Regression tests for requests cancelled while they wait. The recording
// delegate reuses a freed token for the very next request, the most
// recently freed first, as libfuse's requests reuse their addresses. A
// cancelled request must leave nothing behind that could later answer the
// request that inherits its token: every kind of waiting request is
// cancelled here, its token handed to a request of another kind, and then
// the event the cancelled one waited for happens.
#include <gtest/gtest.h>

#include "broker_fixture.h"

namespace lpc {
namespace {

using testing::BrokerTest;
using testing::ParsedRecord;
using testing::Req;

class StaleTokenTest : public BrokerTest {
 protected:
  StaleTokenTest() : BrokerTest(OneMessageQueues()) {}
  static Limits OneMessageQueues() {
    Limits l;
    l.queue_messages = 1;
    return l;
  }

  // An auto-accepting port with one client whose CONNECT has been read.
  void SetUp() override {
    server_ = Create("svc");
    ExpectWritten(Command(server_, LPC_REC_PORT_OPTIONS, ConnId(), 0,
                          LPC_PORT_AUTO_ACCEPT));
    client_ = OpenedHandle(Connect(O_RDWR, 42));
    conn_ = ConnOf(NextRecord(server_));
  }

  // Cancels `r` and checks that the next request gets its token.
  void CancelAndExpectReuse(const Req& r, RequestKind next_kind) {
    ASSERT_TRUE(Cancel(r));
    Req probe = d_.Issue(next_kind);
    ASSERT_EQ(probe.token, r.token) << "the delegate reuses the last token";
    // Give it back: the test issues the real request next.
    d_.AnswerCancelled(probe, {true, std::nullopt});
  }

  HandleId server_;
  HandleId client_;
  ConnId conn_;
};

TEST_F(StaleTokenTest, CancelledServerReadDoesNotCatchARecordForAClientRead) {
  // The mount-level report: the server's read is interrupted, two readers
  // of the client wait, and a second client connects.
  Req server_read = Read(server_, LPC_RECORD_MAX);
  CancelAndExpectReuse(server_read, RequestKind::kRead);
  Req client_read_1 = Read(client_);
  Req client_read_2 = Read(client_);
  ASSERT_EQ(client_read_1.token, server_read.token);
  HandleId second = OpenedHandle(Connect(O_RDWR, 77));
  EXPECT_FALSE(d_.answered(client_read_1)) << DataOf(client_read_1);
  EXPECT_FALSE(d_.answered(client_read_2));
  ParsedRecord c = NextRecord(server_);
  EXPECT_EQ(c.header.type, uint32_t{LPC_REC_CONNECT});
  EXPECT_EQ(c.header.pid, 77u);
  ExpectWritten(SendRecord(server_, conn_, "one"));
  EXPECT_EQ(DataOf(client_read_1), "one");
  (void)second;
}

TEST_F(StaleTokenTest, CancelledClientReadDoesNotTakeAnotherRequestsReply) {
  Req client_read = Read(client_);
  CancelAndExpectReuse(client_read, RequestKind::kRead);
  Req server_read = Read(server_, LPC_RECORD_MAX);
  ASSERT_EQ(server_read.token, client_read.token);
  ExpectWritten(SendRecord(server_, conn_, "for the client"));
  EXPECT_FALSE(d_.answered(server_read));
  EXPECT_EQ(DataOf(Read(client_)), "for the client");
  OpenedHandle(Connect(O_RDWR, 77));
  ParsedRecord c;
  std::memcpy(&c.header,
              std::get<testing::Data>(*d_.reply(server_read)).bytes.data(),
              sizeof c.header);
  EXPECT_EQ(c.header.type, uint32_t{LPC_REC_CONNECT});
}

TEST_F(StaleTokenTest, CancelledClientReadDoesNotAnswerAnOpen) {
  // The report of a crash: a read interrupted, the port opened again (the
  // open waits), a message sent on the first connection, then ACCEPT.
  ExpectWritten(Command(server_, LPC_REC_PORT_OPTIONS, ConnId(), 0, 0));
  Req client_read = Read(client_);
  CancelAndExpectReuse(client_read, RequestKind::kOpen);
  Req open = Connect(O_RDWR, 77);
  ASSERT_EQ(open.token, client_read.token);
  ExpectWritten(SendRecord(server_, conn_, "hello"));
  EXPECT_FALSE(d_.answered(open)) << "the open still waits";
  ParsedRecord c = NextRecord(server_);
  ExpectWritten(Command(server_, LPC_REC_ACCEPT, ConnOf(c)));
  HandleId second = OpenedHandle(open);
  EXPECT_EQ(DataOf(Read(client_)), "hello");
  ExpectWritten(Send(second, "from the second"));
  ParsedRecord m = NextRecord(server_);
  EXPECT_EQ(m.header.conn_id, c.header.conn_id);
  EXPECT_EQ(m.payload, "from the second");
}

TEST_F(StaleTokenTest, CancelledConnFileReadDoesNotTakeAnotherRequestsReply) {
  HandleId file = OpenConnFile(conn_);
  Req file_read = Read(file);
  CancelAndExpectReuse(file_read, RequestKind::kRead);
  Req client_read = Read(client_);
  ASSERT_EQ(client_read.token, file_read.token);
  ExpectWritten(Send(client_, "for the server"));
  EXPECT_FALSE(d_.answered(client_read)) << DataOf(client_read);
  EXPECT_EQ(DataOf(Read(file)), "for the server");
}

TEST_F(StaleTokenTest, CancelledOpenDoesNotAnswerARead) {
  ExpectWritten(Command(server_, LPC_REC_PORT_OPTIONS, ConnId(), 0, 0));
  Req open = Connect(O_RDWR, 77);
  ParsedRecord c = NextRecord(server_);
  CancelAndExpectReuse(open, RequestKind::kRead);
  Req client_read = Read(client_);
  ASSERT_EQ(client_read.token, open.token);
  EXPECT_EQ(ErrorOf(Command(server_, LPC_REC_ACCEPT, ConnOf(c))),
            Error::kNotConnected);
  EXPECT_FALSE(d_.answered(client_read));
  EXPECT_EQ(NextRecord(server_).header.flags,
            uint32_t{LPC_DISCONNECT_WITHDRAWN});
}

// The writers' tests cancel a writer that waits behind another one: the
// first writer is still there when room comes, so the queue is looked at
// again after it.
TEST_F(StaleTokenTest, CancelledClientWriterDoesNotSendAnEmptyMessage) {
  ExpectWritten(Send(client_, "fits"));
  Req first = Send(client_, "first waiter");
  Req second = Send(client_, "second waiter");
  ASSERT_FALSE(d_.answered(first));
  CancelAndExpectReuse(second, RequestKind::kRead);
  Req client_read = Read(client_, 4096);
  ASSERT_EQ(client_read.token, second.token);
  EXPECT_EQ(NextRecord(server_).payload, "fits");  // makes room
  ExpectWritten(first);
  EXPECT_FALSE(d_.answered(client_read)) << "answered as if it had written";
  EXPECT_EQ(NextRecord(server_).payload, "first waiter");
  EXPECT_EQ(ErrorOf(Read(server_, LPC_RECORD_MAX, true)), Error::kWouldBlock)
      << "no message nobody sent";
}

TEST_F(StaleTokenTest, CancelledServerWriterDoesNotAnswerAnotherRead) {
  HandleId other = OpenedHandle(Connect(O_RDWR, 77));
  NextRecord(server_);
  ExpectWritten(SendRecord(server_, conn_, "fits"));
  Req first = SendRecord(server_, conn_, "first", /*nonblock=*/false);
  Req second = SendRecord(server_, conn_, "second", /*nonblock=*/false);
  ASSERT_FALSE(d_.answered(first));
  CancelAndExpectReuse(second, RequestKind::kRead);
  Req other_read = Read(other);
  ASSERT_EQ(other_read.token, second.token);
  EXPECT_EQ(DataOf(Read(client_)), "fits");  // makes room
  ExpectWritten(first);
  EXPECT_FALSE(d_.answered(other_read));
  EXPECT_EQ(DataOf(Read(client_)), "first");
  EXPECT_EQ(ErrorOf(Read(client_, 4096, true)), Error::kWouldBlock)
      << "the cancelled message was not sent";
}

TEST_F(StaleTokenTest, ACancelledRequestIsInNoQueue) {
  Req server_read = Read(server_, LPC_RECORD_MAX);
  ExpectWritten(SendRecord(server_, conn_, "fills the queue"));
  Req writer = SendRecord(server_, conn_, "waits", false);
  EXPECT_EQ(broker_.waiter_count(), 2u);
  ASSERT_TRUE(Cancel(server_read));
  ASSERT_TRUE(Cancel(writer));
  EXPECT_EQ(broker_.waiter_count(), 0u);
  EXPECT_FALSE(broker_.Cancel(server_read.token)) << "only once";
  EXPECT_EQ(DataOf(Read(client_)), "fills the queue");
  EXPECT_EQ(ErrorOf(Read(client_, 4096, true)), Error::kWouldBlock);
}

}  // namespace
}  // namespace lpc
