// The broker's side of memory windows (lpc.7 "MEMORY WINDOWS"): a call's
// window gets its id and the port owner's uid when the call is made, the
// server reads it in the record, and it ends with the call: its reply, a
// cancel before or after the server read it, the server side's end.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "broker_fixture.h"
#include "fake_client_memory.h"
#include "window_table.h"

namespace lpc::testing {
namespace {

constexpr uint32_t kClientPid = 42;

// Constructed before BrokerTest, so the table outlives the broker.
struct Windows {
  Windows() {
    memory.spaces[kClientPid].bytes.resize(4096);
    memory.spaces[kClientPid].base = 0x7000'0000;
  }
  FakeMemory memory;
  WindowTable table{&memory};
};

class BrokerWindowTest : public Windows, public BrokerTest {
 protected:
  BrokerWindowTest() : BrokerTest(Limits{}, &table) {}

  void SetUp() override {
    server_ = Create("svc");  // owned by uid 1000
    ExpectWritten(Command(server_, LPC_REC_PORT_OPTIONS, ConnId(), 0,
                          LPC_PORT_AUTO_ACCEPT));
    client_ = OpenedHandle(Connect(O_RDWR, kClientPid));
    conn_ = ConnOf(NextRecord(server_));
  }

  // LPC_IOC_CALL of "q" with a window over the client's first `length`
  // bytes.
  Req CallWithWindow(uint64_t length = 64, uint32_t timeout_ms = 0) {
    lpc_window w{};
    w.address = memory.spaces[kClientPid].base;
    w.length = length;
    w.access = LPC_WINDOW_READ | LPC_WINDOW_WRITE;
    lpc_record h{};
    h.type = LPC_REC_MESSAGE;
    h.flags = LPC_MESSAGE_WINDOW;
    h.length = sizeof w + 1;
    Bytes buf(512);
    lpc_transfer t{};
    t.timeout_ms = timeout_ms;
    t.send_length = sizeof h + h.length;
    std::memcpy(buf.data(), &t, sizeof t);
    std::memcpy(buf.data() + sizeof t, &h, sizeof h);
    std::memcpy(buf.data() + sizeof t + sizeof h, &w, sizeof w);
    buf[sizeof t + sizeof h + sizeof w] = std::byte{'q'};
    Req r = d_.Issue(RequestKind::kCall);
    broker_.Call(r.token, client_, SpanOf(buf),
                 Sender{kClientPid, 1001, 1001, 777});
    return r;
  }

  // The next record of the server handle, a call with a window: its id.
  uint64_t ReadWindowId(uint64_t* msg_id = nullptr) {
    ParsedRecord m = NextRecord(server_);
    EXPECT_EQ(m.header.type, uint32_t{LPC_REC_MESSAGE});
    EXPECT_EQ(m.header.flags & (LPC_MESSAGE_CALL | LPC_MESSAGE_WINDOW),
              uint32_t{LPC_MESSAGE_CALL | LPC_MESSAGE_WINDOW});
    lpc_window w{};
    EXPECT_EQ(m.payload.size(), sizeof w + 1);
    if (m.payload.size() < sizeof w) return 0;
    std::memcpy(&w, m.payload.data(), sizeof w);
    EXPECT_EQ(m.payload.substr(sizeof w), "q");
    if (msg_id) *msg_id = m.header.msg_id;
    return w.id;
  }

  bool Lives(uint64_t id) { return table.Stat(id).ok(); }

  HandleId server_;
  HandleId client_;
  ConnId conn_;
};

TEST_F(BrokerWindowTest, TheServerReadsTheIdAndTheWindowEndsWithTheReply) {
  Req call = CallWithWindow(100);
  uint64_t msg = 0;
  uint64_t id = ReadWindowId(&msg);
  ASSERT_NE(0u, id);
  auto file = table.Stat(id);
  ASSERT_TRUE(file);
  EXPECT_EQ(1000u, file->uid) << "the port's owner, not the caller";
  EXPECT_EQ(100u, file->size);
  EXPECT_EQ(0600u, file->perm);
  ExpectWritten(Command(server_, LPC_REC_REPLY, conn_, msg, 0, 0, "done"));
  EXPECT_FALSE(Lives(id));
  EXPECT_TRUE(d_.reply(call)) << "the call was answered";
  EXPECT_EQ(0u, table.size());
}

TEST_F(BrokerWindowTest, ACancelEndsTheWindowReadOrNot) {
  // Not read by the server yet: the message is withdrawn, and its window.
  Req unread = CallWithWindow();
  ASSERT_EQ(1u, table.size());
  ASSERT_TRUE(Cancel(unread));
  EXPECT_EQ(0u, table.size());
  // Read: the server gets CANCEL, and the window is gone before it.
  Req read = CallWithWindow();
  uint64_t id = ReadWindowId();
  ASSERT_TRUE(Lives(id));
  ASSERT_TRUE(Cancel(read));
  EXPECT_FALSE(Lives(id));
  EXPECT_EQ(NextRecord(server_).header.type, uint32_t{LPC_REC_CANCEL});
}

TEST_F(BrokerWindowTest, TheServerSidesEndEndsTheWindows) {
  Req call = CallWithWindow();
  uint64_t id = ReadWindowId();
  ASSERT_TRUE(Lives(id));
  ExpectWritten(Command(server_, LPC_REC_DISCONNECT, conn_));
  EXPECT_EQ(ErrorOf(call), Error::kBrokenPipe);
  EXPECT_FALSE(Lives(id)) << "although the client still holds its handle";
}

TEST_F(BrokerWindowTest, AClientThatIsGoneSendsNothing) {
  memory.spaces[kClientPid].exited = true;
  Req call = CallWithWindow();
  EXPECT_EQ(ErrorOf(call), Error::kBrokenPipe);
  EXPECT_EQ(ErrorOf(Read(server_, LPC_RECORD_MAX, true)), Error::kWouldBlock)
      << "no record for a call that failed";
}

class BrokerWithoutWindowsTest : public BrokerTest {};

TEST_F(BrokerWithoutWindowsTest, ACallWithAWindowIsNotSupported) {
  HandleId server = Create("svc");
  ExpectWritten(
      Command(server, LPC_REC_PORT_OPTIONS, ConnId(), 0, LPC_PORT_AUTO_ACCEPT));
  HandleId client = OpenedHandle(Connect(O_RDWR, kClientPid));
  NextRecord(server);
  lpc_window w{};
  w.address = 0x1000;
  w.length = 1;
  w.access = LPC_WINDOW_READ;
  Bytes record = EncodeCommand(
      LPC_REC_MESSAGE, 0, 0, LPC_MESSAGE_WINDOW, 0,
      SpanOf(BytesOf(std::string(reinterpret_cast<const char*>(&w), sizeof w) +
                     "q")));
  Bytes buf(512);
  lpc_transfer t{};
  t.send_length = static_cast<uint32_t>(record.size());
  std::memcpy(buf.data(), &t, sizeof t);
  std::memcpy(buf.data() + sizeof t, record.data(), record.size());
  Req r = d_.Issue(RequestKind::kCall);
  broker_.Call(r.token, client, SpanOf(buf), Sender{kClientPid, 1001, 1001});
  EXPECT_EQ(ErrorOf(r), Error::kNotSupported);
}

}  // namespace
}  // namespace lpc::testing
