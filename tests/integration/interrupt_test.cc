// Signals and blocked calls: EINTR for a caught signal (handler installed
// without SA_RESTART), withdrawal of interrupted connection requests, and
// SIGKILL of blocked processes, which must be reaped, never left in D state
// (lpc.7 "CONNECTING", fs/README.md "Request lifetime and interrupts").
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class InterruptTest : public MountTest {};

TEST_F(InterruptTest, SignalInterruptsABlockedClientRead) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CatchWithoutRestart(SIGUSR1);
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    std::string got;
    CHILD_CHECK_ERR(EINTR, ReadMsg(o.fd.get(), &got));
    // The connection is intact: it says so and gets the next message.
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "interrupted"));
    CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
    CHILD_CHECK(got == "after the signal");
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  ASSERT_TRUE(WaitUntilBlockedIn(child, ReadSyscalls())) << DescribeProc(child);
  kill(child, SIGUSR1);
  EXPECT_EQ("interrupted",
            Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "after the signal"));
  EXPECT_EQ(0, WaitExit(child));
}

TEST_F(InterruptTest, SignalInterruptsABlockedServerHandleRead) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  int fd = srv.get();
  pid_t reader = Spawn([fd] {
    CatchWithoutRestart(SIGUSR1);
    Record r;
    CHILD_CHECK_ERR(EINTR, ReadRecord(fd, &r));
    return 0;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  kill(reader, SIGUSR1);
  EXPECT_EQ(0, WaitExit(reader));
  // No record was lost to the interrupted reader.
  std::string path = P("svc");
  pid_t client = Spawn([path] { return Open(path, O_RDWR).err; });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(client));
}

TEST_F(InterruptTest, InterruptedOpenIsWithdrawn) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CatchWithoutRestart(SIGUSR1);
    return Open(path, O_RDWR).err;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitUntilBlockedIn(child, OpenSyscalls())) << DescribeProc(child);
  kill(child, SIGUSR1);
  EXPECT_ERR(EINTR, WaitExit(child));
  // The server read the CONNECT, so it hears of the withdrawal.
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_WITHDRAWN}, d.h.flags);
  EXPECT_ERR(ENOTCONN, Accept(srv.get(), c.h.conn_id));
  EXPECT_ERR(ENOTCONN, Reject(srv.get(), c.h.conn_id));
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(InterruptTest, OpenWithdrawnBeforeTheServerReadItLeavesNoTrace) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CatchWithoutRestart(SIGUSR1);
    return Open(path, O_RDWR).err;
  });
  // The daemon has the request once its CONNECT record is queued.
  ASSERT_TRUE(WaitFor([&] { return PollOnce(srv.get(), POLLIN, 0) > 0; }));
  ASSERT_TRUE(WaitUntilBlockedIn(child, OpenSyscalls())) << DescribeProc(child);
  kill(child, SIGUSR1);
  EXPECT_ERR(EINTR, WaitExit(child));
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "a request withdrawn before its CONNECT was read leaves no records";
  ASSERT_OK(SetNonblocking(srv.get(), true));
  Record r;
  int err = ReadRecord(srv.get(), &r);
  EXPECT_ERR(EAGAIN, err) << "got " << Describe(r);
  EXPECT_NE(std::string::npos, StatsText().find(" pending=0 connections=0 "))
      << StatsText();
}

TEST_F(InterruptTest, KilledBlockedReaderIsReaped) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    std::string got;
    ReadMsg(o.fd.get(), &got);
    return 1;  // never reached: nobody sends
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitUntilBlockedIn(child, ReadSyscalls())) << DescribeProc(child);
  kill(child, SIGKILL);
  // Reaped: the daemon answered the interrupt (else it stays in D state
  // and the watchdog fires here).
  EXPECT_EQ(128 + SIGKILL, WaitExit(child));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
}

TEST_F(InterruptTest, KilledBlockedOpenIsReapedAndWithdrawn) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] { return Open(path, O_RDWR).err; });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitUntilBlockedIn(child, OpenSyscalls())) << DescribeProc(child);
  kill(child, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, WaitExit(child));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_WITHDRAWN}, d.h.flags);
  EXPECT_ERR(ENOTCONN, Accept(srv.get(), c.h.conn_id));
}

TEST_F(InterruptTest, KilledBlockedServerReaderIsReaped) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  int fd = srv.get();
  pid_t reader = Spawn([fd] {
    Record r;
    ReadRecord(fd, &r);
    return 1;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  kill(reader, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, WaitExit(reader));
}

TEST_F(InterruptTest, SignalInterruptsABlockedConnFileRead) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn = Open(
      P(std::string(LPC_CONN_DIR) + "/" + std::to_string(c.h.conn_id)), O_RDWR);
  ASSERT_OK(conn.err);
  int sfd = conn.fd.get();
  Gate interrupted;
  pid_t reader = Spawn([sfd, &interrupted] {
    CatchWithoutRestart(SIGUSR1);
    std::string got;
    CHILD_CHECK_ERR(EINTR, ReadMsg(sfd, &got));
    interrupted.Open();
    CHILD_CHECK_ERR(0, ReadMsg(sfd, &got));
    CHILD_CHECK(got == "after");
    return 0;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  kill(reader, SIGUSR1);
  ASSERT_TRUE(interrupted.Wait());
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  ASSERT_OK(WriteMsg(client.fd.get(), "after"));
  EXPECT_EQ(0, WaitExit(reader));
}

}  // namespace
}  // namespace lpctest
