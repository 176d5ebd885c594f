// The server communication port /.conn/ID (lpc.7 "SERVER COMMUNICATION PORT").
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class ConnFileTest : public MountTest {
 protected:
  std::string ConnPath(uint64_t id) const {
    return P(std::string(LPC_CONN_DIR) + "/" + std::to_string(id));
  }
};

TEST_F(ConnFileTest, ExistsFromAcceptUntilTheConnectionIsGone) {
  UniqueFd srv = CreatePort("svc", 0640);
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  Gate done;
  pid_t child = Spawn([&] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    done.Wait();
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  struct stat st;
  EXPECT_NE(0, stat(ConnPath(c.h.conn_id).c_str(), &st))
      << "no .conn file before accept";
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  ASSERT_EQ(0, stat(ConnPath(c.h.conn_id).c_str(), &st)) << strerror(errno);
  EXPECT_EQ(0600u, st.st_mode & 07777);
  EXPECT_EQ(0u, st.st_uid);

  // Listed in .conn.
  std::vector<std::string> names;
  if (DIR* d = opendir(P(LPC_CONN_DIR).c_str())) {
    while (dirent* e = readdir(d)) names.push_back(e->d_name);
    closedir(d);
  }
  EXPECT_NE(std::find(names.begin(), names.end(), std::to_string(c.h.conn_id)),
            names.end());

  done.Open();
  EXPECT_EQ(0, WaitExit(child));
  Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  ASSERT_TRUE(WaitFor([&] {
    return stat(ConnPath(c.h.conn_id).c_str(), &st) != 0 && errno == ENOENT;
  }));
}

TEST_F(ConnFileTest, BindingMovesTheConnectionsMessagesToTheFile) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  int cfd = client.fd.get();
  Opened other = Open(P("svc"), O_RDWR);  // a second, unbound connection
  ASSERT_OK(other.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Record c2 = Expect(srv.get(), LPC_REC_CONNECT);

  // Queued before binding: moves to the file.
  ASSERT_OK(WriteMsg(cfd, "early one"));
  ASSERT_OK(WriteMsg(other.fd.get(), "for the handle"));
  ASSERT_OK(WriteMsg(cfd, "early two"));
  ASSERT_TRUE(WaitFor([&] { return PollOnce(srv.get(), POLLIN, 0) > 0; }));

  Opened conn = Open(ConnPath(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  int sfd = conn.fd.get();
  std::string got;
  ASSERT_OK(ReadMsg(sfd, &got));
  EXPECT_EQ("early one", got);
  // Partial reads work here too.
  ASSERT_OK(ReadMsg(sfd, &got, 5));
  EXPECT_EQ("early", got);
  ASSERT_OK(ReadMsg(sfd, &got, 100));
  EXPECT_EQ(" two", got);

  // The other connection's message is still on the handle, and is the only
  // record there.
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c2.h.conn_id);
  EXPECT_EQ("for the handle", m.payload);
  EXPECT_TRUE(NoRecordQueued(srv.get()));

  // After binding, new messages come to the file only.
  ASSERT_OK(WriteMsg(cfd, "late"));
  ASSERT_OK(ReadMsg(sfd, &got));
  EXPECT_EQ("late", got);
  EXPECT_TRUE(NoRecordQueued(srv.get()));

  // Writes on the file reach the client, one message each.
  ASSERT_OK(WriteMsg(sfd, "to the client"));
  ASSERT_OK(WriteMsg(sfd, "again"));
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("to the client", got);
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("again", got);
  EXPECT_ERR(EMSGSIZE,
             WriteMsg(sfd, std::string(LPC_DEFAULT_MAX_MESSAGE + 1, 'x')));

  // The server handle still works for the bound connection's commands.
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "via the handle"));
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("via the handle", got);
}

TEST_F(ConnFileTest, ClosingTheFileEndsTheConnection) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int cfd = client.get();

  Opened conn1 = Open(ConnPath(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn1.err);
  Opened conn2 = Open(ConnPath(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn2.err);
  ASSERT_OK(WriteMsg(conn2.fd.get(), "parting words"));
  conn1.fd.reset();
  // Still open through the second file.
  ASSERT_OK(WriteMsg(cfd, "hello"));
  std::string got;
  ASSERT_OK(ReadMsg(conn2.fd.get(), &got));
  EXPECT_EQ("hello", got);
  EXPECT_TRUE(NoRecordQueued(srv.get()));

  conn2.fd.reset();  // the last one
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("parting words", got) << "queued messages are drained first";
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("", got) << "then EOF";
  EXPECT_ERR(EPIPE, WriteMsg(cfd, "anyone?"));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_SERVER_CLOSED}, d.h.flags);
  client.reset();
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find(" connections=0 ") != std::string::npos;
  })) << StatsText();
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "exactly one DISCONNECT";
}

TEST_F(ConnFileTest, ClientCloseGivesEofAndEpipeOnTheFile) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn = Open(ConnPath(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  int sfd = conn.fd.get();
  ASSERT_OK(WriteMsg(client.fd.get(), "last"));
  client.fd.reset();

  std::string got;
  ASSERT_OK(ReadMsg(sfd, &got));
  EXPECT_EQ("last", got);
  ASSERT_OK(ReadMsg(sfd, &got));
  EXPECT_EQ("", got) << "EOF after the client closed and the queue drained";
  EXPECT_ERR(EPIPE, WriteMsg(sfd, "reply"));
  int revents = PollOnce(sfd, POLLIN, 0);
  EXPECT_TRUE(revents & POLLHUP) << "revents 0x" << std::hex << revents;
  // The server handle hears of it once, whatever happens to the file.
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
  conn.fd.reset();
  ASSERT_TRUE(WaitFor([&] {
    return StatsText().find(" connections=0 ") != std::string::npos;
  })) << StatsText();
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(ConnFileTest, UnknownConnectionFileDoesNotExist) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_ERR(ENOENT, Open(ConnPath(424242), O_RDWR).err);
  // Nothing can be created in .conn.
  int err = Open(ConnPath(5), O_CREAT | O_EXCL | O_RDWR, 0600).err;
  EXPECT_NE(0, err);
}

TEST_F(ConnFileTest, OpeningAfterTheServerEndedItIsEnotconn) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Disconnect(srv.get(), c.h.conn_id));
  EXPECT_ERR(ENOTCONN, Open(ConnPath(c.h.conn_id), O_RDWR).err);
  Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  client.fd.reset();
  ASSERT_TRUE(WaitFor([&] {
    return Open(ConnPath(c.h.conn_id), O_RDWR).err == ENOENT;
  })) << "ENOENT once the connection has ended completely";
}

TEST_F(ConnFileTest, ReadOnlyOpenAlsoEndsTheConnectionWhenClosed) {
  // Like `cat /lpc/.conn/ID`.
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(WriteMsg(client.fd.get(), "read me"));
  {
    Opened ro = Open(ConnPath(c.h.conn_id), O_RDONLY);
    ASSERT_OK(ro.err);
    std::string got;
    ASSERT_OK(ReadMsg(ro.fd.get(), &got));
    EXPECT_EQ("read me", got);
  }
  std::string got;
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ("", got);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_SERVER_CLOSED},
            Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id).h.flags);
}

TEST_F(ConnFileTest, MessagesReadFromTheFileCannotBeRepliedTo) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn = Open(ConnPath(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  ASSERT_OK(WriteMsg(client.fd.get(), "question"));
  std::string got;
  ASSERT_OK(ReadMsg(conn.fd.get(), &got));
  EXPECT_EQ("question", got);
  EXPECT_ERR(ENOMSG, Reply(srv.get(), c.h.conn_id, 1, "answer"))
      << "ids of messages read from .conn/ID are not remembered";
  ASSERT_OK(WriteMsg(conn.fd.get(), "answer"));
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ("answer", got);
}

TEST_F(ConnFileTest, ZeroByteReadsAndWritesDoNothing) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(0, write(client.fd.get(), "", 0));
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "a 0-byte write sends nothing";
  char buf[1];
  EXPECT_EQ(0, read(client.fd.get(), buf, 0)) << "returns at once";
  Opened conn = Open(ConnPath(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  EXPECT_EQ(0, write(conn.fd.get(), "", 0));
  EXPECT_EQ(0, PollOnce(client.fd.get(), POLLIN, 0));
  EXPECT_EQ(0, read(conn.fd.get(), buf, 0));
}

TEST_F(ConnFileTest, TheConnFolderCannotBeChanged) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  std::string file = ConnPath(c.h.conn_id);
  EXPECT_ERR(EPERM, Open(P(".conn/new"), O_CREAT | O_EXCL | O_RDWR, 0600).err);
  EXPECT_NE(0, mkdir(P(".conn/dir").c_str(), 0755));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, unlink(file.c_str()));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, rename(file.c_str(), P("stolen").c_str()));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, rename(P("svc").c_str(), P(".conn/svc").c_str()));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, rmdir(P(".conn").c_str()));
  EXPECT_ERR(EBUSY, errno);
  EXPECT_NE(0, rename(P(".conn").c_str(), P("conn2").c_str()));
  EXPECT_ERR(EPERM, errno);
  struct stat st;
  ASSERT_EQ(0, stat(P(".conn").c_str(), &st));
  EXPECT_EQ(0555u, st.st_mode & 07777);
  EXPECT_EQ(0u, st.st_uid);
  EXPECT_EQ(0, stat(file.c_str(), &st)) << "still there";
}

TEST_F(ConnFileTest, ServerDisconnectDiscardsAndEndsTheFileAtOnce) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn = Open(ConnPath(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  ASSERT_OK(WriteMsg(client.fd.get(), "never read"));
  ASSERT_OK(Disconnect(srv.get(), c.h.conn_id));
  std::string got;
  ASSERT_OK(ReadMsg(conn.fd.get(), &got));
  EXPECT_EQ("", got) << "unread client messages are discarded";
  EXPECT_ERR(EPIPE, WriteMsg(conn.fd.get(), "late"));
  int revents = PollOnce(conn.fd.get(), POLLIN | POLLOUT, 0);
  EXPECT_EQ(POLLIN | POLLHUP, revents) << "revents 0x" << std::hex << revents;
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ("", got);
}

TEST_F(ConnFileTest, PollerWaitingForRoomWakesWhenTheClientReads) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn = Open(ConnPath(c.h.conn_id), O_RDWR | O_NONBLOCK);
  ASSERT_OK(conn.err);
  int sfd = conn.fd.get();
  int sent = 0;
  while (WriteMsg(sfd, "x") == 0) ++sent;
  EXPECT_EQ(64, sent) << "the default queue_messages";
  EXPECT_EQ(0, PollOnce(sfd, POLLOUT, 0));
  pid_t poller = Spawn([sfd] {
    CloseOtherFds({sfd});
    pollfd p{sfd, POLLOUT, 0};
    int n;
    do {
      n = poll(&p, 1, -1);
    } while (n < 0 && errno == EINTR);
    return n == 1 && (p.revents & POLLOUT) ? 0 : 1;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(poller, PollSyscalls()))
      << DescribeProc(poller);
  std::string got;
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ(0, WaitExit(poller));
  ASSERT_OK(WriteMsg(sfd, "y"));
}

}  // namespace
}  // namespace lpctest
