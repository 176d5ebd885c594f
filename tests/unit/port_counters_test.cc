// The counters of a port and the connected-since time of a connection,
// as .stats shows them (lpc.7 "STATS"): driven through the Broker with a
// recording delegate, read back from the text.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "broker_fixture.h"

namespace lpc::testing {
namespace {

// The value of `key` on the first line of `text` that starts with
// `prefix`, or "<none>".
std::string FieldOf(const std::string& text, std::string_view prefix,
                    std::string_view key) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (line.starts_with(prefix)) {
      std::string needle = " " + std::string(key) + "=";
      size_t at = line.rfind(needle);
      if (at == std::string_view::npos) return "<none>";
      std::string_view value = line.substr(at + needle.size());
      return std::string(value.substr(0, value.find(' ')));
    }
    start = end + 1;
  }
  return "<none>";
}

class PortCountersTest : public BrokerTest {
 protected:
  std::string Port(std::string_view key) {
    return FieldOf(broker_.StatsText(), "port /svc ", key);
  }
};

TEST_F(PortCountersTest, CountMessagesAndBytesEachWay) {
  HandleId server = Create("svc");
  EXPECT_EQ(Port("server_pid"), "1") << "the creator, as user.lpc.server";
  auto [client, conn] = AcceptedClient(server);
  ExpectWritten(Send(client, "hello"));
  ExpectWritten(Send(client, "abc"));
  ExpectWritten(SendRecord(server, conn, "hi!!"));
  EXPECT_EQ(Port("messages_to_server"), "2");
  EXPECT_EQ(Port("bytes_to_server"), "8");
  EXPECT_EQ(Port("messages_to_client"), "1");
  EXPECT_EQ(Port("bytes_to_client"), "4");
  // Cumulative: reading the messages and closing the connection take
  // nothing away, unlike the queue sizes of the conn line.
  EXPECT_EQ(NextRecord(server).payload, "hello");
  EXPECT_EQ(DataOf(Read(client)), "hi!!");
  broker_.Release(client);
  EXPECT_EQ(Port("messages_to_server"), "2");
  EXPECT_EQ(Port("bytes_to_server"), "8");
  EXPECT_EQ(Port("messages_to_client"), "1");
  EXPECT_EQ(Port("bytes_to_client"), "4");
  EXPECT_EQ(Port("refused"), "0");
  EXPECT_EQ(Port("rejected_records"), "0");
}

TEST_F(PortCountersTest, CountRefusedConnectsAndRejectedRecords) {
  HandleId server = Create("svc");
  Req a = Connect();
  Req b = Connect();
  ParsedRecord ca = NextRecord(server);
  ParsedRecord cb = NextRecord(server);
  // A REJECT with an errno it may not carry fails (EINVAL): rejected.
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_REJECT, ConnOf(ca), 0, 0, EINTR)),
            Error::kInvalid);
  EXPECT_EQ(Port("rejected_records"), "1");
  EXPECT_EQ(Port("refused"), "0");
  ExpectWritten(Command(server, LPC_REC_REJECT, ConnOf(ca)));
  ExpectWritten(Command(server, LPC_REC_REJECT, ConnOf(cb), 0, 0, EACCES));
  EXPECT_EQ(ErrorOf(a), Error::kConnectionRefused);
  EXPECT_EQ(ErrorOf(b), Error::kAccessDenied);
  EXPECT_EQ(Port("refused"), "2");
  // Accepting a connection that is gone, and a record too short for its
  // header, are rejected records too.
  EXPECT_EQ(ErrorOf(Command(server, LPC_REC_ACCEPT, ConnOf(ca))),
            Error::kNotConnected);
  Req short_record = Send(server, "abc", true, Sender{1, 1000, 1000});
  EXPECT_EQ(ErrorOf(short_record), Error::kInvalid);
  EXPECT_EQ(Port("rejected_records"), "3");
  EXPECT_EQ(Port("refused"), "2");
  EXPECT_EQ(Port("messages_to_server"), "0");
}

class FullBacklogTest : public BrokerTest {
 protected:
  static Limits OneRequest() {
    Limits limits;
    limits.backlog = 1;
    return limits;
  }
  FullBacklogTest() : BrokerTest(OneRequest()) {}
};

TEST_F(FullBacklogTest, ARequestBeyondTheBacklogIsRefused) {
  HandleId server = Create("svc");
  Req first = Connect();
  Req second = Connect();
  EXPECT_EQ(ErrorOf(second), Error::kWouldBlock);
  EXPECT_EQ(FieldOf(broker_.StatsText(), "port /svc ", "refused"), "1");
  ParsedRecord c = NextRecord(server);
  ExpectWritten(Command(server, LPC_REC_ACCEPT, ConnOf(c)));
  OpenedHandle(first);
}

TEST_F(PortCountersTest, ConnLineSaysWhenTheClientAskedToConnect) {
  HandleId server = Create("svc");
  const int64_t before = Now().sec;
  Req open = Connect();
  const int64_t after = Now().sec;
  ParsedRecord c = NextRecord(server);
  std::string prefix = "conn " + std::to_string(ConnOf(c).value()) + " ";
  std::string pending = FieldOf(broker_.StatsText(), prefix, "since");
  ASSERT_NE(pending, "<none>");
  EXPECT_GE(std::stoll(pending), before);
  EXPECT_LE(std::stoll(pending), after);
  // Accepting it keeps the time of the request.
  ExpectWritten(Command(server, LPC_REC_ACCEPT, ConnOf(c)));
  OpenedHandle(open);
  EXPECT_EQ(FieldOf(broker_.StatsText(), prefix, "since"), pending);
}

}  // namespace
}  // namespace lpc::testing
