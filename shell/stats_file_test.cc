#include "stats_file.h"

#include <gtest/gtest.h>

namespace lpc::shell {
namespace {

constexpr const char* kSample =
    "port /echo owner=0 group=0 mode=0666 auto_accept=1 pending=0 "
    "connections=2 records=1\n"
    "port /dir/with space owner=1000 group=100 mode=0600 auto_accept=0 "
    "pending=3 connections=0 records=0\n"
    "port (unlinked) owner=5 group=5 mode=0644 auto_accept=1 pending=0 "
    "connections=1 records=0\n"
    "conn 7 port=/echo state=open client_pid=123 client_uid=0 "
    "to_server=1/6 to_client=0/0 bound=0\n"
    "conn 12 port=/dir/with space state=pending client_pid=9 client_uid=1000 "
    "to_server=0/0 to_client=0/0 bound=0\n"
    "something new=1\n";

TEST(ParseStats, ReadsPortLines) {
  StatsSnapshot stats = ParseStats(kSample);
  ASSERT_EQ(stats.ports.size(), 3u);
  EXPECT_EQ(stats.ports[0].path, "/echo");
  EXPECT_EQ(stats.ports[0].fields.at("owner"), "0");
  EXPECT_EQ(stats.ports[0].fields.at("connections"), "2");
  EXPECT_EQ(stats.ports[0].text,
            "port /echo owner=0 group=0 mode=0666 auto_accept=1 pending=0 "
            "connections=2 records=1");
  EXPECT_EQ(stats.ports[1].path, "/dir/with space");
  EXPECT_EQ(stats.ports[1].fields.at("owner"), "1000");
  EXPECT_EQ(stats.ports[1].fields.at("pending"), "3");
  EXPECT_EQ(stats.ports[2].path, "(unlinked)");
}

TEST(ParseStats, ReadsConnLines) {
  StatsSnapshot stats = ParseStats(kSample);
  ASSERT_EQ(stats.conns.size(), 2u);
  EXPECT_EQ(stats.conns[0].id, 7u);
  EXPECT_EQ(stats.conns[0].port, "/echo");
  EXPECT_EQ(stats.conns[0].fields.at("state"), "open");
  EXPECT_EQ(stats.conns[0].fields.at("to_server"), "1/6");
  EXPECT_EQ(stats.conns[1].id, 12u);
  EXPECT_EQ(stats.conns[1].port, "/dir/with space");
  EXPECT_EQ(stats.conns[1].fields.at("client_uid"), "1000");
}

TEST(ParseStats, SkipsWhatItDoesNotKnow) {
  StatsSnapshot stats = ParseStats(
      "port /x\n"                    // no fields
      "port /y owner=1 junk\n"       // a word without '='
      "conn x port=/a state=open\n"  // id not a number
      "conn 3 state=open\n"          // no port=
      "portable /z owner=1\n"
      "\n");
  EXPECT_TRUE(stats.ports.empty());
  EXPECT_TRUE(stats.conns.empty());
  EXPECT_TRUE(ParseStats("").ports.empty());
}

TEST(ParseStats, LastLineNeedsNoNewline) {
  StatsSnapshot stats = ParseStats("port /a owner=1 connections=0");
  ASSERT_EQ(stats.ports.size(), 1u);
  EXPECT_EQ(stats.ports[0].path, "/a");
}

TEST(ParseStats, ReadsUserLines) {
  StatsSnapshot stats =
      ParseStats(std::string(kSample) +
                 "user 1000 ports=1 connections=2 served=0 pending=0 bytes=12 "
                 "folders=3\n"
                 "user x ports=1\n");
  ASSERT_EQ(stats.users.size(), 1u) << "a user line that does not parse";
  EXPECT_EQ(stats.users[0].uid, 1000u);
  EXPECT_EQ(stats.users[0].fields.at("connections"), "2");
  EXPECT_EQ(stats.users[0].fields.at("bytes"), "12");
  EXPECT_EQ(stats.users[0].text,
            "user 1000 ports=1 connections=2 served=0 pending=0 bytes=12 "
            "folders=3");
  EXPECT_EQ(stats.ports.size(), 3u);
  EXPECT_EQ(stats.conns.size(), 2u);
}

}  // namespace
}  // namespace lpc::shell
