#include "stats_text.h"

#include <gtest/gtest.h>

namespace lpc {
namespace {

TEST(FormatStats, OneLinePerPortAndConnection) {
  PortRow port;
  port.path = "/a b";
  port.owner = 1000;
  port.group = 100;
  port.perm = 02750;
  port.auto_accept = true;
  port.pending = 1;
  port.connections = 2;
  port.records = 3;
  port.server_pid = 77;
  port.counters.messages_to_server = 10;
  port.counters.bytes_to_server = 100;
  port.counters.messages_to_client = 4;
  port.counters.bytes_to_client = 40;
  port.counters.refused = 5;
  port.counters.rejected_records = 6;
  ConnectionRow c;
  c.id = 9;
  c.state = "closed";
  c.client_pid = 42;
  c.client_uid = 1001;
  c.client_caps = 0x2400;
  c.to_server_messages = 1;
  c.to_server_bytes = 5;
  c.to_client_messages = 2;
  c.to_client_bytes = 7;
  c.bound = true;
  c.since = 1765000000;
  port.conns.push_back(c);
  EXPECT_EQ(FormatStats({port}),
            "port /a b owner=1000 group=100 mode=02750 auto_accept=1 pending=1 "
            "connections=2 records=3 server_pid=77 messages_to_server=10 "
            "bytes_to_server=100 messages_to_client=4 bytes_to_client=40 "
            "refused=5 rejected_records=6\n"
            "conn 9 port=/a b state=closed client_pid=42 client_uid=1001 "
            "client_caps=0x2400 to_server=1/5 to_client=2/7 bound=1 calls=0 "
            "replies_dropped=0 since=1765000000\n");
  PortRow plain;
  plain.path = "/p";
  plain.perm = 0666;
  EXPECT_EQ(FormatStats({plain}),
            "port /p owner=0 group=0 mode=0666 auto_accept=0 pending=0 "
            "connections=0 records=0 server_pid=0 messages_to_server=0 "
            "bytes_to_server=0 messages_to_client=0 bytes_to_client=0 "
            "refused=0 rejected_records=0\n");
}

}  // namespace
}  // namespace lpc
