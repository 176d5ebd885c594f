// A call interrupted while it waits must leave nothing behind (lpc.7
// "MESSAGES": signals; "Reading records"; "BACK-PRESSURE"). The daemon
// names each waiting call by its FUSE request, and libfuse hands the memory
// of finished requests to the next ones it reads: when a call is
// interrupted, it frees that call's request and then the INTERRUPT request,
// and one of the next requests usually gets the same address. So anything
// an interrupted call left queued would be taken for a later call: another
// reader of the same port, another connection, another user. Each test
// interrupts a blocked call, makes the next two requests the daemon sees
// calls that wait somewhere else (with no other call on the mount in
// between: children wait on pipes, the test watches /proc), and then
// checks that every call gets only what lpc.7 allows it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "test_users.h"

namespace lpctest {
namespace {

// A pipe between the test and its children. Unlike Gate, its fds are
// known, so a child running as another user can keep them across
// CloseOtherFds. Each Put is one write of less than PIPE_BUF bytes, so
// values from several children never interleave.
class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == 0) {
      r_.reset(fds[0]);
      w_.reset(fds[1]);
    }
  }
  std::vector<int> fds() const { return {r_.get(), w_.get()}; }
  template <typename T>
  bool Put(const T& v) const {
    return write(w_.get(), &v, sizeof v) == static_cast<ssize_t>(sizeof v);
  }
  // False if the pipe broke or the watchdog fired.
  template <typename T>
  bool Get(T* v) const {
    ssize_t n;
    do {
      n = read(r_.get(), v, sizeof *v);
    } while (n < 0 && errno == EINTR && !WatchdogFired());
    return n == static_cast<ssize_t>(sizeof *v);
  }
  void Open() const { Put('!'); }
  bool Wait() const {
    char c;
    return Get(&c);
  }

 private:
  UniqueFd r_, w_;
};

// What one read() in a child returned, sent to the test through a Pipe.
struct ReadReport {
  int err = 0;
  int len = 0;  // bytes read (the first kMaxShown of them are in data)
  static constexpr int kMaxShown = 1024;
  char data[kMaxShown] = {};
  std::string bytes() const {
    return std::string(data, std::min(len, kMaxShown));
  }
};

// Inside a child: one read() of `size` bytes from fd, reported to `out`.
int ReadAndReport(int fd, const Pipe& out, size_t size = 4096) {
  ReadReport rep;
  std::string got;
  rep.err = ReadMsg(fd, &got, size);
  rep.len = static_cast<int>(got.size());
  std::memcpy(rep.data, got.data(), std::min(got.size(), sizeof rep.data));
  CHILD_CHECK(out.Put(rep));
  return 0;
}

// The record in a report of a server handle read (type 0 if it is none).
Record AsRecord(const ReadReport& rep) {
  Record r;
  std::string b = rep.bytes();
  if (rep.err || b.size() < sizeof(lpc_record)) return r;
  std::memcpy(&r.h, b.data(), sizeof r.h);
  r.payload = b.substr(sizeof r.h);
  return r;
}

// Readable test output for whatever a read returned.
std::string Shown(const ReadReport& rep) {
  if (rep.err) return ErrName(rep.err);
  std::string b = rep.bytes();
  bool text = std::all_of(b.begin(), b.end(), [](char c) {
    return std::isprint(static_cast<unsigned char>(c));
  });
  std::ostringstream s;
  s << rep.len << " bytes";
  if (text) {
    s << " \"" << b << "\"";
  } else if (b.size() >= sizeof(lpc_record)) {
    s << ", a record: " << Describe(AsRecord(rep));
  } else {
    s << ":";
    for (unsigned char c : b) {
      char hex[4];
      std::snprintf(hex, sizeof hex, " %02x", c);
      s << hex;
    }
  }
  return s.str();
}

// Waits until `pid` is blocked in one of `syscalls` with its request in
// the daemon. A process asleep in read() may still have its request queued
// in the kernel, and a signal then takes it back before the daemon ever
// sees it. The daemon reads requests in order, so once it has answered a
// poll of `mount_fd` made afterwards, it has the blocked call's request.
bool BlockedInDaemon(pid_t pid, const std::vector<long>& syscalls,
                     int mount_fd) {
  return WaitUntilBlockedIn(pid, syscalls) &&
         PollOnce(mount_fd, POLLIN, 0) >= 0;
}

// Collects one report per entry of `want`: each read must have returned
// one of the messages in `want`, and together all of them.
void ExpectMessages(const Pipe& reports, std::multiset<std::string> want,
                    const std::string& who) {
  std::multiset<std::string> got;
  for (size_t i = 0; i < want.size(); ++i) {
    ReadReport rep;
    ASSERT_TRUE(reports.Get(&rep));
    EXPECT_TRUE(want.count(rep.bytes()))
        << who << " read " << Shown(rep) << ", which was not sent to it";
    got.insert(rep.bytes());
  }
  EXPECT_EQ(want, got) << who;
}

// The server `srv` sends `msgs` on connection `conn`, where the `readers`
// wait, one per message, reporting to `reports`. Each read must get one of
// the messages, together all of them (the readers report in whatever order
// they run), and each reader exit 0. False if a send failed: the test has
// failed and should stop, as the readers still wait.
bool SendToWaitingReads(int srv, uint64_t conn,
                        const std::vector<std::string>& msgs,
                        const Pipe& reports, const std::vector<pid_t>& readers,
                        const std::string& who) {
  for (const std::string& m : msgs) {
    int err = Send(srv, conn, m);
    if (err) {
      ADD_FAILURE() << "sending \"" << m << "\" to " << who << ": "
                    << ErrName(err);
      return false;
    }
  }
  ExpectMessages(reports, {msgs.begin(), msgs.end()}, who);
  for (pid_t r : readers) EXPECT_EQ(0, WaitExit(r));
  return true;
}

// Reads, without waiting, the message already queued for the client `fd`
// (which stays non-blocking). Fails the test and returns "" if there is
// none: a read that waited would hang the test instead.
std::string ReadQueued(int fd) {
  std::string got;
  int err = SetNonblocking(fd, true);
  if (err == 0) err = ReadMsg(fd, &got);
  EXPECT_OK(err) << "reading what is queued for the client";
  return got;
}

// ------------------------------------------------------------ one user

class StaleRequestTest : public MountTest {};

// Reported: the interrupted server read stayed queued on the port; the
// next request the daemon parked took its place there, so a client read
// returned the 72-byte CONNECT record of the next client.
TEST_F(StaleRequestTest, InterruptedServerReadDoesNotServeClientReads) {
  auto [srv, client, c1] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int sfd = srv.get();
  pid_t server_reader = Spawn([sfd] {
    CatchWithoutRestart(SIGUSR1);
    Record r;
    CHILD_CHECK_ERR(EINTR, ReadRecord(sfd, &r));
    return 0;
  });
  ASSERT_TRUE(BlockedInDaemon(server_reader, ReadSyscalls(), sfd))
      << DescribeProc(server_reader);
  kill(server_reader, SIGUSR1);
  ASSERT_EQ(0, WaitExit(server_reader));

  // Two reads on client 1 (one fd, inherited): the next two requests.
  Pipe reports;
  int cfd = client.get();
  pid_t a = Spawn([&] { return ReadAndReport(cfd, reports); });
  ASSERT_TRUE(WaitUntilBlockedIn(a, ReadSyscalls())) << DescribeProc(a);
  pid_t b = Spawn([&] { return ReadAndReport(cfd, reports); });
  ASSERT_TRUE(WaitUntilBlockedIn(b, ReadSyscalls())) << DescribeProc(b);

  // Auto-accepted: its CONNECT is queued on the server handle by the time
  // the open returns, and must wait there for the server.
  Opened second = Open(P("svc"), O_RDWR);
  ASSERT_OK(second.err);
  ASSERT_TRUE(SendToWaitingReads(sfd, c1.h.conn_id, {"one", "two"}, reports,
                                 {a, b}, "client 1"));

  ASSERT_TRUE(PollOnce(sfd, POLLIN, 0) & POLLIN)
      << "the second client's CONNECT record is not on the server handle";
  Record c2 = Expect(sfd, LPC_REC_CONNECT);
  EXPECT_NE(c1.h.conn_id, c2.h.conn_id);
  EXPECT_TRUE(NoRecordQueued(sfd));
  EXPECT_EQ(0, PollOnce(cfd, POLLIN, 0)) << "nothing else for client 1";
}

// Queues of one message, so a second write waits for the server to read.
class StaleWriterTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "queue_messages=1"; }
};

// Reported: a writer waiting behind another waiting writer is interrupted;
// the read that reused its request was later served as that writer: the
// server got an empty MESSAGE nobody wrote and the read returned what the
// daemon meant as "4096 bytes written".
TEST_F(StaleWriterTest, InterruptedWriterBehindAnotherIsNotServedLater) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int cfd = client.get();
  // Each writer writes once first, so that the daemon has already looked
  // up its process (lpc.7 "CREDENTIALS") when the write that waits comes:
  // the look-up frees buffers next to that write's request, and the
  // allocator would merge the request's memory into them instead of
  // handing it to the next request, hiding the defect.
  Pipe go_first, go_second;
  pid_t first = Spawn([&] {
    CHILD_CHECK_ERR(0, WriteMsg(cfd, "a0"));
    CHILD_CHECK(go_first.Wait());
    return WriteMsg(cfd, "m2");
  });
  EXPECT_EQ("a0", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  pid_t second = Spawn([&] {
    CatchWithoutRestart(SIGUSR1);
    CHILD_CHECK_ERR(0, WriteMsg(cfd, "b0"));
    CHILD_CHECK(go_second.Wait());
    CHILD_CHECK_ERR(EINTR, WriteMsg(cfd, "m3"));
    return 0;
  });
  EXPECT_EQ("b0", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  ASSERT_OK(WriteMsg(cfd, "m1"));  // the queue is full
  go_first.Open();
  ASSERT_TRUE(WaitUntilBlockedIn(first, WriteSyscalls()))
      << DescribeProc(first);
  go_second.Open();
  ASSERT_TRUE(BlockedInDaemon(second, WriteSyscalls(), cfd))
      << DescribeProc(second);
  kill(second, SIGUSR1);
  ASSERT_EQ(0, WaitExit(second));

  // The next requests: reads on the same connection, which must wait for
  // the server to send.
  Pipe reports;
  std::vector<pid_t> readers;
  for (int i = 0; i < 2; ++i) {
    readers.push_back(Spawn([&] { return ReadAndReport(cfd, reports); }));
    ASSERT_TRUE(WaitUntilBlockedIn(readers.back(), ReadSyscalls()))
        << DescribeProc(readers.back());
  }

  EXPECT_EQ("m1", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_EQ(0, WaitExit(first)) << "m2 fits once m1 is read";
  EXPECT_EQ("m2", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  if (!NoRecordQueued(srv.get())) {
    ADD_FAILURE() << "the interrupted m3 was not sent, yet the server reads "
                  << Describe(Next(srv.get()));
  }
  ASSERT_TRUE(SendToWaitingReads(srv.get(), c.h.conn_id, {"reply 1", "reply 2"},
                                 reports, readers, "the client"));

  // No message id went to a message nobody wrote.
  ASSERT_OK(WriteMsg(cfd, "m4"));
  Record m4 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("m4", m4.payload);
  EXPECT_EQ(5u, m4.h.msg_id) << "a0, b0, m1, m2, m4";
}

// ------------------------------------------------------------ users

// The fds a child keeps: `fds` and those of `pipes`.
std::vector<int> Keep(std::initializer_list<int> fds,
                      std::initializer_list<const Pipe*> pipes = {}) {
  std::vector<int> keep(fds);
  for (const Pipe* p : pipes) {
    for (int fd : p->fds()) keep.push_back(fd);
  }
  return keep;
}

// Writes each of `msgs` (one write() each) on `fd` from a child running as
// `u`, and reaps it. Returns the child's pid, which the MESSAGE records
// must show.
pid_t WriteAs(User u, int fd, std::vector<std::string> msgs) {
  pid_t writer = RunAs(u, {fd}, [fd, msgs] {
    for (const std::string& m : msgs) CHILD_CHECK_ERR(0, WriteMsg(fd, m));
    return 0;
  });
  EXPECT_EQ(0, WaitExit(writer)) << "writing as uid " << u.uid;
  return writer;
}

// Makes `n` reads on `fd` as `u` wait, then interrupts them all at once
// with a signal to each reader. True once every read returned EINTR.
bool InterruptReadsAs(User u, int fd, int n) {
  Pipe interrupted;
  std::vector<pid_t> readers;
  for (int i = 0; i < n; ++i) {
    readers.push_back(RunAs(u, Keep({fd}, {&interrupted}), [&] {
      CatchWithoutRestart(SIGUSR1);
      char buf[LPC_RECORD_MAX];
      CHILD_CHECK(read(fd, buf, sizeof buf) < 0);
      CHILD_CHECK_ERR(EINTR, errno);
      interrupted.Open();
      return 0;
    }));
    if (!BlockedInDaemon(readers.back(), ReadSyscalls(), fd)) {
      ADD_FAILURE() << DescribeProc(readers.back());
      return false;
    }
  }
  for (pid_t r : readers) kill(r, SIGUSR1);
  for (pid_t r : readers) {
    if (!interrupted.Wait() || WaitExit(r) != 0) {
      ADD_FAILURE() << "a read of uid " << u.uid << " was not interrupted";
      return false;
    }
  }
  return true;
}

// Starts `n` reads of `size` bytes on `fd` as `u`, one after the other,
// each waiting before the next starts; each reports to `reports`.
std::vector<pid_t> WaitingReadsAs(User u, int fd, const Pipe& reports, int n,
                                  size_t size = 4096) {
  std::vector<pid_t> readers;
  for (int i = 0; i < n; ++i) {
    readers.push_back(RunAs(u, Keep({fd}, {&reports}), [&reports, fd, size] {
      return ReadAndReport(fd, reports, size);
    }));
    if (!WaitUntilBlockedIn(readers.back(), ReadSyscalls())) {
      ADD_FAILURE() << DescribeProc(readers.back());
    }
  }
  return readers;
}

// Two unprivileged users (test_users.h). Bob plays the attacker:
// he uses nothing but his own port, his own connection and signals to his
// own calls. Alice's port has mode 0600, so the kernel keeps bob out of it.
class CrossUserTest : public TwoUsersTest {
 protected:
  // A port `name` of mode 0600 created by `u`. Its server handle is passed
  // to the test, which plays the port's server: the daemon asks nobody's
  // ids when records are read or written, only the creator's count
  // (lpc.7 "CREDENTIALS").
  UniqueFd PortOf(User u, const std::string& name, bool auto_accept = true) {
    UniqueFd fd = OpenedAs(u, P(name), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd.valid() && auto_accept) {
      EXPECT_OK(SetPortOptions(fd.get(), LPC_PORT_AUTO_ACCEPT));
    }
    return fd;
  }

  // A connection `u` makes to port `name`, passed to the test, which hands
  // it to processes of `u`. `while_waiting` runs while the open waits (to
  // accept it, unless the port auto-accepts).
  UniqueFd ConnectAs(User u, const std::string& name,
                     const std::function<void()>& while_waiting = {}) {
    return OpenedAs(u, P(name), O_RDWR, 0, while_waiting);
  }

  // Where most tests start: a port `name` of `u` (PortOf, auto-accepting)
  // and a connection of `u` to it, its CONNECT record read. On any failure
  // the test fails and `client` is left invalid.
  ConnectedClient ConnectedAs(User u, const std::string& name) {
    ConnectedClient out;
    out.srv = PortOf(u, name);
    if (!out.srv.valid()) return out;
    UniqueFd client = ConnectAs(u, name);
    if (!client.valid()) return out;
    out.connect = Expect(out.srv.get(), LPC_REC_CONNECT);
    if (out.connect.h.type == LPC_REC_CONNECT) out.client = std::move(client);
    return out;
  }
};

// Bob interrupts a read of his client and his server sends to that client:
// the message must wait for bob, not answer the reads alice's client made
// next on her own port.
TEST_F(CrossUserTest, AttackersSendDoesNotReachTheVictimsClient) {
  auto [alice_srv, alice, ca] = ConnectedAs(alice_, "alice");
  auto [bob_srv, bob, cb] = ConnectedAs(bob_, "bob");
  ASSERT_TRUE(alice.valid() && bob.valid());

  ASSERT_TRUE(InterruptReadsAs(bob_, bob.get(), 1));
  Pipe reports;
  std::vector<pid_t> readers = WaitingReadsAs(alice_, alice.get(), reports, 2);
  ASSERT_OK(Send(bob_srv.get(), cb.h.conn_id, "from bob"));
  ASSERT_TRUE(SendToWaitingReads(alice_srv.get(), ca.h.conn_id,
                                 {"for alice 1", "for alice 2"}, reports,
                                 readers, "alice's client"));

  // Bob's message was queued for him before this read.
  EXPECT_EQ("from bob", ReadQueued(bob.get()));
}

// Bob's server sends his client bytes that look like a record: a MESSAGE
// on alice's connection from uid 0. Sent after bob interrupted his
// client's read and alice's server began to wait on her server handle,
// they must still go to bob's client; alice's server reads only records
// the daemon made, with the ids of the real writer.
TEST_F(CrossUserTest, ForgedRecordDoesNotReachTheVictimsServerHandle) {
  auto [alice_srv, alice, ca] = ConnectedAs(alice_, "alice");
  auto [bob_srv, bob, cb] = ConnectedAs(bob_, "bob");
  ASSERT_TRUE(alice.valid() && bob.valid());

  ASSERT_TRUE(InterruptReadsAs(bob_, bob.get(), 1));
  Pipe reports;
  std::vector<pid_t> servers =
      WaitingReadsAs(alice_, alice_srv.get(), reports, 2, LPC_RECORD_MAX);
  lpc_record forged{};
  forged.type = LPC_REC_MESSAGE;
  forged.conn_id = ca.h.conn_id;
  forged.msg_id = 1;
  forged.pid = 1;
  std::string body = "transfer everything";
  forged.length = static_cast<uint32_t>(body.size());
  std::string bytes(reinterpret_cast<const char*>(&forged), sizeof forged);
  bytes += body;
  ASSERT_OK(Send(bob_srv.get(), cb.h.conn_id, bytes));
  pid_t writer = WriteAs(alice_, alice.get(), {"real 1", "real 2"});

  std::multiset<std::string> got;
  for (int i = 0; i < 2; ++i) {
    ReadReport rep;
    ASSERT_TRUE(reports.Get(&rep));
    Record m = AsRecord(rep);
    EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type) << Shown(rep);
    EXPECT_EQ(ca.h.conn_id, m.h.conn_id) << Shown(rep);
    EXPECT_EQ(static_cast<uint32_t>(writer), m.h.pid) << Shown(rep);
    EXPECT_EQ(alice_.uid, m.h.uid) << "alice's server read " << Shown(rep);
    EXPECT_EQ(alice_.gid, m.h.gid) << Shown(rep);
    got.insert(m.payload);
  }
  EXPECT_EQ((std::multiset<std::string>{"real 1", "real 2"}), got);
  for (pid_t s : servers) EXPECT_EQ(0, WaitExit(s));

  EXPECT_EQ(bytes, ReadQueued(bob.get()))
      << "bob's client gets what his server sent";
}

// Bob interrupts his own server's read of his server handle; alice's
// client then reads on her port. The next message of bob's client must be
// a record on bob's server handle, not an answer to alice's reads.
TEST_F(CrossUserTest, InterruptedServerReadDoesNotSendItsRecordsElsewhere) {
  auto [alice_srv, alice, ca] = ConnectedAs(alice_, "alice");
  auto [bob_srv, bob, cb] = ConnectedAs(bob_, "bob");
  ASSERT_TRUE(alice.valid() && bob.valid());

  ASSERT_TRUE(InterruptReadsAs(bob_, bob_srv.get(), 1));
  Pipe reports;
  std::vector<pid_t> readers = WaitingReadsAs(alice_, alice.get(), reports, 2);
  WriteAs(bob_, bob.get(), {"bob's message"});
  // Queued on bob's server handle when the write returned.
  if (PollOnce(bob_srv.get(), POLLIN, 0) & POLLIN) {
    Record m = Expect(bob_srv.get(), LPC_REC_MESSAGE, cb.h.conn_id);
    EXPECT_EQ("bob's message", m.payload);
    EXPECT_EQ(bob_.uid, m.h.uid);
  } else {
    ADD_FAILURE() << "bob's message is not on his server handle";
  }

  ASSERT_TRUE(SendToWaitingReads(alice_srv.get(), ca.h.conn_id,
                                 {"for alice 1", "for alice 2"}, reports,
                                 readers, "alice's client"));
  EXPECT_TRUE(NoRecordQueued(bob_srv.get()));
}

// Reported crash: bob alone interrupts reads of his client, opens his own
// port again (the open waits: no auto-accept), sends on the first
// connection and accepts the second. The daemon answered the waiting open
// with the message (EIO for bob's open), then accepted a request it had
// already answered and died of SIGSEGV. TearDown checks that the daemon
// is alive.
TEST_F(CrossUserTest, PendingOpenAfterAnInterruptedReadOfTheSameUser) {
  UniqueFd srv = PortOf(bob_, "bob", /*auto_accept=*/false);
  ASSERT_TRUE(srv.valid());
  int sfd = srv.get();
  Record c1;
  UniqueFd first = ConnectAs(bob_, "bob", [&] {
    c1 = Expect(sfd, LPC_REC_CONNECT);
    EXPECT_OK(Accept(sfd, c1.h.conn_id));
  });
  ASSERT_TRUE(first.valid());

  // The server waits for the next CONNECT from before the interrupt on,
  // so that nothing but the open's own requests reach the daemon between
  // the interrupt and the open.
  Pipe connects;
  pid_t listener = RunAs(bob_, Keep({sfd}, {&connects}), [&connects, sfd] {
    return ReadAndReport(sfd, connects, LPC_RECORD_MAX);
  });
  ASSERT_TRUE(BlockedInDaemon(listener, ReadSyscalls(), sfd))
      << DescribeProc(listener);
  // Two reads at once: whichever request the open below gets, one of
  // them waited in the same queue.
  ASSERT_TRUE(InterruptReadsAs(bob_, first.get(), 2));
  std::string port = P("bob");
  pid_t second = RunAs(bob_, {}, [port] {
    Opened o = Open(port, O_RDWR);
    if (o.err) return o.err;
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "from conn 2"));
    std::string got;
    CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
    CHILD_CHECK(got == "to conn 2");
    return 0;
  });
  ReadReport rep;
  ASSERT_TRUE(connects.Get(&rep));
  Record c2 = AsRecord(rep);
  ASSERT_EQ(uint32_t{LPC_REC_CONNECT}, c2.h.type) << Shown(rep);
  EXPECT_EQ(static_cast<uint32_t>(second), c2.h.pid);
  EXPECT_EQ(0, WaitExit(listener));
  // The open waits in the daemon now.
  ASSERT_OK(Send(sfd, c1.h.conn_id, "to conn 1"));
  ASSERT_OK(Accept(sfd, c2.h.conn_id)) << "the second open still waits";
  Record m2 = Expect(sfd, LPC_REC_MESSAGE, c2.h.conn_id);
  EXPECT_EQ("from conn 2", m2.payload);
  EXPECT_EQ(bob_.uid, m2.h.uid);
  ASSERT_OK(Send(sfd, c2.h.conn_id, "to conn 2"));
  EXPECT_EQ(0, WaitExit(second));
  Expect(sfd, LPC_REC_DISCONNECT, c2.h.conn_id);

  // Connection 1 works both ways; its message waited for it.
  EXPECT_EQ("to conn 1", ReadQueued(first.get()));
  pid_t writer = WriteAs(bob_, first.get(), {"from conn 1"});
  Record m1 = Expect(sfd, LPC_REC_MESSAGE, c1.h.conn_id);
  EXPECT_EQ("from conn 1", m1.payload);
  EXPECT_EQ(static_cast<uint32_t>(writer), m1.h.pid);
  EXPECT_EQ(bob_.uid, m1.h.uid);
}

// Queues of one message, so that writes wait.
class CrossUserFullQueueTest : public CrossUserTest {
 protected:
  std::string DaemonOptions() const override { return "queue_messages=1"; }
};

// Bob interrupts a write of his that waits behind another of his waiting
// writes; then alice's writes wait for room on her port. When bob's server
// makes room on his connection, only bob's messages may arrive there, and
// alice's arrive on her port, with her ids.
TEST_F(CrossUserFullQueueTest, VictimsWaitingWritesDoNotGoToTheAttacker) {
  auto [alice_srv, alice, ca] = ConnectedAs(alice_, "alice");
  auto [bob_srv, bob, cb] = ConnectedAs(bob_, "bob");
  ASSERT_TRUE(alice.valid() && bob.valid());
  int afd = alice.get();
  int bfd = bob.get();

  // Every writer writes once before the write that waits, for the reason
  // given in StaleWriterTest.
  struct Writer {
    pid_t pid = -1;
    Pipe ready, go;
  };
  auto start = [&](Writer& w, User u, int fd, std::string before,
                   std::string waits, bool interrupted) {
    w.pid = RunAs(
        u, Keep({fd}, {&w.ready, &w.go}), [&w, fd, before, waits, interrupted] {
          CatchWithoutRestart(SIGUSR1);
          CHILD_CHECK_ERR(0, WriteMsg(fd, before));
          w.ready.Open();
          CHILD_CHECK(w.go.Wait());
          CHILD_CHECK_ERR(interrupted ? EINTR : 0, WriteMsg(fd, waits));
          return 0;
        });
    ASSERT_TRUE(w.ready.Wait());
  };
  Writer bob_b, bob_a, alice_1, alice_2;
  ASSERT_NO_FATAL_FAILURE(start(bob_b, bob_, bfd, "bob 0", "bob 3", true));
  EXPECT_EQ("bob 0",
            Expect(bob_srv.get(), LPC_REC_MESSAGE, cb.h.conn_id).payload);
  ASSERT_NO_FATAL_FAILURE(start(bob_a, bob_, bfd, "bob 1", "bob 2", false));
  ASSERT_NO_FATAL_FAILURE(
      start(alice_1, alice_, afd, "alice 0", "alice's secret 1", false));
  EXPECT_EQ("alice 0",
            Expect(alice_srv.get(), LPC_REC_MESSAGE, ca.h.conn_id).payload);
  ASSERT_NO_FATAL_FAILURE(
      start(alice_2, alice_, afd, "alice 1", "alice's secret 2", false));
  // Both queues are full now. Bob's "bob 3" waits behind "bob 2".
  for (Writer* w : {&bob_a, &bob_b}) {
    w->go.Open();
    ASSERT_TRUE(BlockedInDaemon(w->pid, WriteSyscalls(), bfd))
        << DescribeProc(w->pid);
  }
  kill(bob_b.pid, SIGUSR1);
  ASSERT_EQ(0, WaitExit(bob_b.pid));
  for (Writer* w : {&alice_1, &alice_2}) {
    w->go.Open();
    ASSERT_TRUE(WaitUntilBlockedIn(w->pid, WriteSyscalls()))
        << DescribeProc(w->pid);
  }

  EXPECT_EQ("bob 1",
            Expect(bob_srv.get(), LPC_REC_MESSAGE, cb.h.conn_id).payload);
  EXPECT_EQ(0, WaitExit(bob_a.pid)) << "bob 2 fits once bob 1 is read";
  EXPECT_EQ("bob 2",
            Expect(bob_srv.get(), LPC_REC_MESSAGE, cb.h.conn_id).payload);
  if (!NoRecordQueued(bob_srv.get())) {
    ADD_FAILURE() << "bob's server reads " << Describe(Next(bob_srv.get()))
                  << " on his own connection";
  }

  EXPECT_EQ("alice 1",
            Expect(alice_srv.get(), LPC_REC_MESSAGE, ca.h.conn_id).payload);
  for (auto [w, msg] : {std::pair{&alice_1, "alice's secret 1"},
                        std::pair{&alice_2, "alice's secret 2"}}) {
    // Her write returns once her message is queued.
    EXPECT_EQ(0, WaitExit(w->pid));
    if (!(PollOnce(alice_srv.get(), POLLIN, 0) & POLLIN)) {
      ADD_FAILURE() << "\"" << msg << "\" is not on alice's server handle";
      continue;
    }
    Record m = Expect(alice_srv.get(), LPC_REC_MESSAGE, ca.h.conn_id);
    EXPECT_EQ(msg, m.payload);
    EXPECT_EQ(static_cast<uint32_t>(w->pid), m.h.pid);
    EXPECT_EQ(alice_.uid, m.h.uid);
  }
  EXPECT_TRUE(NoRecordQueued(bob_srv.get()));
}

}  // namespace
}  // namespace lpctest
