// The broker's log events (core/events.h, lpcfs.8 "LOGGING"): what each
// says, that the decoder names the field at fault, and the rate limit.
#include "events.h"

#include <gtest/gtest.h>

#include <cstring>

#include "broker_fixture.h"
#include "records.h"

namespace lpc {
namespace {

using namespace std::chrono_literals;

std::span<const std::byte> span_of(const Bytes& b) {
  return {b.data(), b.size()};
}

lpc_record HeaderOf(const Bytes& b) {
  lpc_record h;
  std::memcpy(&h, b.data(), sizeof h);
  return h;
}

Bytes WithHeader(Bytes b, const lpc_record& h) {
  std::memcpy(b.data(), &h, sizeof h);
  return b;
}

TEST(RecordFault, NamesTheFieldOfTheUsualMistakes) {
  const char hello[] = "hello";
  std::span<const std::byte> five(reinterpret_cast<const std::byte*>(hello), 5);
  Bytes send = EncodeCommand(LPC_REC_SEND, 3, 0, 0, 0, five);

  // A CONNECT record read and written back as ACCEPT: pid/uid/gid kept.
  Caller client;
  client.sender = {77, 1000, 1000};
  Bytes echoed = EncodeRecord(LPC_REC_ACCEPT, 3, 0, client.sender, 0,
                              span_of(EncodeConnectInfo(client)));
  RecordFault fault;
  auto r = DecodeServerCommand(span_of(echoed), 256, &fault);
  EXPECT_EQ(Error::kInvalid, r.error());
  EXPECT_STREQ("pid", fault.field);
  EXPECT_NE(std::string::npos, fault.why.find("written back")) << fault.why;

  // The header alone: the payload was to follow in a second write.
  Bytes header(send.begin(), send.begin() + sizeof(lpc_record));
  r = DecodeServerCommand(span_of(header), 256, &fault);
  EXPECT_EQ(Error::kInvalid, r.error());
  EXPECT_STREQ("length", fault.field);
  EXPECT_NE(std::string::npos, fault.why.find("one write")) << fault.why;

  // length counting the 48-byte header.
  lpc_record h = HeaderOf(send);
  h.length = static_cast<uint32_t>(send.size());
  r = DecodeServerCommand(span_of(WithHeader(send, h)), 256, &fault);
  EXPECT_EQ(Error::kInvalid, r.error());
  EXPECT_STREQ("length", fault.field);
  EXPECT_NE(std::string::npos, fault.why.find("not the header")) << fault.why;

  // Other fields by name; the errno stays what lpc.7 says.
  h = HeaderOf(send);
  h.msg_id = 9;
  r = DecodeServerCommand(span_of(WithHeader(send, h)), 256, &fault);
  EXPECT_EQ(Error::kInvalid, r.error());
  EXPECT_STREQ("msg_id", fault.field);
  h = HeaderOf(send);
  h.type = LPC_REC_CONNECT;
  r = DecodeServerCommand(span_of(WithHeader(send, h)), 256, &fault);
  EXPECT_STREQ("type", fault.field);
  r = DecodeServerCommand(span_of(send), 4, &fault);
  EXPECT_EQ(Error::kMessageTooLong, r.error());
  EXPECT_STREQ("length", fault.field);
}

TEST(FormatEvent, SaysWhatWhereWhoAndTheErrno) {
  Event e{EventKind::kRecordRejected, "/a/svc",        7,
          {42, 1000, 1000},           Error::kInvalid, "field pid must be 0"};
  EXPECT_EQ(LogLevel::kWarning, LevelOf(e.kind));
  EXPECT_EQ(
      "record rejected on /a/svc conn 7 writer pid 42 uid 1000: field pid "
      "must be 0 (EINVAL)",
      FormatEvent(e));
  Event created{EventKind::kPortCreated, "/svc", 0, {5, 0, 0},
                Error::kInvalid,         {}};
  EXPECT_EQ("port created on /svc server pid 5 uid 0", FormatEvent(created));
  EXPECT_EQ(LogLevel::kDebug, LevelOf(EventKind::kQueueFull));
}

TEST(ParseLevel, KnowsTheFiveNames) {
  LogLevel l;
  ASSERT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(LogLevel::kDebug, l);
  ASSERT_TRUE(ParseLevel("error", &l));
  EXPECT_EQ(LogLevel::kError, l);
  EXPECT_FALSE(ParseLevel("loud", &l));
  EXPECT_FALSE(ParseLevel("", &l));
}

TEST(EventRateLimit, ABurstPerWindowThenACountOfWhatWasLeftOut) {
  EventRateLimit limit(2, 10s);
  auto t0 = EventRateLimit::Clock::time_point{} + 100s;
  EXPECT_TRUE(limit.Admit(EventKind::kQueueFull, t0).write);
  EXPECT_TRUE(limit.Admit(EventKind::kQueueFull, t0 + 1s).write);
  EXPECT_FALSE(limit.Admit(EventKind::kQueueFull, t0 + 2s).write);
  EXPECT_FALSE(limit.Admit(EventKind::kQueueFull, t0 + 3s).write);
  // Another kind has its own allowance.
  EXPECT_TRUE(limit.Admit(EventKind::kPortCreated, t0 + 3s).write);
  auto next = limit.Admit(EventKind::kQueueFull, t0 + 10s);
  EXPECT_TRUE(next.write);
  EXPECT_EQ(2u, next.suppressed_before);
  EXPECT_EQ(0u, limit.Admit(EventKind::kQueueFull, t0 + 11s).suppressed_before);
}

using testing::BrokerTest;
using testing::ParsedRecord;
using testing::Req;

class BrokerEventsTest : public BrokerTest {};

TEST_F(BrokerEventsTest, PortsRecordsAndRefusalsAreReported) {
  HandleId srv = Create("svc");
  ASSERT_FALSE(d_.events.empty());
  EXPECT_EQ(EventKind::kPortCreated, d_.events.back().kind);
  EXPECT_EQ("/svc", d_.events.back().port);
  EXPECT_EQ(1u, d_.events.back().who.pid);

  Req open = Connect();
  ParsedRecord connect = NextRecord(srv);
  ConnId conn(connect.header.conn_id);
  Req bad = Command(srv, LPC_REC_ACCEPT, conn, /*msg=*/5);
  EXPECT_EQ(Error::kInvalid, ErrorOf(bad));
  ASSERT_FALSE(d_.events.empty());
  const Event& rejected = d_.events.back();
  EXPECT_EQ(EventKind::kRecordRejected, rejected.kind);
  EXPECT_EQ(conn.value(), rejected.conn);
  EXPECT_NE(std::string::npos, rejected.detail.find("field msg_id"));

  Req reject = Command(srv, LPC_REC_REJECT, conn);
  ExpectWritten(reject);
  EXPECT_EQ(Error::kConnectionRefused, ErrorOf(open));
  EXPECT_EQ(EventKind::kConnectRefused, d_.events.back().kind);
  EXPECT_EQ(42u, d_.events.back().who.pid) << "the client";

  broker_.Release(srv);
  EXPECT_EQ(EventKind::kPortClosed, d_.events.back().kind);
  EXPECT_EQ("/svc", d_.events.back().port);
}

// Below the log level an event is not made at all, so a hot path (a
// queue found full, at debug level) costs nothing at the default level.
TEST_F(BrokerEventsTest, EventsBelowTheLogLevelAreNotMade) {
  broker_.SetLogLevel(LogLevel::kNotice);
  HandleId srv = Create("svc");
  ASSERT_FALSE(d_.events.empty());
  EXPECT_EQ(EventKind::kPortCreated, d_.events.back().kind) << "notice";
  Req open = Connect();
  ConnId conn(NextRecord(srv).header.conn_id);
  size_t before = d_.events.size();
  ExpectWritten(Command(srv, LPC_REC_REJECT, conn));
  EXPECT_EQ(Error::kConnectionRefused, ErrorOf(open));
  EXPECT_EQ(before, d_.events.size()) << "a refused connect is info";
  EXPECT_EQ(Error::kInvalid, ErrorOf(Command(srv, LPC_REC_ACCEPT, conn, 5)));
  ASSERT_EQ(before + 1, d_.events.size());
  EXPECT_EQ(EventKind::kRecordRejected, d_.events.back().kind) << "warning";
}

}  // namespace
}  // namespace lpc
