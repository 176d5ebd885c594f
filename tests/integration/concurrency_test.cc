// Many processes at once: readers sharing one server handle, and 200
// clients served by one server process (lpc.7 "SERVER HANDLE").
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class ConcurrencyTest : public MountTest {};

// What a reader process saw, sent to the test over a pipe (one write of a
// few bytes is atomic).
struct Seen {
  uint32_t reader;
  uint32_t type;
  uint64_t conn;
  uint64_t msg_id;
};

TEST_F(ConcurrencyTest, ReadersSharingAServerHandleGetDisjointRecords) {
  constexpr int kReaders = 4;
  constexpr int kClients = 4;
  constexpr int kMessages = 50;
  constexpr int kRecords = kClients * (kMessages + 2);  // + CONNECT, DISCONNECT
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  int report[2];
  ASSERT_EQ(0, pipe(report));
  UniqueFd report_r(report[0]), report_w(report[1]);

  int sfd = srv.get();
  int wfd = report_w.get();
  std::vector<pid_t> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.push_back(Spawn([sfd, wfd, r] {
      for (;;) {
        Record rec;
        CHILD_CHECK_ERR(0, ReadRecord(sfd, &rec));
        Seen s{static_cast<uint32_t>(r), rec.h.type, rec.h.conn_id,
               rec.h.msg_id};
        CHILD_CHECK(write(wfd, &s, sizeof s) == sizeof s);
      }
      return 0;
    }));
  }
  std::string path = P("svc");
  std::vector<pid_t> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Spawn([path] {
      Opened o = Open(path, O_WRONLY);
      CHILD_CHECK_ERR(0, o.err);
      for (int m = 0; m < kMessages; ++m) {
        CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "msg"));
      }
      return 0;
    }));
  }
  for (pid_t c : clients) EXPECT_EQ(0, WaitExit(c));

  std::set<std::tuple<uint32_t, uint64_t, uint64_t>> seen;
  std::map<uint64_t, std::set<uint64_t>> messages;
  std::map<uint32_t, int> per_reader;
  for (int i = 0; i < kRecords; ++i) {
    Seen s;
    ssize_t n;
    do {
      n = read(report_r.get(), &s, sizeof s);
    } while (n < 0 && errno == EINTR && !WatchdogFired());
    ASSERT_EQ(static_cast<ssize_t>(sizeof s), n) << "after " << i << " records";
    EXPECT_TRUE(seen.insert({s.type, s.conn, s.msg_id}).second)
        << "record delivered twice: type " << s.type << " conn " << s.conn
        << " msg " << s.msg_id;
    if (s.type == LPC_REC_MESSAGE) messages[s.conn].insert(s.msg_id);
    per_reader[s.reader]++;
  }
  // The union is everything: per client one CONNECT, all messages with ids
  // 1..kMessages, one DISCONNECT.
  EXPECT_EQ(static_cast<size_t>(kClients), messages.size());
  for (auto& [conn, ids] : messages) {
    EXPECT_EQ(static_cast<size_t>(kMessages), ids.size()) << "conn " << conn;
    EXPECT_EQ(1u, *ids.begin());
    EXPECT_EQ(static_cast<uint64_t>(kMessages), *ids.rbegin());
    EXPECT_TRUE(seen.count({LPC_REC_CONNECT, conn, 0})) << conn;
    EXPECT_TRUE(seen.count({LPC_REC_DISCONNECT, conn, 0})) << conn;
  }
  for (auto& [r, n] : per_reader) {
    std::printf("reader %u got %d records\n", r, n);
  }
  // Nothing left over, nobody got anything extra.
  for (pid_t r : readers) kill(r, SIGKILL);
  for (pid_t r : readers) EXPECT_EQ(128 + SIGKILL, WaitExit(r));
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

// Any thread of the process in D state (uninterruptible), for example
// waiting for a kernel lock another thread holds.
bool AnyThreadInD(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (ProcState(std::atoi(e->d_name)) == 'D') found = true;
  }
  closedir(d);
  return found;
}

TEST_F(ConcurrencyTest, ThreadWritesWhileAnotherThreadReadsTheSameFd) {
  // lpc.h: port files are streams (FOPEN_STREAM), so no file-position lock
  // makes a write() wait for a read() blocked on the same fd.
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CloseOtherFds({});
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    int fd = o.fd.get();
    std::atomic<pid_t> reader_tid{0};
    std::string got;
    int read_err = -1;
    std::thread reader([&] {
      reader_tid = gettid();
      read_err = ReadMsg(fd, &got);
    });
    CHILD_CHECK(WaitFor([&] { return reader_tid != 0; }));
    CHILD_CHECK(WaitUntilBlockedIn(reader_tid, ReadSyscalls()));
    CHILD_CHECK_ERR(0, WriteMsg(fd, "question"));
    reader.join();
    CHILD_CHECK_ERR(0, read_err);
    CHILD_CHECK(got == "answer");
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  bool stuck = false;
  ASSERT_TRUE(WaitFor([&] {
    if (PollOnce(srv.get(), POLLIN, 0) > 0) return true;
    stuck = AnyThreadInD(child);
    return stuck;
  }));
  if (stuck) {
    ADD_FAILURE() << "DAEMON BUG: the write() waits for the read() blocked "
                     "on the same fd in another thread (file-position lock: "
                     "port files are not opened as streams)";
    return;  // TearDown kills the child
  }
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("question", m.payload);
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "answer"));
  EXPECT_EQ(0, WaitExit(child));
}

// Waits until `pid` has exited (zombie) or has a thread in D state.
// Returns true if it got stuck.
bool Stuck(pid_t pid) {
  bool stuck = false;
  WaitFor([&] {
    char state = ProcState(pid);
    if (state == 'Z' || state == 0) return true;
    stuck = AnyThreadInD(pid);
    return stuck;
  });
  return stuck;
}

TEST_F(ConcurrencyTest, ProcessWritesWhileAnotherProcessReadsTheSameFile) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  pid_t reader = Spawn([fd] {
    std::string got;
    CHILD_CHECK_ERR(0, ReadMsg(fd, &got));
    return got == "answer" ? 0 : 1;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  pid_t writer = Spawn([fd] { return WriteMsg(fd, "question"); });
  if (Stuck(writer)) {
    ADD_FAILURE() << "DAEMON BUG: a write() waits for a read() blocked on "
                     "the same open file description in another process: "
                  << DescribeProc(writer);
    return;
  }
  EXPECT_OK(WaitExit(writer));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "answer"));
  EXPECT_EQ(0, WaitExit(reader));
}

TEST_F(ConcurrencyTest, RecordsAreWrittenWhileAnotherProcessReadsTheHandle) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  int sfd = srv.get();
  pid_t reader = Spawn([sfd] {
    Record r;
    CHILD_CHECK_ERR(0, ReadRecord(sfd, &r));
    return r.h.type == LPC_REC_CONNECT ? 0 : 1;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  pid_t writer =
      Spawn([sfd] { return SetPortOptions(sfd, LPC_PORT_AUTO_ACCEPT); });
  if (Stuck(writer)) {
    ADD_FAILURE() << "DAEMON BUG: a record write waits for a read() blocked "
                     "on the server handle in another process: "
                  << DescribeProc(writer);
    return;
  }
  EXPECT_OK(WaitExit(writer));
  Opened client = Open(P("svc"), O_RDWR);  // auto-accepted
  ASSERT_OK(client.err);
  EXPECT_EQ(0, WaitExit(reader));
}

class ManyClientsTest : public MountTest {
 protected:
  // Every client may be waiting for its accept at once.
  std::string DaemonOptions() const override { return "backlog=256"; }
  unsigned WatchdogSeconds() const override { return 40; }

  // Serves `clients` connections on `srv` until each has disconnected:
  // accepts (unless the port auto-accepts) and replies to every message.
  void Serve(int srv, int clients, bool auto_accept) {
    int ended = 0;
    while (ended < clients) {
      Record r = Next(srv);
      switch (r.h.type) {
        case LPC_REC_CONNECT:
          if (auto_accept) {
            ASSERT_TRUE(r.h.flags & LPC_CONNECT_ACCEPTED);
          } else {
            ASSERT_OK(Accept(srv, r.h.conn_id));
          }
          break;
        case LPC_REC_MESSAGE:
          ASSERT_OK(Reply(srv, r.h.conn_id, r.h.msg_id, "re: " + r.payload));
          break;
        case LPC_REC_DISCONNECT:
          EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, r.h.flags);
          ++ended;
          break;
        default:
          FAIL() << "unexpected record " << Describe(r);
      }
    }
  }

  void RunClients(int srv, bool auto_accept) {
    constexpr int kClients = 200;
    std::string path = P("svc");
    std::vector<pid_t> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(Spawn([path, i] {
        Opened o = Open(path, O_RDWR);
        CHILD_CHECK_ERR(0, o.err);
        std::string msg = "client " + std::to_string(i);
        CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), msg));
        std::string got;
        CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
        CHILD_CHECK(got == "re: " + msg);
        return 0;
      }));
      ASSERT_GT(clients.back(), 0);
    }
    ASSERT_NO_FATAL_FAILURE(Serve(srv, kClients, auto_accept));
    int ok = 0;
    for (pid_t c : clients) ok += WaitExit(c) == 0;
    EXPECT_EQ(kClients, ok) << "clients that got the right reply";
    EXPECT_TRUE(NoRecordQueued(srv));
  }
};

TEST_F(ManyClientsTest, TwoHundredClientsAcceptedOneByOne) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  RunClients(srv.get(), false);
}

TEST_F(ManyClientsTest, TwoHundredClientsAutoAccepted) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  RunClients(srv.get(), true);
}

}  // namespace
}  // namespace lpctest
