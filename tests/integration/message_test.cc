// Messages: order, ids, sizes and read boundaries (lpc.7 "MESSAGES",
// "SERVER HANDLE").
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class MessageTest : public MountTest {};

std::string Numbered(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s %04d", prefix, i);
  return buf;
}

TEST_F(MessageTest, ThousandMessagesArriveInOrderEachWay) {
  constexpr int kCount = 1000;
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    for (int i = 0; i < kCount; ++i) {
      CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), Numbered("up", i)));
    }
    for (int i = 0; i < kCount; ++i) {
      std::string got;
      CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
      CHILD_CHECK(got == Numbered("down", i));
    }
    return 0;
  });

  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  for (int i = 0; i < kCount; ++i) {
    Record m = Next(srv.get());
    ASSERT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type) << Describe(m);
    ASSERT_EQ(c.h.conn_id, m.h.conn_id);
    ASSERT_EQ(static_cast<uint64_t>(i + 1), m.h.msg_id)
        << "msg ids of a connection are 1, 2, 3, ...";
    ASSERT_EQ(Numbered("up", i), m.payload);
    ASSERT_EQ(static_cast<uint32_t>(child), m.h.pid);
  }
  for (int i = 0; i < kCount; ++i) {
    ASSERT_OK(Send(srv.get(), c.h.conn_id, Numbered("down", i)));
  }
  EXPECT_EQ(0, WaitExit(child));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
}

TEST_F(MessageTest, MessageIdsArePerConnection) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened a = Open(P("svc"), O_RDWR);
  Opened b = Open(P("svc"), O_RDWR);
  ASSERT_OK(a.err);
  ASSERT_OK(b.err);
  Record ca = Expect(srv.get(), LPC_REC_CONNECT);
  Record cb = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_NE(ca.h.conn_id, cb.h.conn_id);
  ASSERT_OK(WriteMsg(a.fd.get(), "a1"));
  ASSERT_OK(WriteMsg(b.fd.get(), "b1"));
  ASSERT_OK(WriteMsg(a.fd.get(), "a2"));
  Record m1 = Expect(srv.get(), LPC_REC_MESSAGE, ca.h.conn_id);
  Record m2 = Expect(srv.get(), LPC_REC_MESSAGE, cb.h.conn_id);
  Record m3 = Expect(srv.get(), LPC_REC_MESSAGE, ca.h.conn_id);
  EXPECT_EQ(1u, m1.h.msg_id);
  EXPECT_EQ(1u, m2.h.msg_id);
  EXPECT_EQ(2u, m3.h.msg_id);
  EXPECT_EQ("a2", m3.payload);
}

TEST_F(MessageTest, ReadsTakePiecesOfOneMessageOnly) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "hello"));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "world!"));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "xyz"));

  std::string got;
  // One byte at a time through the whole first message...
  std::string first;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(ReadMsg(fd, &got, 1));
    ASSERT_EQ(1u, got.size());
    first += got;
  }
  EXPECT_EQ("hello", first);
  // ...then a big buffer gets the next message only, never two.
  ASSERT_OK(ReadMsg(fd, &got, 100));
  EXPECT_EQ("world!", got);
  // A short buffer leaves the rest of the message for the next read, and
  // that read stops at the message's end.
  ASSERT_OK(ReadMsg(fd, &got, 1));
  EXPECT_EQ("x", got);
  ASSERT_OK(ReadMsg(fd, &got, 100));
  EXPECT_EQ("yz", got);
  // Nothing left.
  EXPECT_EQ(0, PollOnce(fd, POLLIN, 0));
  ASSERT_OK(SetNonblocking(fd, true));
  EXPECT_ERR(EAGAIN, ReadMsg(fd, &got, 100));
}

TEST_F(MessageTest, MessagesUpToThePortsLimitOnly) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  // lpc_port_limits: this port takes short messages only.
  ASSERT_OK(SetPortLimits(srv.get(), LPC_MAX_MESSAGE, LPC_PORT_AUTO_ACCEPT));

  std::string max(LPC_MAX_MESSAGE, 'm');
  max[0] = 'A';
  max[255] = 'Z';
  ASSERT_OK(WriteMsg(fd, max));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(256u, m.h.length);
  EXPECT_EQ(max, m.payload);

  EXPECT_ERR(EMSGSIZE, WriteMsg(fd, std::string(257, 'x')));
  EXPECT_ERR(EMSGSIZE, WriteMsg(fd, std::string(4096, 'x')));
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "a refused write sends nothing";

  // The server's side has the same limits.
  ASSERT_OK(Send(srv.get(), c.h.conn_id, max));
  EXPECT_ERR(EMSGSIZE, Send(srv.get(), c.h.conn_id, std::string(257, 's')));
  std::string got;
  ASSERT_OK(ReadMsg(fd, &got, 4096));
  EXPECT_EQ(max, got);
  EXPECT_EQ(0, PollOnce(fd, POLLIN, 0));

  // The connection still works, with ids counting on from 2.
  ASSERT_OK(WriteMsg(fd, "after"));
  Record m2 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("after", m2.payload);
  EXPECT_EQ(2u, m2.h.msg_id);
}

TEST_F(MessageTest, RecordLargerThanTheBufferStaysQueued) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(WriteMsg(client.fd.get(), "0123456789"));
  Record r;
  EXPECT_ERR(EMSGSIZE, ReadRecord(srv.get(), &r, sizeof(lpc_record) + 9));
  EXPECT_ERR(EMSGSIZE, ReadRecord(srv.get(), &r, 10));
  ASSERT_OK(ReadRecord(srv.get(), &r, sizeof(lpc_record) + 10));
  EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, r.h.type);
  EXPECT_EQ("0123456789", r.payload);
}

TEST_F(MessageTest, ReplyAnswersAReadMessageOnce) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "question 1"));
    CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "question 2"));
    std::string got;
    CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
    CHILD_CHECK(got == "answer 2");
    CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
    CHILD_CHECK(got == "answer 1");
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  Record q1 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  Record q2 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  // Replies in any order.
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, q2.h.msg_id, "answer 2"));
  // Once only (the client is still connected, waiting for answer 1).
  EXPECT_ERR(ENOMSG, Reply(srv.get(), c.h.conn_id, q2.h.msg_id, "again"));
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, q1.h.msg_id, "answer 1"));
  EXPECT_EQ(0, WaitExit(child));
}

TEST_F(MessageTest, EachMessageCarriesItsWritersIdentity) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  ASSERT_OK(WriteMsg(fd, "parent"));
  // The handle is inherited: the child writes on the same connection.
  pid_t child = Spawn([fd] {
    CHILD_CHECK_ERR(0, BecomeUser(0, 777));
    return WriteMsg(fd, "child");
  });
  EXPECT_EQ(0, WaitExit(child));
  Record m1 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  Record m2 = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(static_cast<uint32_t>(getpid()), m1.h.pid);
  EXPECT_EQ(0u, m1.h.gid);
  EXPECT_EQ("child", m2.payload);
  EXPECT_EQ(static_cast<uint32_t>(child), m2.h.pid);
  EXPECT_EQ(777u, m2.h.gid) << "the writer's gid at write time";
}

class ReplyWindowTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "reply_window=2"; }
};

TEST_F(ReplyWindowTest, OnlyTheLastUnrepliedIdsAreRemembered) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  for (const char* m : {"one", "two", "three"}) {
    ASSERT_OK(WriteMsg(client.fd.get(), m));
    Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  }
  EXPECT_ERR(ENOMSG, Reply(srv.get(), c.h.conn_id, 1, "forgotten"));
  EXPECT_OK(Reply(srv.get(), c.h.conn_id, 3, "three"));
  EXPECT_OK(Reply(srv.get(), c.h.conn_id, 2, "two"));
  std::string got;
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ("three", got);
}

}  // namespace
}  // namespace lpctest
