// The end of a connection: DISCONNECT records, EOF after draining, EPIPE,
// whichever side goes first (lpc.7 "PORTS", "Messages and reads",
// the DISCONNECT invariant).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class EofTest : public MountTest {};

TEST_F(EofTest, KilledClientDisconnectsAfterItsMessages) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  Gate sent;
  pid_t child = Spawn([&] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    for (const char* m : {"one", "two", "three"}) {
      CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), m));
    }
    sent.Open();
    for (;;) pause();
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  ASSERT_TRUE(sent.Wait());
  kill(child, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, WaitExit(child));

  for (const char* m : {"one", "two", "three"}) {
    EXPECT_EQ(m, Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  }
  // The DISCONNECT is queued once the kernel has released the handle.
  ASSERT_TRUE(WaitFor([&] { return PollOnce(srv.get(), POLLIN, 0) > 0; }));
  // The connection still exists (its DISCONNECT is unread), its peer is
  // gone: EPIPE.
  EXPECT_ERR(EPIPE, Send(srv.get(), c.h.conn_id, "anyone?"));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
  // Fully ended now.
  EXPECT_ERR(ENOTCONN, Send(srv.get(), c.h.conn_id, "anyone?"));
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(EofTest, ClosedServerHandleMeansDrainThenEofAndEpipe) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "first"));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "second"));
  srv.reset();

  std::string got;
  ASSERT_OK(ReadMsg(fd, &got));
  EXPECT_EQ("first", got);
  ASSERT_OK(ReadMsg(fd, &got));
  EXPECT_EQ("second", got);
  ASSERT_OK(ReadMsg(fd, &got));
  EXPECT_EQ("", got) << "EOF once drained";
  ASSERT_OK(ReadMsg(fd, &got));
  EXPECT_EQ("", got) << "EOF stays";
  EXPECT_ERR(EPIPE, WriteMsg(fd, "hello?"));
  int revents = PollOnce(fd, POLLIN | POLLOUT, 0);
  EXPECT_TRUE(revents & POLLHUP) << "revents 0x" << std::hex << revents;
  EXPECT_TRUE(revents & POLLIN) << "revents 0x" << std::hex << revents;
  EXPECT_FALSE(revents & POLLOUT) << "revents 0x" << std::hex << revents;
}

TEST_F(EofTest, ServerDisconnectRecordMeansDrainThenEofAndEpipe) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  Gate disconnected;
  pid_t child = Spawn([&] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    disconnected.Wait();
    std::string got;
    CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
    CHILD_CHECK(got == "bye");
    CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
    CHILD_CHECK(got.empty());
    CHILD_CHECK_ERR(EPIPE, WriteMsg(o.fd.get(), "wait"));
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "bye"));
  ASSERT_OK(Disconnect(srv.get(), c.h.conn_id));
  // The server side has ended it (lpc.7 LPC_REC_SEND, LPC_REC_DISCONNECT).
  EXPECT_ERR(ENOTCONN, Disconnect(srv.get(), c.h.conn_id));
  EXPECT_ERR(ENOTCONN, Send(srv.get(), c.h.conn_id, "late"));
  disconnected.Open();
  EXPECT_EQ(0, WaitExit(child));

  // Exactly one DISCONNECT, and nothing after it once the client closed.
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_SERVER_CLOSED}, d.h.flags);
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find("conn " + std::to_string(c.h.conn_id) + " ") ==
           std::string::npos;
  })) << StatsText();
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(EofTest, MessagesWrittenBeforeCloseAreStillRead) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    Opened o = Open(path, O_WRONLY);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "last words"));
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "really"));
    return 0;  // closes
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(child));
  EXPECT_EQ("last words",
            Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  Record m2 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("really", m2.payload);
  // Replying to a message of a client that has gone: EPIPE, not lost
  // silently.
  EXPECT_ERR(EPIPE, Reply(srv.get(), c.h.conn_id, m2.h.msg_id, "too late"));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
}

TEST_F(EofTest, BlockedClientReaderWakesWithEofWhenPortCloses) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  int fd = client.fd.get();
  pid_t reader = Spawn([fd] {
    CloseOtherFds({fd});  // no copy of the server handle
    std::string got;
    CHILD_CHECK_ERR(0, ReadMsg(fd, &got));
    CHILD_CHECK(got.empty());
    return 0;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  srv.reset();
  EXPECT_EQ(0, WaitExit(reader));
}

TEST_F(EofTest, EveryConnectIsFollowedByExactlyOneDisconnect) {
  // Several ways to end, each checked for exactly one DISCONNECT after the
  // connection's messages, and nothing for that id afterwards.
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  auto client = [path](bool write_first) {
    return Spawn([path, write_first] {
      Opened o = Open(path, O_RDWR);
      if (o.err) return o.err;
      if (write_first) CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "x"));
      std::string got;
      // Waits for the server's word, or for EOF.
      CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
      return 0;
    });
  };
  // 1: client closes after the server's message.
  pid_t a = client(true);
  Record ca = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), ca.h.conn_id));
  Expect(srv.get(), LPC_REC_MESSAGE, ca.h.conn_id);
  ASSERT_OK(Send(srv.get(), ca.h.conn_id, "go"));
  EXPECT_EQ(0, WaitExit(a));
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED},
            Expect(srv.get(), LPC_REC_DISCONNECT, ca.h.conn_id).h.flags);
  // 2: server disconnects while the client still has its handle.
  pid_t b = client(false);
  Record cb = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), cb.h.conn_id));
  ASSERT_OK(Disconnect(srv.get(), cb.h.conn_id));
  EXPECT_EQ(0, WaitExit(b));
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_SERVER_CLOSED},
            Expect(srv.get(), LPC_REC_DISCONNECT, cb.h.conn_id).h.flags);
  // Nothing more for either id, whatever the client did afterwards.
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find(" connections=0 ") != std::string::npos;
  })) << StatsText();
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(EofTest, UnreadMessagesAreDiscardedWhenTheServerDisconnects) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(WriteMsg(client.fd.get(), "read"));
  ASSERT_OK(WriteMsg(client.fd.get(), "never read 1"));
  ASSERT_OK(WriteMsg(client.fd.get(), "never read 2"));
  EXPECT_EQ("read", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  ASSERT_OK(Disconnect(srv.get(), c.h.conn_id));
  // Like unread data on a closed socket; the DISCONNECT is all that is left.
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_SERVER_CLOSED}, d.h.flags);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
  std::string got;
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ("", got);
}

TEST_F(EofTest, PendingRequestsCannotBeSentToOrDisconnected) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CloseOtherFds({});
    return Open(path, O_RDWR).err;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_ERR(ENOTCONN, Send(srv.get(), c.h.conn_id, "too early"));
  EXPECT_ERR(ENOTCONN, Disconnect(srv.get(), c.h.conn_id));
  ASSERT_OK(Reject(srv.get(), c.h.conn_id));
  EXPECT_ERR(ECONNREFUSED, WaitExit(child));
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "a rejected request ends there, with no DISCONNECT record";
}

TEST_F(EofTest, DisconnectingAClosedClientSucceedsWithOneRecord) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  client.fd.reset();
  ASSERT_TRUE(WaitFor([&] { return PollOnce(srv.get(), POLLIN, 0) > 0; }));
  // Its DISCONNECT record is queued but not read yet.
  EXPECT_OK(Disconnect(srv.get(), c.h.conn_id));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "one DISCONNECT only";
  EXPECT_ERR(ENOTCONN, Send(srv.get(), c.h.conn_id, "gone"));
}

}  // namespace
}  // namespace lpctest
