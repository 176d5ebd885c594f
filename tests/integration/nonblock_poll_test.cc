// O_NONBLOCK (at open and set later with fcntl) and poll/epoll readiness of
// every kind of handle (lpc.7 "MESSAGES", "Server handle",
// "poll/epoll").
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class NonblockTest : public MountTest {};
class PollTest : public MountTest {};

std::string ConnPath(const std::string& mnt, uint64_t id) {
  return mnt + "/" + LPC_CONN_DIR + "/" + std::to_string(id);
}

// A child blocked in poll() on fd until one of `events` (or an error bit)
// is reported; exits 0 if `want` bits are all in revents, else 1.
pid_t SpawnPoller(int fd, short events, short want) {
  return Spawn([fd, events, want] {
    CloseOtherFds({fd});  // copies of other handles would keep them open
    pollfd p{fd, events, 0};
    int n;
    do {
      n = poll(&p, 1, -1);
    } while (n < 0 && errno == EINTR);
    CHILD_CHECK(n == 1);
    if ((p.revents & want) != want) {
      std::fprintf(stderr, "poller: revents 0x%x, want 0x%x\n", p.revents,
                   want);
      return 1;
    }
    return 0;
  });
}

// The same with epoll; `want` in EPOLL* bits.
pid_t SpawnEpoller(int fd, uint32_t events, uint32_t want) {
  return Spawn([fd, events, want] {
    CloseOtherFds({fd});
    int ep = epoll_create1(0);
    CHILD_CHECK(ep >= 0);
    epoll_event ev{};
    ev.events = events;
    CHILD_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    epoll_event out{};
    int n;
    do {
      n = epoll_wait(ep, &out, 1, -1);
    } while (n < 0 && errno == EINTR);
    CHILD_CHECK(n == 1);
    if ((out.events & want) != want) {
      std::fprintf(stderr, "epoller: events 0x%x, want 0x%x\n", out.events,
                   want);
      return 1;
    }
    return 0;
  });
}

TEST_F(NonblockTest, ClientReadOnAnEmptyQueueIsEagain) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  std::string got;

  Opened nb = Open(P("svc"), O_RDWR | O_NONBLOCK);
  ASSERT_OK(nb.err);
  Record c1 = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_ERR(EAGAIN, ReadMsg(nb.fd.get(), &got));
  ASSERT_OK(Send(srv.get(), c1.h.conn_id, "now"));
  ASSERT_OK(ReadMsg(nb.fd.get(), &got));
  EXPECT_EQ("now", got);
  EXPECT_ERR(EAGAIN, ReadMsg(nb.fd.get(), &got));

  // Set later with fcntl: also honoured.
  Opened later = Open(P("svc"), O_RDWR);
  ASSERT_OK(later.err);
  Record c2 = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(SetNonblocking(later.fd.get(), true));
  EXPECT_ERR(EAGAIN, ReadMsg(later.fd.get(), &got));
  ASSERT_OK(Send(srv.get(), c2.h.conn_id, "there"));
  ASSERT_OK(ReadMsg(later.fd.get(), &got));
  EXPECT_EQ("there", got);
  // And cleared again: the read waits (seen from a child, blocked in it).
  ASSERT_OK(SetNonblocking(later.fd.get(), false));
  int fd = later.fd.get();
  pid_t reader = Spawn([fd] {
    std::string m;
    CHILD_CHECK_ERR(0, ReadMsg(fd, &m));
    return m == "finally" ? 0 : 1;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  ASSERT_OK(Send(srv.get(), c2.h.conn_id, "finally"));
  EXPECT_EQ(0, WaitExit(reader));
}

TEST_F(NonblockTest, ServerHandleReadOnNoRecordsIsEagain) {
  Opened srv = Open(P("svc"), O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0666);
  ASSERT_OK(srv.err);
  Record r;
  EXPECT_ERR(EAGAIN, ReadRecord(srv.fd.get(), &r));
  ASSERT_OK(SetPortOptions(srv.fd.get(), LPC_PORT_AUTO_ACCEPT));
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  ASSERT_OK(ReadRecord(srv.fd.get(), &r));
  EXPECT_EQ(uint32_t{LPC_REC_CONNECT}, r.h.type);
  EXPECT_ERR(EAGAIN, ReadRecord(srv.fd.get(), &r));

  // Set with fcntl on a blocking handle.
  UniqueFd srv2 = CreatePort("svc2");
  ASSERT_TRUE(srv2.valid());
  ASSERT_OK(SetNonblocking(srv2.get(), true));
  EXPECT_ERR(EAGAIN, ReadRecord(srv2.get(), &r));
}

TEST_F(NonblockTest, ConnFileReadOnAnEmptyQueueIsEagain) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn = Open(ConnPath(mount_dir(), c.h.conn_id), O_RDWR | O_NONBLOCK);
  ASSERT_OK(conn.err);
  std::string got;
  EXPECT_ERR(EAGAIN, ReadMsg(conn.fd.get(), &got));
  ASSERT_OK(WriteMsg(client.fd.get(), "hi"));
  ASSERT_OK(ReadMsg(conn.fd.get(), &got));
  EXPECT_EQ("hi", got);
  EXPECT_ERR(EAGAIN, ReadMsg(conn.fd.get(), &got));
}

TEST_F(PollTest, ClientHandleBecomesReadableWhenAMessageArrives) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();

  int now = PollOnce(fd, POLLIN | POLLOUT, 0);
  EXPECT_EQ(POLLOUT, now) << "idle: writable, not readable, no hangup";

  pid_t poller = SpawnPoller(fd, POLLIN, POLLIN);
  pid_t epoller = SpawnEpoller(fd, EPOLLIN, EPOLLIN);
  ASSERT_TRUE(WaitUntilBlockedIn(poller, PollSyscalls()))
      << DescribeProc(poller);
  ASSERT_TRUE(WaitUntilBlockedIn(epoller, PollSyscalls()))
      << DescribeProc(epoller);
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "wake up"));
  EXPECT_EQ(0, WaitExit(poller));
  EXPECT_EQ(0, WaitExit(epoller));
  EXPECT_EQ(POLLIN | POLLOUT, PollOnce(fd, POLLIN | POLLOUT, 0));
  std::string got;
  ASSERT_OK(ReadMsg(fd, &got));
  EXPECT_EQ("wake up", got);
  EXPECT_EQ(0, PollOnce(fd, POLLIN, 0));
}

TEST_F(PollTest, ClientHandleHangsUpWhenTheServerDisconnects) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  EXPECT_EQ(0, PollOnce(fd, POLLIN, 0) & POLLHUP);

  pid_t poller = SpawnPoller(fd, POLLIN, POLLHUP);
  pid_t epoller = SpawnEpoller(fd, EPOLLIN, EPOLLHUP);
  ASSERT_TRUE(WaitUntilBlockedIn(poller, PollSyscalls()))
      << DescribeProc(poller);
  ASSERT_TRUE(WaitUntilBlockedIn(epoller, PollSyscalls()))
      << DescribeProc(epoller);
  ASSERT_OK(Disconnect(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(poller));
  EXPECT_EQ(0, WaitExit(epoller));
  int revents = PollOnce(fd, POLLIN, 0);
  EXPECT_TRUE(revents & POLLHUP) << "revents 0x" << std::hex << revents;
  EXPECT_TRUE(revents & POLLIN) << "readable: read returns 0";
}

TEST_F(PollTest, ServerHandleIsReadableWhenARecordIsQueued) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_EQ(POLLOUT, PollOnce(srv.get(), POLLIN | POLLOUT, 0))
      << "POLLOUT always, POLLIN only with a record";

  pid_t poller = SpawnPoller(srv.get(), POLLIN, POLLIN);
  pid_t epoller = SpawnEpoller(srv.get(), EPOLLIN, EPOLLIN);
  ASSERT_TRUE(WaitUntilBlockedIn(poller, PollSyscalls()))
      << DescribeProc(poller);
  ASSERT_TRUE(WaitUntilBlockedIn(epoller, PollSyscalls()))
      << DescribeProc(epoller);
  // A connection request queues a CONNECT record.
  std::string path = P("svc");
  pid_t client = Spawn([path] { return Open(path, O_RDWR).err; });
  EXPECT_EQ(0, WaitExit(poller));
  EXPECT_EQ(0, WaitExit(epoller));
  EXPECT_EQ(POLLIN | POLLOUT, PollOnce(srv.get(), POLLIN | POLLOUT, 0));
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(POLLOUT, PollOnce(srv.get(), POLLIN | POLLOUT, 0));
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(client));
}

TEST_F(PollTest, ConnFileReadableOnMessageAndHangsUpWhenClientCloses) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn = Open(ConnPath(mount_dir(), c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  int sfd = conn.fd.get();
  EXPECT_EQ(POLLOUT, PollOnce(sfd, POLLIN | POLLOUT, 0));

  pid_t poller = SpawnPoller(sfd, POLLIN, POLLIN);
  ASSERT_TRUE(WaitUntilBlockedIn(poller, PollSyscalls()))
      << DescribeProc(poller);
  ASSERT_OK(WriteMsg(client.fd.get(), "knock"));
  EXPECT_EQ(0, WaitExit(poller));
  std::string got;
  ASSERT_OK(ReadMsg(sfd, &got));
  EXPECT_EQ("knock", got);

  pid_t hup = SpawnEpoller(sfd, EPOLLIN, EPOLLHUP);
  ASSERT_TRUE(WaitUntilBlockedIn(hup, PollSyscalls())) << DescribeProc(hup);
  client.fd.reset();
  EXPECT_EQ(0, WaitExit(hup));
  int revents = PollOnce(sfd, POLLIN, 0);
  EXPECT_TRUE(revents & POLLHUP) << "revents 0x" << std::hex << revents;
}

}  // namespace
}  // namespace lpctest
