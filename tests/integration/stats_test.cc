// /.stats: one line per port and per connection (lpc.7 "FILES").
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class StatsTest : public MountTest {};

// This process's effective capabilities as .stats writes a client's
// (client_caps=0x...): its children that connect have the same.
std::string OwnCaps() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      std::ostringstream hex;
      hex << "0x" << std::hex << std::stoull(line.substr(7), nullptr, 16);
      return hex.str();
    }
  }
  return "?";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// `line` without its last field, since=SECONDS (lpc.7 "STATS"), which
// must be a time (CLOCK_REALTIME seconds) that has passed.
std::string WithoutSince(const std::string& line) {
  size_t at = line.rfind(" since=");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no since= in " << line;
    return line;
  }
  long long since = std::stoll(line.substr(at + 7));
  EXPECT_GT(since, 0) << line;
  EXPECT_LE(since, time(nullptr)) << line;
  return line.substr(0, at);
}

// The line starting with `prefix`, or "" (and a test failure).
std::string LineStarting(const std::string& text, const std::string& prefix) {
  for (const std::string& line : Lines(text)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  ADD_FAILURE() << "no line starting with \"" << prefix << "\" in:\n" << text;
  return {};
}

TEST_F(StatsTest, ShowsPortsAndTheirConnections) {
  UniqueFd srv = CreatePort("svc", 0640);
  ASSERT_TRUE(srv.valid());
  ASSERT_EQ(0, mkdir(P("dir").c_str(), 0755));
  UniqueFd inner = CreateAutoAcceptPort("dir/inner", 0600);
  ASSERT_TRUE(inner.valid());

  std::string path = P("svc");
  Gate hold;
  pid_t a = Spawn([&] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "hello"));
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "world!"));
    hold.Wait();
    return 0;
  });
  Record ca = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), ca.h.conn_id));
  ASSERT_OK(Send(srv.get(), ca.h.conn_id, "abc"));
  // Both messages are queued once the server handle has two records.
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find(" to_server=2/11 ") != std::string::npos;
  })) << StatsText();
  pid_t b = Spawn([path] {
    CloseOtherFds({});
    return Open(path, O_RDWR).err;
  });
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find(" pending=1 ") != std::string::npos;
  })) << StatsText();

  std::string text = StatsText();
  std::string ida = std::to_string(ca.h.conn_id);
  const std::string me = std::to_string(getpid());
  EXPECT_EQ(
      "port /svc owner=0 group=0 mode=0640 auto_accept=0 pending=1 "
      "connections=2 records=3 server_pid=" +
          me +
          " messages_to_server=2 bytes_to_server=11 messages_to_client=1 "
          "bytes_to_client=3 refused=0 rejected_records=0",
      LineStarting(text, "port /svc "));
  EXPECT_EQ(
      "port /dir/inner owner=0 group=0 mode=0600 auto_accept=1 pending=0 "
      "connections=0 records=0 server_pid=" +
          me +
          " messages_to_server=0 bytes_to_server=0 messages_to_client=0 "
          "bytes_to_client=0 refused=0 rejected_records=0",
      LineStarting(text, "port /dir/inner "));
  EXPECT_EQ(
      "conn " + ida + " port=/svc state=open client_pid=" + std::to_string(a) +
          " client_uid=0 client_caps=" + OwnCaps() +
          " to_server=2/11 to_client=1/3 bound=0 calls=0 replies_dropped=0",
      WithoutSince(LineStarting(text, "conn " + ida + " ")));
  uint64_t idb = 0;
  for (const std::string& line : Lines(text)) {
    if (line.find(" state=pending ") == std::string::npos) continue;
    idb = std::stoull(line.substr(5));
    EXPECT_TRUE(std::regex_match(
        line, std::regex("conn [0-9]+ port=/svc state=pending client_pid=" +
                         std::to_string(b) +
                         " client_uid=0 client_caps=" + OwnCaps() +
                         " to_server=0/0 to_client=0/0 bound=0 calls=0 "
                         "replies_dropped=0 since=[0-9]+")))
        << line;
  }
  EXPECT_NE(0u, idb) << "no pending connection in\n" << text;
  // Every line has one of the documented shapes (lpc.7 "STATS"): port,
  // conn, and the user lines of the quotas.
  std::regex port_re(
      "port (/[^ ]*|\\(unlinked\\)) owner=[0-9]+ group=[0-9]+ mode=0[0-7]{3,4} "
      "auto_accept=[01] pending=[0-9]+ connections=[0-9]+ records=[0-9]+ "
      "server_pid=[0-9]+ messages_to_server=[0-9]+ bytes_to_server=[0-9]+ "
      "messages_to_client=[0-9]+ bytes_to_client=[0-9]+ refused=[0-9]+ "
      "rejected_records=[0-9]+");
  std::regex conn_re(
      "conn [0-9]+ port=(/[^ ]*|\\(unlinked\\)) state=(pending|open|closed) "
      "client_pid=[0-9]+ client_uid=[0-9]+ client_caps=0x[0-9a-f]+ "
      "to_server=[0-9]+/[0-9]+ "
      "to_client=[0-9]+/[0-9]+ bound=[01] calls=[0-9]+ replies_dropped=[0-9]+ "
      "since=[0-9]+");
  std::regex user_re(
      "user [0-9]+ ports=[0-9]+ connections=[0-9]+ served=[0-9]+ "
      "pending=[0-9]+ bytes=[0-9]+ folders=[0-9]+");
  for (const std::string& line : Lines(text)) {
    EXPECT_TRUE(std::regex_match(line, port_re) ||
                std::regex_match(line, conn_re) ||
                std::regex_match(line, user_re))
        << "unexpected line: " << line;
  }

  // Binding moves the messages; they still count for the connection.
  Opened conn = Open(P(std::string(LPC_CONN_DIR) + "/" + ida), O_RDWR);
  ASSERT_OK(conn.err);
  text = StatsText();
  EXPECT_EQ(
      "conn " + ida + " port=/svc state=open client_pid=" + std::to_string(a) +
          " client_uid=0 client_caps=" + OwnCaps() +
          " to_server=2/11 to_client=1/3 bound=1 calls=0 replies_dropped=0",
      WithoutSince(LineStarting(text, "conn " + ida + " ")));

  // An unlinked port is shown as such.
  ASSERT_EQ(0, unlink(P("svc").c_str()));
  text = StatsText();
  EXPECT_NE(std::string::npos,
            LineStarting(text, "port (unlinked) ").find(" connections=2 "))
      << text;
  EXPECT_NE(std::string::npos,
            LineStarting(text, "conn " + ida + " ").find(" port=(unlinked) "))
      << text;

  ASSERT_OK(Reject(srv.get(), idb));
  EXPECT_ERR(ECONNREFUSED, WaitExit(b));
  // The client closed: the connection shows as closed until it is gone.
  hold.Open();
  EXPECT_EQ(0, WaitExit(a));
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find("state=closed") != std::string::npos;
  })) << StatsText();
}

TEST_F(StatsTest, IsASnapshotTakenAtOpen) {
  UniqueFd first = CreatePort("first");
  ASSERT_TRUE(first.valid());
  Opened stats = Open(P(LPC_STATS_FILE), O_RDONLY);
  ASSERT_OK(stats.err);
  UniqueFd second = CreatePort("second");
  ASSERT_TRUE(second.valid());
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(stats.fd.get(), buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(std::string::npos, text.find("port /first ")) << text;
  EXPECT_EQ(std::string::npos, text.find("port /second ")) << text;
  EXPECT_NE(std::string::npos, StatsText().find("port /second "));
  struct stat st;
  ASSERT_EQ(0, stat(P(LPC_STATS_FILE).c_str(), &st));
  EXPECT_EQ(0444u, st.st_mode & 07777);
}

TEST_F(StatsTest, PortsInCreationOrderAndClosedPortsVanish) {
  UniqueFd b = CreatePort("bbb");
  UniqueFd a = CreatePort("aaa", 01666);
  UniqueFd c = CreateAutoAcceptPort("ccc");
  ASSERT_TRUE(a.valid() && b.valid() && c.valid());
  Opened client = Open(P("ccc"), O_RDWR);
  ASSERT_OK(client.err);
  std::vector<std::string> ports;
  for (const std::string& line : Lines(StatsText())) {
    if (line.rfind("port ", 0) == 0) ports.push_back(line.substr(5, 4));
  }
  EXPECT_EQ((std::vector<std::string>{"/bbb", "/aaa", "/ccc"}), ports);
  EXPECT_NE(std::string::npos,
            LineStarting(StatsText(), "port /aaa ").find(" mode=01666 "))
      << "special bits give five digits";
  c.reset();
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find("/ccc") == std::string::npos;
  })) << "the port and its connections are no longer shown:\n"
      << StatsText();
}

}  // namespace
}  // namespace lpctest
