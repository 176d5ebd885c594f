// The broker's side of the call and transfer ioctls (lpc.7 "IOCTLS"),
// without a mount: calls routed by message id, cancellation before and
// after the server read the message, batches with a bad record, framing
// of received records, timeouts, and tokens reused after a cancel.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "broker_fixture.h"
#include "transfer.h"

namespace lpc::testing {
namespace {

// One record as it sits in data[]: header and payload, padded to 8.
Bytes RecordBytes(uint32_t type, std::string_view payload, uint64_t conn = 0,
                  uint64_t msg = 0, uint32_t flags = 0) {
  Bytes r = EncodeCommand(type, conn, msg, flags, 0, SpanOf(BytesOf(payload)));
  r.resize(LPC_RECORD_SPACE(payload.size()));
  return r;
}

// An ioctl buffer of `size` bytes: the header, then `records`.
Bytes Buffer(size_t size, const std::vector<Bytes>& records, uint32_t flags = 0,
             uint32_t timeout_ms = 0, uint32_t max_records = 0) {
  size_t need = sizeof(lpc_transfer);
  for (const Bytes& r : records) need += r.size();
  Bytes buf(std::max(size, need));
  lpc_transfer h{};
  h.flags = flags;
  h.timeout_ms = timeout_ms;
  h.max_records = max_records;
  size_t off = sizeof h;
  for (const Bytes& r : records) {
    std::memcpy(buf.data() + off, r.data(), r.size());
    off += r.size();
  }
  h.send_length = static_cast<uint32_t>(off - sizeof h);
  std::memcpy(buf.data(), &h, sizeof h);
  buf.resize(size);  // a send area past the buffer is the test's to see
  return buf;
}

struct Output {
  lpc_transfer header{};
  std::vector<ParsedRecord> records;
};

Output Parse(const Bytes& out) {
  Output o;
  if (out.size() < sizeof o.header) return o;
  std::memcpy(&o.header, out.data(), sizeof o.header);
  size_t off = sizeof o.header;
  for (uint32_t i = 0; i < o.header.received; ++i) {
    ParsedRecord p;
    std::memcpy(&p.header, out.data() + off, sizeof p.header);
    p.payload.assign(
        reinterpret_cast<const char*>(out.data() + off + sizeof p.header),
        p.header.length);
    EXPECT_EQ(off % 8, 0u) << "records start at multiples of 8";
    off += LPC_RECORD_SPACE(p.header.length);
    o.records.push_back(p);
  }
  return o;
}

class IoctlTest : public BrokerTest {
 protected:
  void SetUp() override {
    server_ = Create("svc");
    ExpectWritten(Command(server_, LPC_REC_PORT_OPTIONS, ConnId(), 0,
                          LPC_PORT_AUTO_ACCEPT));
    client_ = OpenedHandle(Connect(O_RDWR, 42));
    conn_ = ConnOf(NextRecord(server_));
  }

  Req Call(std::string_view text, size_t size = 512, uint32_t flags = 0,
           uint32_t timeout_ms = 0, HandleId h = HandleId()) {
    Req r = d_.Issue(RequestKind::kCall);
    // Without the padding: a call's one record may end the send area.
    Bytes record = RecordBytes(LPC_REC_MESSAGE, text);
    record.resize(sizeof(lpc_record) + text.size());
    Bytes buf = Buffer(size, {record}, flags, timeout_ms);
    broker_.Call(r.token, h ? h : client_, SpanOf(buf), Sender{42, 1000, 1000});
    return r;
  }
  Req Transfer(HandleId h, const std::vector<Bytes>& records,
               uint32_t flags = 0, size_t size = 4096, uint32_t max_records = 0,
               uint32_t timeout_ms = 0) {
    Req r = d_.Issue(RequestKind::kReceive);
    Bytes buf = Buffer(size, records, flags, timeout_ms, max_records);
    broker_.Transfer(r.token, h, SpanOf(buf), Sender{1, 1000, 1000});
    return r;
  }
  std::optional<Output> OutputOf(const Req& r) {
    auto reply = d_.reply(r);
    if (!reply || !std::holds_alternative<Transferred>(*reply)) {
      ADD_FAILURE() << "no ioctl output";
      return std::nullopt;
    }
    return Parse(std::get<Transferred>(*reply).out);
  }
  Req Reply(uint64_t msg, std::string_view text) {
    return Command(server_, LPC_REC_REPLY, conn_, msg, 0, 0, text);
  }

  HandleId server_;
  HandleId client_;
  ConnId conn_;
};

TEST_F(IoctlTest, CallGetsTheReplyToItsOwnMessage) {
  Req first = Call("one");
  Req second = Call("two");
  ParsedRecord a = NextRecord(server_);
  ParsedRecord b = NextRecord(server_);
  EXPECT_EQ(a.payload, "one");
  EXPECT_EQ(a.header.flags & LPC_MESSAGE_CALL, uint32_t{LPC_MESSAGE_CALL});
  EXPECT_EQ(b.payload, "two");
  // Answered out of order: each call still gets its own.
  ExpectWritten(Reply(b.header.msg_id, "TWO"));
  ExpectWritten(Reply(a.header.msg_id, "ONE"));
  auto one = OutputOf(first);
  auto two = OutputOf(second);
  ASSERT_TRUE(one && two);
  ASSERT_EQ(one->records.size(), 1u);
  EXPECT_EQ(one->records[0].payload, "ONE");
  EXPECT_EQ(one->records[0].header.type, uint32_t{LPC_REC_REPLY});
  EXPECT_EQ(one->records[0].header.msg_id, a.header.msg_id);
  EXPECT_EQ(one->header.first_msg_id, a.header.msg_id);
  EXPECT_EQ(one->records[0].header.pid, 1u) << "the server's writer";
  EXPECT_EQ(two->records[0].payload, "TWO");
  // Nothing reached the read queue.
  EXPECT_EQ(ErrorOf(Read(client_, 4096, true)), Error::kWouldBlock);
}

TEST_F(IoctlTest, AReplyToAPlainWriteGoesToTheReadQueue) {
  ExpectWritten(Send(client_, "plain"));
  Req call = Call("called");
  ParsedRecord plain = NextRecord(server_);
  ParsedRecord called = NextRecord(server_);
  EXPECT_EQ(plain.header.flags & LPC_MESSAGE_CALL, 0u);
  ExpectWritten(Reply(plain.header.msg_id, "P"));
  EXPECT_FALSE(d_.answered(call));
  EXPECT_EQ(DataOf(Read(client_)), "P");
  ExpectWritten(SendRecord(server_, conn_, "S"));
  EXPECT_FALSE(d_.answered(call)) << "a SEND never answers a call";
  ExpectWritten(Reply(called.header.msg_id, "C"));
  EXPECT_EQ(OutputOf(call)->records[0].payload, "C");
  EXPECT_EQ(DataOf(Read(client_)), "S");
}

TEST_F(IoctlTest, AReplyTooLongForTheCallerFailsForTheServerOnly) {
  // 96 bytes of header room leave 4 bytes for the reply's payload.
  Req call = Call("q", 100);
  ParsedRecord m = NextRecord(server_);
  EXPECT_EQ(ErrorOf(Reply(m.header.msg_id, "12345")), Error::kMessageTooLong);
  EXPECT_FALSE(d_.answered(call));
  ExpectWritten(Reply(m.header.msg_id, "1234"));
  EXPECT_EQ(OutputOf(call)->records[0].payload, "1234");
}

TEST_F(IoctlTest, CancelBeforeTheServerReadWithdrawsTheMessage) {
  Req call = Call("never seen");
  ASSERT_TRUE(Cancel(call));
  EXPECT_EQ(ErrorOf(call), Error::kInterrupted);
  EXPECT_EQ(ErrorOf(Read(server_, LPC_RECORD_MAX, true)), Error::kWouldBlock);
  // The ids go on: the next message is not confused with it.
  Req next = Call("next");
  ParsedRecord m = NextRecord(server_);
  EXPECT_EQ(m.payload, "next");
  ExpectWritten(Reply(m.header.msg_id, "N"));
  EXPECT_EQ(OutputOf(next)->records[0].payload, "N");
}

TEST_F(IoctlTest, CancelAfterTheServerReadSendsACancelAndDropsTheReply) {
  Req call = Call("slow");
  ParsedRecord m = NextRecord(server_);
  ASSERT_TRUE(Cancel(call));
  EXPECT_EQ(ErrorOf(call), Error::kInterrupted);
  ParsedRecord cancel = NextRecord(server_);
  EXPECT_EQ(cancel.header.type, uint32_t{LPC_REC_CANCEL});
  EXPECT_EQ(cancel.header.msg_id, m.header.msg_id);
  EXPECT_EQ(cancel.header.flags, uint32_t{LPC_CANCEL_INTERRUPTED});
  // The token is reused by the next call at once; the late reply is
  // accepted and dropped, never delivered to it.
  Req next = Call("next");
  EXPECT_EQ(next.token, call.token) << "the delegate reuses tokens";
  ExpectWritten(Reply(m.header.msg_id, "late"));
  EXPECT_FALSE(d_.answered(next));
  EXPECT_EQ(ErrorOf(Read(client_, 4096, true)), Error::kWouldBlock);
  EXPECT_NE(broker_.StatsText().find("calls=1 replies_dropped=1"),
            std::string::npos)
      << broker_.StatsText();
  ParsedRecord n = NextRecord(server_);
  ExpectWritten(Reply(n.header.msg_id, "mine"));
  EXPECT_EQ(OutputOf(next)->records[0].payload, "mine");
  // Dropped once: a second reply to it is an unknown id.
  EXPECT_EQ(ErrorOf(Reply(m.header.msg_id, "again")), Error::kNoMessage);
}

TEST_F(IoctlTest, ACallTimesOut) {
  Req call = Call("t", 512, 0, /*timeout_ms=*/50);
  ParsedRecord m = NextRecord(server_);
  broker_.Expire(std::chrono::steady_clock::now());
  EXPECT_FALSE(d_.answered(call)) << "not before its time";
  broker_.Expire(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  EXPECT_EQ(ErrorOf(call), Error::kTimedOut);
  ParsedRecord cancel = NextRecord(server_);
  EXPECT_EQ(cancel.header.type, uint32_t{LPC_REC_CANCEL});
  EXPECT_EQ(cancel.header.flags, uint32_t{LPC_CANCEL_TIMED_OUT});
  EXPECT_EQ(cancel.header.msg_id, m.header.msg_id);
}

TEST_F(IoctlTest, ACallFailsWhenTheServerSideEnds) {
  Req call = Call("x");
  ExpectWritten(Command(server_, LPC_REC_DISCONNECT, conn_));
  EXPECT_EQ(ErrorOf(call), Error::kBrokenPipe);
}

TEST_F(IoctlTest, CallChecksItsInput) {
  EXPECT_EQ(ErrorOf(Call("x", 512, 0, 0, server_)), Error::kNotTty);
  EXPECT_EQ(ErrorOf(Call("x", 95)), Error::kInvalid) << "room for two headers";
  EXPECT_EQ(ErrorOf(Call(std::string(LPC_DEFAULT_MAX_MESSAGE + 1, 'a'),
                         LPC_DEFAULT_MAX_MESSAGE + 1024)),
            Error::kMessageTooLong);
  EXPECT_EQ(ErrorOf(Call("x", 512, LPC_TRANSFER_NO_RECEIVE)), Error::kInvalid);
  Req bad = d_.Issue(RequestKind::kCall);
  Bytes buf = Buffer(512, {RecordBytes(LPC_REC_MESSAGE, "x", 0, 7)});
  broker_.Call(bad.token, client_, SpanOf(buf), Sender{42, 1000, 1000});
  EXPECT_EQ(ErrorOf(bad), Error::kInvalid) << "a msg_id of its own";
}

TEST_F(IoctlTest, ACallWaitsForRoomUnlessNoWait) {
  for (size_t i = 0; i < Limits{}.queue_messages; ++i) {
    ExpectWritten(Send(client_, "fill"));
  }
  EXPECT_EQ(ErrorOf(Call("x", 512, LPC_TRANSFER_NO_WAIT)), Error::kWouldBlock);
  Req call = Call("waits");
  EXPECT_FALSE(d_.answered(call));
  NextRecord(server_);  // room for one
  for (size_t i = 1; i < Limits{}.queue_messages; ++i) NextRecord(server_);
  ParsedRecord m = NextRecord(server_);
  EXPECT_EQ(m.payload, "waits");
  ExpectWritten(Reply(m.header.msg_id, "ok"));
  EXPECT_EQ(OutputOf(call)->records[0].payload, "ok");
}

TEST_F(IoctlTest, ServerReceivesManyRecordsFramed) {
  for (const char* m : {"a", "bbbbbbbbbbbb", "cc"}) {
    ExpectWritten(Send(client_, m));
  }
  Req r = Transfer(server_, {}, 0, 4096, /*max_records=*/2);
  auto out = OutputOf(r);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->records.size(), 2u);
  EXPECT_EQ(out->records[0].payload, "a");
  EXPECT_EQ(out->records[1].payload, "bbbbbbbbbbbb");
  EXPECT_EQ(out->header.received_length,
            LPC_RECORD_SPACE(1) + LPC_RECORD_SPACE(12));
  EXPECT_EQ(NextRecord(server_).payload, "cc");
}

TEST_F(IoctlTest, AReceiveTooSmallForTheFirstRecordLeavesItQueued) {
  ExpectWritten(Send(client_, std::string(100, 'x')));
  EXPECT_EQ(ErrorOf(Transfer(server_, {}, 0, 48 + 100)),
            Error::kMessageTooLong);
  EXPECT_EQ(NextRecord(server_).payload, std::string(100, 'x'));
}

TEST_F(IoctlTest, ReplyAndReceiveInOneCall) {
  ExpectWritten(Send(client_, "first"));
  ParsedRecord m = NextRecord(server_);
  Req r = Transfer(server_, {RecordBytes(LPC_REC_REPLY, "1st", conn_.value(),
                                         m.header.msg_id)});
  EXPECT_FALSE(d_.answered(r)) << "waits for the next record";
  EXPECT_EQ(DataOf(Read(client_)), "1st");
  ExpectWritten(Send(client_, "second"));
  auto out = OutputOf(r);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->header.sent, 1u);
  EXPECT_EQ(out->header.send_error, 0);
  ASSERT_EQ(out->records.size(), 1u);
  EXPECT_EQ(out->records[0].payload, "second");
}

TEST_F(IoctlTest, ABadRecordInTheMiddleEndsTheBatchThere) {
  Bytes good1 = RecordBytes(LPC_REC_SEND, "one", conn_.value());
  Bytes bad = RecordBytes(LPC_REC_SEND, "two", conn_.value(), /*msg=*/5);
  Bytes good2 = RecordBytes(LPC_REC_SEND, "three", conn_.value());
  auto out = OutputOf(Transfer(server_, {good1, bad, good2}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->header.sent, 1u);
  EXPECT_EQ(out->header.send_error, EINVAL);
  EXPECT_EQ(out->header.received, 0u) << "no receive after a failed send";
  EXPECT_EQ(DataOf(Read(client_)), "one");
  EXPECT_EQ(ErrorOf(Read(client_, 4096, true)), Error::kWouldBlock);
  // Record 0 bad: nothing took effect, the ioctl fails.
  EXPECT_EQ(ErrorOf(Transfer(server_, {bad, good2})), Error::kInvalid);
  EXPECT_EQ(ErrorOf(Read(client_, 4096, true)), Error::kWouldBlock);
}

TEST_F(IoctlTest, ClientBatchGetsConsecutiveIdsAndAFullQueueEndsIt) {
  std::vector<Bytes> batch;
  for (size_t i = 0; i < Limits{}.queue_messages + 2; ++i) {
    batch.push_back(RecordBytes(LPC_REC_MESSAGE, "m" + std::to_string(i)));
  }
  auto out = OutputOf(Transfer(client_, batch, LPC_TRANSFER_NO_RECEIVE, 16000));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->header.sent, Limits{}.queue_messages);
  EXPECT_EQ(out->header.send_error, EAGAIN) << "sending never waits";
  ParsedRecord first = NextRecord(server_);
  EXPECT_EQ(first.header.msg_id, out->header.first_msg_id);
  EXPECT_EQ(NextRecord(server_).header.msg_id, out->header.first_msg_id + 1);
}

TEST_F(IoctlTest, AWaitingReceiverTakesAWholeBatchAtOnce) {
  Req waiting = Transfer(server_, {});
  EXPECT_FALSE(d_.answered(waiting));
  auto sent = OutputOf(Transfer(
      client_,
      {RecordBytes(LPC_REC_MESSAGE, "1"), RecordBytes(LPC_REC_MESSAGE, "2"),
       RecordBytes(LPC_REC_MESSAGE, "3")},
      LPC_TRANSFER_NO_RECEIVE));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->header.sent, 3u);
  auto got = OutputOf(waiting);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->records.size(), 3u) << "woken once, for the whole batch";
  EXPECT_EQ(got->records[2].payload, "3");
  // The same on a bound connection's file.
  HandleId file = OpenConnFile(conn_);
  Req on_file = Transfer(file, {});
  ASSERT_TRUE(OutputOf(Transfer(
      client_,
      {RecordBytes(LPC_REC_MESSAGE, "a"), RecordBytes(LPC_REC_MESSAGE, "b")},
      LPC_TRANSFER_NO_RECEIVE)));
  auto bound = OutputOf(on_file);
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->records.size(), 2u);
}

TEST_F(IoctlTest, ClientReceivesRepliesWithTheirIds) {
  ExpectWritten(Send(client_, "q"));
  ParsedRecord m = NextRecord(server_);
  ExpectWritten(Reply(m.header.msg_id, "answer"));
  ExpectWritten(SendRecord(server_, conn_, "news"));
  auto out = OutputOf(Transfer(client_, {}));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->records.size(), 2u);
  EXPECT_EQ(out->records[0].header.msg_id, m.header.msg_id);
  EXPECT_EQ(out->records[0].payload, "answer");
  EXPECT_EQ(out->records[1].header.msg_id, 0u) << "a SEND answers nothing";
  EXPECT_EQ(ErrorOf(Transfer(client_, {}, LPC_TRANSFER_NO_WAIT)),
            Error::kWouldBlock);
}

TEST_F(IoctlTest, AnInterruptedReceiveReportsTheBatchItSent) {
  ExpectWritten(Send(client_, "q"));
  ParsedRecord m = NextRecord(server_);
  Req r = Transfer(server_, {RecordBytes(LPC_REC_REPLY, "a", conn_.value(),
                                         m.header.msg_id)});
  ASSERT_TRUE(Cancel(r));
  auto out = OutputOf(r);
  ASSERT_TRUE(out) << "not EINTR: the reply went out";
  EXPECT_EQ(out->header.sent, 1u);
  EXPECT_EQ(out->header.received, 0u);
  // Without a batch a signal is EINTR.
  Req idle = Transfer(server_, {});
  ASSERT_TRUE(Cancel(idle));
  EXPECT_EQ(ErrorOf(idle), Error::kInterrupted);
}

TEST_F(IoctlTest, ReceiveAndTransferOnTheConnectionFile) {
  HandleId file = OpenConnFile(conn_);
  Req call = Call("via file");
  auto got = OutputOf(Transfer(file, {}));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->records.size(), 1u);
  const lpc_record& h = got->records[0].header;
  EXPECT_EQ(h.type, uint32_t{LPC_REC_MESSAGE});
  EXPECT_EQ(h.conn_id, conn_.value());
  // conn_id 0 names the file's own connection.
  auto sent =
      OutputOf(Transfer(file,
                        {RecordBytes(LPC_REC_REPLY, "back", 0, h.msg_id),
                         RecordBytes(LPC_REC_SEND, "extra", conn_.value() + 1)},
                        LPC_TRANSFER_NO_RECEIVE));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->header.sent, 1u);
  EXPECT_EQ(sent->header.send_error, EINVAL) << "another connection's id";
  EXPECT_EQ(OutputOf(call)->records[0].payload, "back");
  EXPECT_EQ(ErrorOf(Transfer(file, {RecordBytes(LPC_REC_ACCEPT, "", 0)})),
            Error::kInvalid);
}

TEST_F(IoctlTest, TransferChecksItsHeader) {
  Req r = d_.Issue(RequestKind::kReceive);
  Bytes buf = Buffer(256, {});
  lpc_transfer h;
  std::memcpy(&h, buf.data(), sizeof h);
  h.reserved = 1;
  std::memcpy(buf.data(), &h, sizeof h);
  broker_.Transfer(r.token, server_, SpanOf(buf), Sender{});
  EXPECT_EQ(ErrorOf(r), Error::kInvalid);
  EXPECT_EQ(ErrorOf(Transfer(server_, {}, 0x80)), Error::kInvalid);
  Req short_buf = d_.Issue(RequestKind::kReceive);
  Bytes tiny(40);
  broker_.Transfer(short_buf.token, server_, SpanOf(tiny), Sender{});
  EXPECT_EQ(ErrorOf(short_buf), Error::kInvalid);
  // Room for no record to receive: refused, not a wait that cannot end.
  EXPECT_EQ(ErrorOf(Transfer(server_, {}, 0, 64)), Error::kInvalid);
  // An empty message: refused, as a SEND or REPLY without payload is.
  EXPECT_EQ(ErrorOf(Transfer(client_, {RecordBytes(LPC_REC_MESSAGE, "")},
                             LPC_TRANSFER_NO_RECEIVE, 48 + 48)),
            Error::kInvalid);
}

TEST(TransferFraming, TheLastRecordMayLeaveOutItsPadding) {
  Bytes area = EncodeCommand(LPC_REC_SEND, 1, 0, 0, 0, SpanOf(BytesOf("abc")));
  RecordCursor cursor(SpanOf(area));
  auto r = cursor.Next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), sizeof(lpc_record) + 3);
  EXPECT_TRUE(cursor.done());
  Bytes cut(area.begin(), area.end() - 1);
  RecordCursor broken(SpanOf(cut));
  EXPECT_FALSE(broken.Next()) << "a record cut short";
}

}  // namespace
}  // namespace lpc::testing
