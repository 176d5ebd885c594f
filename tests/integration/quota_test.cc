// Per-user quotas with real users (lpc.7 "QUOTAS"): bob opens connections
// and fills queues until the daemon refuses him; alice, meanwhile, still
// creates, connects and calls, and everything bob sent before the refusal
// is delivered.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "test_users.h"

namespace lpctest {
namespace {

constexpr int kConnectionQuota = 8;
constexpr int kBytesQuota = 4096;
constexpr size_t kMessageSize = LPC_MAX_MESSAGE;
constexpr int kMessagesInQuota = kBytesQuota / kMessageSize;

// Bob's message `seq` on his connection `conn`, padded to kMessageSize so
// that the bytes quota holds exactly kMessagesInQuota of them.
std::string BobMessage(int conn, int seq) {
  std::string m = "bob " + std::to_string(conn) + " " + std::to_string(seq);
  m.resize(kMessageSize, '.');
  return m;
}

// A pipe whose ends a RunAs child may keep.
struct RawPipe {
  int fds[2] = {-1, -1};
  RawPipe() {
    if (pipe2(fds, O_CLOEXEC) != 0) fds[0] = fds[1] = -1;
  }
  ~RawPipe() {
    for (int& fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  void CloseWriteEnd() {
    if (fds[1] >= 0) close(fds[1]);
    fds[1] = -1;
  }
  // Reads one int the child wrote; -1 on EOF or error.
  int ReadInt() {
    int v = -1;
    return read(fds[0], &v, sizeof v) == sizeof v ? v : -1;
  }
};

class QuotaTest : public TwoUsersTest {
 protected:
  std::string DaemonOptions() const override {
    return "quota_connections=" + std::to_string(kConnectionQuota) +
           ",quota_bytes=" + std::to_string(kBytesQuota) + ",max_message=256" +
           ",port_connections=64";
  }
  unsigned WatchdogSeconds() const override { return 60; }

  // Alice, as a child: a port of her own, a folder, a call through her
  // port (CONNECT, MESSAGE, REPLY), and one message to port `shared`.
  // Returns 0 or the errno that failed.
  int AliceWorks(const std::string& shared) {
    std::string mine = P("alice");
    std::string folder = P("alice-dir");
    return WaitExit(RunAs(alice_, [mine, folder, shared] {
      if (mkdir(folder.c_str(), 0755) != 0) return errno;
      Opened srv = Open(mine, O_CREAT | O_EXCL | O_RDWR, 0600);
      if (srv.err) return srv.err;
      if (int e = SetPortOptions(srv.fd.get(), LPC_PORT_AUTO_ACCEPT)) return e;
      Opened client = Open(mine, O_RDWR);
      if (client.err) return client.err;
      if (int e = WriteMsg(client.fd.get(), "ping")) return e;
      Record connect, message;
      if (int e = ReadRecord(srv.fd.get(), &connect)) return e;
      if (int e = ReadRecord(srv.fd.get(), &message)) return e;
      CHILD_CHECK(connect.h.type == LPC_REC_CONNECT);
      CHILD_CHECK(message.h.type == LPC_REC_MESSAGE);
      CHILD_CHECK(message.payload == "ping");
      if (int e = Reply(srv.fd.get(), message.h.conn_id, message.h.msg_id,
                        "pong")) {
        return e;
      }
      std::string reply;
      if (int e = ReadMsg(client.fd.get(), &reply)) return e;
      CHILD_CHECK(reply == "pong");
      // The port bob floods still takes her call.
      Opened other = Open(shared, O_RDWR | O_NONBLOCK);
      if (other.err) return other.err;
      return WriteMsg(other.fd.get(), "alice on svc");
    }));
  }
};

// Bob connects until EDQUOT and writes until ENOBUFS, then blocks in one
// more write; alice is unaffected; the server then reads everything, and
// bob's blocked write goes in once his own bytes were read.
TEST_F(QuotaTest, OneUsersFloodLeavesAnotherUnaffected) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");

  RawPipe report;   // bob -> test: connections, messages, then 1 when done
  RawPipe release;  // test -> bob: EOF lets him exit
  ASSERT_GE(report.fds[0], 0);
  ASSERT_GE(release.fds[0], 0);
  int report_w = report.fds[1], release_r = release.fds[0];
  pid_t bob = RunAs(bob_, {report_w, release_r}, [=] {
    std::vector<UniqueFd> conns;
    int open_err = 0;
    while (open_err == 0 && conns.size() < 4 * kConnectionQuota) {
      Opened o = Open(path, O_RDWR | O_NONBLOCK);
      open_err = o.err;
      if (o.err == 0) conns.push_back(std::move(o.fd));
    }
    CHILD_CHECK_ERR(EDQUOT, open_err);
    int sent = 0;
    for (size_t c = 0; c < conns.size(); ++c) {
      for (int seq = 0;; ++seq) {
        int e = WriteMsg(conns[c].get(), BobMessage(static_cast<int>(c), seq));
        if (e) {
          // His own quota, not the queue: ENOBUFS (lpc.7 "QUOTAS").
          CHILD_CHECK_ERR(ENOBUFS, e);
          break;
        }
        ++sent;
      }
    }
    int n = static_cast<int>(conns.size());
    CHILD_CHECK(write(report_w, &n, sizeof n) == sizeof n);
    CHILD_CHECK(write(report_w, &sent, sizeof sent) == sizeof sent);
    // A blocking write waits for his bytes to drop.
    CHILD_CHECK_ERR(0, SetNonblocking(conns[1].get(), false));
    CHILD_CHECK_ERR(0, WriteMsg(conns[1].get(), BobMessage(1, 0)));
    int done = 1;
    CHILD_CHECK(write(report_w, &done, sizeof done) == sizeof done);
    char c;
    while (read(release_r, &c, 1) > 0) {
    }
    return 0;
  });
  report.CloseWriteEnd();
  EXPECT_EQ(kConnectionQuota, report.ReadInt()) << "connections before EDQUOT";
  EXPECT_EQ(kMessagesInQuota, report.ReadInt()) << "messages before ENOBUFS";
  ASSERT_TRUE(WaitUntilBlockedIn(bob, WriteSyscalls()));
  std::string stats = StatsText();
  EXPECT_NE(stats.find("user " + std::to_string(bob_.uid) + " ports=0 " +
                       "connections=" + std::to_string(kConnectionQuota) +
                       " served=0 pending=0 bytes=" +
                       std::to_string(kBytesQuota) + " "),
            std::string::npos)
      << stats;

  EXPECT_OK(AliceWorks(path));

  // Every message bob sent is delivered, in order per connection, and so
  // are the one that waited and alice's.
  std::map<uint64_t, int> conn_index;  // conn id -> bob's index
  std::map<int, int> next_seq;         // bob's index -> next seq
  int bob_messages = 0;
  bool alice_seen = false;
  while (bob_messages < kMessagesInQuota + 1 || !alice_seen) {
    Record r = Next(srv.get());
    ASSERT_NE(0u, r.h.type) << "a record expected";
    if (r.h.type == LPC_REC_CONNECT && r.h.uid == bob_.uid) {
      int index = static_cast<int>(conn_index.size());
      conn_index[r.h.conn_id] = index;
    } else if (r.h.type == LPC_REC_MESSAGE && r.h.uid == bob_.uid) {
      ASSERT_TRUE(conn_index.count(r.h.conn_id));
      int c = conn_index[r.h.conn_id];
      EXPECT_EQ(BobMessage(c, next_seq[c]++), r.payload);
      ++bob_messages;
    } else if (r.h.type == LPC_REC_MESSAGE && r.h.uid == alice_.uid) {
      EXPECT_EQ("alice on svc", r.payload);
      alice_seen = true;
    }
  }
  EXPECT_EQ(1, report.ReadInt()) << "bob's blocked write went in";
  EXPECT_EQ(kMessagesInQuota, next_seq[0]);
  EXPECT_EQ(1, next_seq[1]);
  release.CloseWriteEnd();
  EXPECT_EQ(0, WaitExit(bob));
}

// The report's case: an auto-accept port whose server never reads, and a
// client that opens and closes as fast as it can. Its connections stay
// until the server reads their records, so the client is refused at its
// quota, the port holds no more than that, and alice still connects.
TEST_F(QuotaTest, OpenCloseCyclesAreBoundedByTheClientsQuota) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t bob = RunAs(bob_, [path] {
    int opened = 0, refused = 0;
    for (int i = 0; i < 2000; ++i) {
      Opened o = Open(path, O_RDWR);
      if (o.err == 0) {
        ++opened;
      } else {
        CHILD_CHECK_ERR(EDQUOT, o.err);
        ++refused;
      }
    }
    CHILD_CHECK(opened == kConnectionQuota);
    return 0;
  });
  EXPECT_EQ(0, WaitExit(bob));
  std::string stats = StatsText();
  EXPECT_NE(stats.find(" connections=" + std::to_string(kConnectionQuota) +
                       " records=" + std::to_string(2 * kConnectionQuota)),
            std::string::npos)
      << stats;
  std::string shared = path;
  EXPECT_EQ(0, WaitExit(RunAs(alice_, [shared] {
              Opened o = Open(shared, O_RDWR);
              return o.err ? o.err : WriteMsg(o.fd.get(), "still here");
            })));
  // Once the server reads the records, the connections are reaped and bob
  // holds nothing.
  while (!NoRecordQueued(srv.get())) Next(srv.get());
  EXPECT_EQ(std::string::npos,
            StatsText().find("user " + std::to_string(bob_.uid) + " "))
      << StatsText();
}

}  // namespace
}  // namespace lpctest
