#include "monitor_records.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace lpc::shell {
namespace {

// One record as the daemon lays it out, padded to 8.
std::string Record(lpc_monitor_event h, std::string_view path,
                   std::string_view payload) {
  h.path_length = static_cast<uint16_t>(path.size());
  h.captured = static_cast<uint32_t>(payload.size());
  h.size = static_cast<uint32_t>(sizeof h + path.size() + payload.size());
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out += path;
  out += payload;
  out.resize(LPC_MONITOR_SPACE(out.size()));
  return out;
}

lpc_monitor_event Header(uint16_t type, uint32_t flags = 0) {
  lpc_monitor_event h{};
  h.type = type;
  h.flags = flags;
  h.time_ns = 1'700'000'000'123'456'789u;
  h.conn_id = 7;
  h.pid = 42;
  h.uid = 1000;
  h.gid = 100;
  return h;
}

TEST(MonitorRecords, ParsesARead) {
  lpc_monitor_event message = Header(LPC_MON_MESSAGE, LPC_MESSAGE_CALL);
  message.msg_id = 3;
  message.length = 5;
  std::string raw = Record(Header(LPC_MON_CONNECT), "/svc", "") +
                    Record(message, "/svc", "hello");
  raw.resize(raw.size() - 3);  // the last record's padding may be missing
  std::vector<MonitorRecord> records;
  ASSERT_TRUE(ParseMonitorRecords(raw, &records));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].path, "/svc");
  EXPECT_EQ(records[1].payload, "hello");
  EXPECT_EQ(records[1].header.msg_id, 3u);
}

TEST(MonitorRecords, StopsAtAMalformedRecord) {
  lpc_monitor_event bad = Header(LPC_MON_SEND);
  std::string raw =
      Record(Header(LPC_MON_ACCEPT), "/a", "") + Record(bad, "/a", "xy");
  // The second one claims more than there is.
  lpc_monitor_event h;
  size_t second = LPC_MONITOR_SPACE(sizeof h + 2);
  std::memcpy(&h, raw.data() + second, sizeof h);
  h.size += 100;
  std::memcpy(raw.data() + second, &h, sizeof h);
  std::vector<MonitorRecord> records;
  EXPECT_FALSE(ParseMonitorRecords(raw, &records));
  EXPECT_EQ(records.size(), 1u);
}

TEST(MonitorRecords, LinesSayWhatHappened) {
  MonitorRecord connect{
      Header(LPC_MON_CONNECT, LPC_CONNECT_READ | LPC_CONNECT_WRITE), "/svc",
      ""};
  EXPECT_EQ(EventLine(connect, "T", "/lpc", PayloadMode::kNone),
            "T connect /lpc/svc conn=7 pid=42 uid=1000 gid=100 "
            "flags=read,write");
  MonitorRecord reject{Header(LPC_MON_REJECT, LPC_MONITOR_BY_SERVER), "/svc",
                       ""};
  reject.header.status = EBUSY;
  EXPECT_EQ(EventLine(reject, "T", "/lpc", PayloadMode::kNone),
            "T reject /lpc/svc conn=7 pid=42 uid=1000 gid=100 error=EBUSY "
            "by=server");
  MonitorRecord reply{Header(LPC_MON_REPLY), "/svc", "ok\n\"\x01"};
  reply.header.msg_id = 9;
  reply.header.length = 10;
  reply.header.captured = 5;
  EXPECT_EQ(EventLine(reply, "T", "/lpc", PayloadMode::kText),
            "T reply /lpc/svc conn=7 msg=9 len=10 pid=42 uid=1000 gid=100 "
            "payload=\"ok\\n\\\"\\x01\"...");
  EXPECT_EQ(EventLine(reply, "T", "", PayloadMode::kHex),
            "T reply /svc conn=7 msg=9 len=10 pid=42 uid=1000 gid=100 "
            "payload=6f6b0a2201...");
  MonitorRecord lost{Header(LPC_MON_LOST), "", ""};
  lost.header.length = 12;
  EXPECT_EQ(EventLine(lost, "T", "/lpc", PayloadMode::kText),
            "T lost 12 events");
  MonitorRecord odd{
      Header(LPC_MON_DISCONNECT, LPC_DISCONNECT_CLIENT_CLOSED | 0x100),
      "/new\nline", ""};
  EXPECT_EQ(EventLine(odd, "T", "/lpc", PayloadMode::kNone),
            "T disconnect /lpc/new\\nline conn=7 pid=42 uid=1000 gid=100 "
            "flags=client-closed,0x100");
}

TEST(MonitorRecords, JsonHasTheFields) {
  MonitorRecord message{Header(LPC_MON_MESSAGE, LPC_MESSAGE_CALL), "/svc",
                        "hi\xff"};
  message.header.msg_id = 1;
  message.header.length = 3;
  message.header.captured = 3;
  nlohmann::ordered_json j = EventJson(message, "/lpc", PayloadMode::kText);
  EXPECT_EQ(j["event"], "message");
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(j["time_ns"], 1'700'000'000'123'456'789u);
  EXPECT_EQ(j["port"], "/lpc/svc");
  EXPECT_EQ(j["conn"], 7u);
  EXPECT_EQ(j["msg_id"], 1u);
  EXPECT_EQ(j["flags"], nlohmann::json::array({"call"}));
  EXPECT_EQ(j["length"], 3u);
  EXPECT_EQ(j["payload_truncated"], false);
  // Bytes that are not UTF-8 are replaced when printed, never thrown on.
  EXPECT_NO_THROW(
      j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  EXPECT_EQ(EventJson(message, "/lpc", PayloadMode::kHex)["payload_hex"],
            "6869ff");
  EXPECT_FALSE(
      EventJson(message, "/lpc", PayloadMode::kNone).contains("payload"));
  MonitorRecord lost{Header(LPC_MON_LOST), "", ""};
  lost.header.length = 4;
  nlohmann::ordered_json l = EventJson(lost, "/lpc", PayloadMode::kNone);
  EXPECT_EQ(l["event"], "lost");
  EXPECT_EQ(l["count"], 4u);
}

TEST(MonitorRecords, PortFilters) {
  EXPECT_TRUE(PathMatches("/svc", "/svc"));
  EXPECT_TRUE(PathMatches("/dir/svc", "/dir"));
  EXPECT_TRUE(PathMatches("/dir/svc", "/dir/"));
  EXPECT_TRUE(PathMatches("/anything", "/"));
  EXPECT_FALSE(PathMatches("/svc2", "/svc"));
  EXPECT_FALSE(PathMatches("/dir", "/dir/svc"));
}

}  // namespace
}  // namespace lpc::shell
