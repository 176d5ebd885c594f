// Back-pressure without loss, with the daemon's queues cut to 4 messages
// per connection and direction (lpc.7 "MESSAGES": Back-pressure).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

constexpr int kQueue = 4;
// In .stats: a connection's queue to the server holds kQueue messages.
constexpr char kFull[] = " to_server=4/";

class BackpressureTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "queue_messages=4"; }
};

std::string Numbered(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "m%03d", i);
  return buf;
}

TEST_F(BackpressureTest, HundredMessagesThroughASlowServerArriveInOrder) {
  constexpr int kCount = 100;
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();

  // The writer shares our client handle, so we can poll its state.
  pid_t writer = Spawn([fd] {
    for (int i = 0; i < kCount; ++i) {
      CHILD_CHECK_ERR(0, WriteMsg(fd, Numbered(i)));
    }
    return 0;
  });
  for (int i = 0; i < kCount; ++i) {
    if (i % 10 == 0 && i + kQueue < kCount) {
      // Read slowly: let the writer fill the queue and block first.
      ASSERT_TRUE(WaitForStats(kFull)) << StatsText();
      ASSERT_TRUE(WaitUntilBlockedIn(writer, WriteSyscalls()))
          << "message " << i << ": " << DescribeProc(writer);
      EXPECT_EQ(0, PollOnce(fd, POLLOUT, 0) & POLLOUT)
          << "a full queue is not writable";
    }
    Record m = Next(srv.get());
    ASSERT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type) << Describe(m);
    ASSERT_EQ(Numbered(i), m.payload) << "lost or reordered";
    ASSERT_EQ(static_cast<uint64_t>(i + 1), m.h.msg_id);
  }
  EXPECT_EQ(0, WaitExit(writer));
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "nothing extra";
  EXPECT_TRUE(PollOnce(fd, POLLOUT, 0) & POLLOUT);
}

TEST_F(BackpressureTest, NonblockingWriterGetsEagainThenPollout) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR | O_NONBLOCK);
  ASSERT_OK(client.err);
  int fd = client.fd.get();
  Record c = Expect(srv.get(), LPC_REC_CONNECT);

  for (int i = 0; i < kQueue; ++i) {
    ASSERT_OK(WriteMsg(fd, Numbered(i))) << "message " << i << " fits";
  }
  EXPECT_ERR(EAGAIN, WriteMsg(fd, "one too many"));
  EXPECT_EQ(0, PollOnce(fd, POLLOUT, 0) & POLLOUT);

  // A poller waiting for POLLOUT wakes once the server makes room.
  pid_t poller = Spawn([fd] {
    pollfd p{fd, POLLOUT, 0};
    int n;
    do {
      n = poll(&p, 1, -1);
    } while (n < 0 && errno == EINTR);
    return n == 1 && (p.revents & POLLOUT) ? 0 : 1;
  });
  ASSERT_TRUE(WaitUntilBlockedIn(poller, PollSyscalls()))
      << DescribeProc(poller);
  EXPECT_EQ("m000", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_EQ(0, WaitExit(poller));
  ASSERT_OK(WriteMsg(fd, "m004"));
  EXPECT_ERR(EAGAIN, WriteMsg(fd, "full again"));
  for (int i = 1; i <= kQueue; ++i) {
    EXPECT_EQ(Numbered(i),
              Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "refused writes were not queued";
}

TEST_F(BackpressureTest, ServerSendsWaitOrGetEagainOnAFullClientQueue) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int cfd = client.get();
  ASSERT_OK(WriteMsg(cfd, "question"));
  Record q = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);

  for (int i = 0; i < kQueue; ++i) {
    ASSERT_OK(Send(srv.get(), c.h.conn_id, Numbered(i)));
  }
  ASSERT_OK(SetNonblocking(srv.get(), true));
  EXPECT_ERR(EAGAIN, Send(srv.get(), c.h.conn_id, "too many"));
  // A REPLY that could not be queued can be sent again later.
  EXPECT_ERR(EAGAIN, Reply(srv.get(), c.h.conn_id, q.h.msg_id, "answer"));
  ASSERT_OK(SetNonblocking(srv.get(), false));

  // A blocking SEND waits (in a child sharing the handle) until the client
  // reads.
  int sfd = srv.get();
  uint64_t id = c.h.conn_id;
  uint64_t qid = q.h.msg_id;
  pid_t sender =
      Spawn([sfd, id, qid] { return Reply(sfd, id, qid, "answer"); });
  ASSERT_TRUE(WaitUntilBlockedIn(sender, WriteSyscalls()))
      << DescribeProc(sender);
  std::string got;
  for (int i = 0; i < kQueue; ++i) {
    ASSERT_OK(ReadMsg(cfd, &got));
    EXPECT_EQ(Numbered(i), got);
  }
  EXPECT_EQ(0, WaitExit(sender));
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("answer", got);
}

TEST_F(BackpressureTest, InterruptedBlockedWriteIsNotDelivered) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  pid_t writer = Spawn([fd] {
    CatchWithoutRestart(SIGUSR1);
    for (int i = 0; i < kQueue; ++i) {
      CHILD_CHECK_ERR(0, WriteMsg(fd, Numbered(i)));
    }
    CHILD_CHECK_ERR(EINTR, WriteMsg(fd, "interrupted"));
    return 0;
  });
  // Full, and the writer is in its next write: that one waits.
  ASSERT_TRUE(WaitForStats(kFull)) << StatsText();
  ASSERT_TRUE(WaitUntilBlockedIn(writer, WriteSyscalls()))
      << DescribeProc(writer);
  kill(writer, SIGUSR1);
  EXPECT_EQ(0, WaitExit(writer));
  for (int i = 0; i < kQueue; ++i) {
    EXPECT_EQ(Numbered(i),
              Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "the interrupted message must not arrive";
  ASSERT_OK(WriteMsg(fd, "next"));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("next", m.payload);
  EXPECT_EQ(static_cast<uint64_t>(kQueue + 1), m.h.msg_id);
}

TEST_F(BackpressureTest, KilledBlockedWriterIsReaped) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t writer = Spawn([path] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    for (int i = 0;; ++i) WriteMsg(o.fd.get(), Numbered(i));
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  // Full, and the writer is in its next write: that one waits.
  ASSERT_TRUE(WaitForStats(kFull)) << StatsText();
  ASSERT_TRUE(WaitUntilBlockedIn(writer, WriteSyscalls()))
      << DescribeProc(writer);
  kill(writer, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, WaitExit(writer));
  for (int i = 0; i < kQueue; ++i) {
    EXPECT_EQ(Numbered(i),
              Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  }
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
}

// What happened to a write() made by a child process.
enum class WriteFate { kFinished, kStuckBehindInodeLock };

constexpr char kInodeLockBug[] =
    "DAEMON BUG (inode lock): this write() never reached lpcfs. It sleeps "
    "uninterruptibly in the kernel (state D, wchan fuse_file_write_iter: the "
    "port inode's lock) because another process's write() on the same port "
    "is parked in the daemon waiting for queue room, holding that lock. The "
    "kernel takes it exclusively for a direct write unless the open has "
    "FOPEN_PARALLEL_DIRECT_WRITES, the write is not O_APPEND and it ends "
    "within i_size. lpc.7 THREADS: a write that waits for room must not "
    "hold up other writes to the port. ";

// Waits until the child's write finished (the child is a zombie) or the
// child is stuck in D state on an inode lock in the write path.
WriteFate Watch(pid_t child) {
  WriteFate fate = WriteFate::kFinished;
  WaitFor([&] {
    char state = ProcState(child);
    if (state == 'Z' || state == 0) return true;
    if (state == 'D' && ProcWchan(child).find("write") != std::string::npos) {
      fate = WriteFate::kStuckBehindInodeLock;
      return true;
    }
    return false;
  });
  return fate;
}

// A client child that fills its queue (kQueue messages) and then waits in
// the next write(), whose result it checks against `last_write_errno`.
pid_t SpawnParkedWriter(const std::string& path, int last_write_errno,
                        bool then_read_hello = false, int flags = O_RDWR) {
  pid_t writer = Spawn([path, last_write_errno, then_read_hello, flags] {
    CloseOtherFds({});
    Opened o = Open(path, flags);
    CHILD_CHECK_ERR(0, o.err);
    for (int i = 0; i < kQueue; ++i) {
      CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), Numbered(i)));
    }
    CHILD_CHECK_ERR(last_write_errno, WriteMsg(o.fd.get(), "parked"));
    if (then_read_hello) {
      std::string got;
      CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
      CHILD_CHECK(got == "hello");
    }
    return 0;
  });
  return writer;
}

TEST_F(BackpressureTest, BlockedWriterGetsEpipeWhenTheServerDisconnects) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  pid_t writer = SpawnParkedWriter(P("svc"), EPIPE);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  // Full, and the writer is in its next write: that one waits.
  ASSERT_TRUE(WaitForStats(kFull)) << StatsText();
  ASSERT_TRUE(WaitUntilBlockedIn(writer, WriteSyscalls()))
      << DescribeProc(writer);

  // The DISCONNECT is written by a child, so a write stuck in the kernel
  // can be seen (and undone) instead of hanging the test.
  int sfd = srv.get();
  uint64_t id = c.h.conn_id;
  pid_t server = Spawn([sfd, id] { return Disconnect(sfd, id); });
  if (Watch(server) == WriteFate::kStuckBehindInodeLock) {
    ADD_FAILURE() << kInodeLockBug
                  << "Server DISCONNECT: " << DescribeProc(server);
    kill(writer, SIGKILL);  // ends the parked write, releasing the lock
    WaitExit(writer);
    WaitExit(server);
    return;
  }
  EXPECT_OK(WaitExit(server));
  EXPECT_EQ(0, WaitExit(writer)) << "the waiting write fails EPIPE";
  // Unread messages were discarded with the connection; only its end is
  // left.
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_SERVER_CLOSED}, d.h.flags);
}

TEST_F(BackpressureTest, ServerCanSendWhileAClientWriteWaits) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  pid_t writer = SpawnParkedWriter(P("svc"), 0, /*then_read_hello=*/true);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitForStats(kFull)) << StatsText();
  ASSERT_TRUE(WaitUntilBlockedIn(writer, WriteSyscalls()))
      << DescribeProc(writer);

  // The client's queue is empty: this SEND must not wait.
  int sfd = srv.get();
  uint64_t id = c.h.conn_id;
  pid_t server = Spawn([sfd, id] { return Send(sfd, id, "hello"); });
  if (Watch(server) == WriteFate::kStuckBehindInodeLock) {
    ADD_FAILURE() << kInodeLockBug << "Server SEND: " << DescribeProc(server);
    kill(writer, SIGKILL);
    WaitExit(writer);
    WaitExit(server);
    return;
  }
  EXPECT_OK(WaitExit(server));
  for (int i = 0; i <= kQueue; ++i) {
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    EXPECT_EQ(i < kQueue ? Numbered(i) : "parked", m.payload);
  }
  EXPECT_EQ(0, WaitExit(writer));
}

TEST_F(BackpressureTest, OtherClientsCanWriteWhileOneWaits) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened other = Open(P("svc"), O_RDWR);
  ASSERT_OK(other.err);
  Record co = Expect(srv.get(), LPC_REC_CONNECT);
  pid_t writer = SpawnParkedWriter(P("svc"), 0);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitForStats(kFull)) << StatsText();
  ASSERT_TRUE(WaitUntilBlockedIn(writer, WriteSyscalls()))
      << DescribeProc(writer);

  // Another connection of the same port has room: its write must not wait.
  int ofd = other.fd.get();
  pid_t client = Spawn([ofd] { return WriteMsg(ofd, "independent"); });
  if (Watch(client) == WriteFate::kStuckBehindInodeLock) {
    ADD_FAILURE() << kInodeLockBug
                  << "Other client's write: " << DescribeProc(client);
    kill(writer, SIGKILL);
    WaitExit(writer);
    WaitExit(client);
    return;
  }
  EXPECT_OK(WaitExit(client));
  bool seen = false;
  for (int i = 0; i < kQueue + 2; ++i) {
    Record m = Next(srv.get());
    ASSERT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type) << Describe(m);
    if (m.h.conn_id == co.h.conn_id) {
      EXPECT_EQ("independent", m.payload);
      seen = true;
    } else {
      EXPECT_EQ(c.h.conn_id, m.h.conn_id);
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(0, WaitExit(writer));
}

TEST_F(BackpressureTest, InterruptedWaitingReplyCanBeSentAgain) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int cfd = client.get();
  ASSERT_OK(WriteMsg(cfd, "question"));
  Record q = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  for (int i = 0; i < kQueue; ++i) {
    ASSERT_OK(Send(srv.get(), c.h.conn_id, Numbered(i)));
  }
  int sfd = srv.get();
  uint64_t id = c.h.conn_id;
  uint64_t qid = q.h.msg_id;
  pid_t replier = Spawn([sfd, id, qid] {
    CatchWithoutRestart(SIGUSR1);
    return Reply(sfd, id, qid, "answer");
  });
  ASSERT_TRUE(WaitUntilBlockedIn(replier, WriteSyscalls()))
      << DescribeProc(replier);
  kill(replier, SIGUSR1);
  EXPECT_ERR(EINTR, WaitExit(replier));
  std::string got;
  for (int i = 0; i < kQueue; ++i) {
    ASSERT_OK(ReadMsg(cfd, &got));
    EXPECT_EQ(Numbered(i), got);
  }
  EXPECT_EQ(0, PollOnce(cfd, POLLIN, 0)) << "the interrupted reply is not sent";
  // The message still waits for its answer.
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, q.h.msg_id, "answer"));
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("answer", got);
}

TEST_F(BackpressureTest, AppendModeWriterDoesNotHoldUpOtherWrites) {
  // `>>` opens with O_APPEND. Whatever a full queue does to such a writer
  // (see the next test), it must not hold up the port's other writes: the
  // kernel locks the inode exclusively around every O_APPEND direct write.
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened other = Open(P("svc"), O_RDWR);
  ASSERT_OK(other.err);
  Record co = Expect(srv.get(), LPC_REC_CONNECT);
  std::string path = P("svc");
  Gate full;
  pid_t writer = Spawn([path, &full] {
    Opened o = Open(path, O_WRONLY | O_APPEND);
    CHILD_CHECK_ERR(0, o.err);
    for (int i = 0; i < kQueue; ++i) {
      CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), Numbered(i)));
    }
    full.Open();
    int err = WriteMsg(o.fd.get(), "one more");
    CHILD_CHECK(err == 0 || err == EAGAIN);
    return err;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(full.Wait());
  // Either the fifth write is parked in the daemon (then it holds the inode
  // lock) or it has failed at once.
  ASSERT_TRUE(WaitFor([&] {
    char state = ProcState(writer);
    return state == 'Z' ||
           (state == 'S' && ProcWchan(writer) == "request_wait_answer");
  })) << DescribeProc(writer);
  int sfd = srv.get();
  uint64_t id = co.h.conn_id;
  pid_t server = Spawn([sfd, id] { return Send(sfd, id, "hello"); });
  if (Watch(server) == WriteFate::kStuckBehindInodeLock) {
    ADD_FAILURE() << kInodeLockBug
                  << "Here the waiting write is an O_APPEND client's (bash "
                     ">>). Server SEND to another client: "
                  << DescribeProc(server);
    kill(writer, SIGKILL);
    WaitExit(writer);
    WaitExit(server);
    return;
  }
  EXPECT_OK(WaitExit(server));
  std::string got;
  ASSERT_OK(ReadMsg(other.fd.get(), &got));
  EXPECT_EQ("hello", got);
  for (int i = 0; i < kQueue; ++i) {
    Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  }
  int last = WaitExit(writer);
  EXPECT_TRUE(last == 0 || last == EAGAIN) << ErrName(last);
}

TEST_F(BackpressureTest, AppendModeWriteToAFullQueueFailsEagain) {
  // lpc.7 MESSAGES: the kernel locks the whole port for an append-mode
  // write, so such a write never waits; a full queue gives EAGAIN and
  // nothing already queued is lost.
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened appender = Open(P("svc"), O_WRONLY | O_APPEND);
  ASSERT_OK(appender.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  for (int i = 0; i < kQueue; ++i) {
    ASSERT_OK(WriteMsg(appender.fd.get(), Numbered(i)));
  }
  EXPECT_ERR(EAGAIN, WriteMsg(appender.fd.get(), "one too many"));
  for (int i = 0; i < kQueue; ++i) {
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    EXPECT_EQ(Numbered(i), m.payload);
  }
  EXPECT_OK(WriteMsg(appender.fd.get(), "room again"));
  EXPECT_EQ("room again",
            Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
}

TEST_F(BackpressureTest, TruncatingOpensKeepWritesParallel) {
  // The shell's `>` opens with O_TRUNC. The port must keep its size, or
  // every later write would end past it and lock the whole port.
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  {
    Opened shell_like = Open(P("svc"), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    ASSERT_OK(shell_like.err);
    Record c = Expect(srv.get(), LPC_REC_CONNECT);
    ASSERT_EQ(0, truncate(P("svc").c_str(), 0)) << strerror(errno);
    struct stat st;
    ASSERT_EQ(0, stat(P("svc").c_str(), &st));
    EXPECT_EQ(static_cast<off_t>(LPC_STREAM_SIZE), st.st_size);
    shell_like.fd.reset();
    Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  }
  pid_t writer = SpawnParkedWriter(P("svc"), 0, /*then_read_hello=*/false,
                                   O_WRONLY | O_TRUNC | O_CREAT);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitForStats(kFull)) << StatsText();
  ASSERT_TRUE(WaitUntilBlockedIn(writer, WriteSyscalls()))
      << DescribeProc(writer);
  int sfd = srv.get();
  uint64_t id = c.h.conn_id;
  pid_t server = Spawn([sfd, id] { return Send(sfd, id, "hello"); });
  if (Watch(server) == WriteFate::kStuckBehindInodeLock) {
    ADD_FAILURE() << kInodeLockBug << "After O_TRUNC opens. Server SEND: "
                  << DescribeProc(server);
    kill(writer, SIGKILL);
    WaitExit(writer);
    WaitExit(server);
    return;
  }
  EXPECT_OK(WaitExit(server));
  for (int i = 0; i <= kQueue; ++i) {
    Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  }
  EXPECT_EQ(0, WaitExit(writer));
}

TEST_F(BackpressureTest, PartlyReadMessagesStillCount) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR | O_NONBLOCK);
  ASSERT_OK(client.err);
  int cfd = client.fd.get();
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  Opened conn =
      Open(P(std::string(LPC_CONN_DIR) + "/" + std::to_string(c.h.conn_id)),
           O_RDWR | O_NONBLOCK);
  ASSERT_OK(conn.err);
  int sfd = conn.fd.get();
  std::string got;

  // Client to server, read from .conn/ID.
  for (int i = 0; i < kQueue; ++i) ASSERT_OK(WriteMsg(cfd, Numbered(i)));
  EXPECT_ERR(EAGAIN, WriteMsg(cfd, "more"));
  ASSERT_OK(ReadMsg(sfd, &got, 1));
  EXPECT_EQ("m", got);
  EXPECT_EQ(0, PollOnce(cfd, POLLOUT, 0)) << "counted until all is read";
  EXPECT_ERR(EAGAIN, WriteMsg(cfd, "more"));
  ASSERT_OK(ReadMsg(sfd, &got));
  EXPECT_EQ("000", got);
  EXPECT_EQ(POLLOUT, PollOnce(cfd, POLLOUT, 0));
  ASSERT_OK(WriteMsg(cfd, "more"));

  // Server to client, written to .conn/ID.
  EXPECT_EQ(POLLOUT, PollOnce(sfd, POLLOUT, 0));
  for (int i = 0; i < kQueue; ++i) ASSERT_OK(WriteMsg(sfd, Numbered(i)));
  EXPECT_EQ(0, PollOnce(sfd, POLLOUT, 0));
  EXPECT_ERR(EAGAIN, WriteMsg(sfd, "more"));
  ASSERT_OK(ReadMsg(cfd, &got, 2));
  EXPECT_EQ("m0", got);
  EXPECT_EQ(0, PollOnce(sfd, POLLOUT, 0));
  ASSERT_OK(ReadMsg(cfd, &got));
  EXPECT_EQ("00", got);
  EXPECT_EQ(POLLOUT, PollOnce(sfd, POLLOUT, 0));
  ASSERT_OK(WriteMsg(sfd, "more"));
}

class QueueBytesTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "queue_bytes=512"; }
};

TEST_F(QueueBytesTest, QueueIsAlsoBoundedInBytes) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR | O_NONBLOCK);
  ASSERT_OK(client.err);
  int fd = client.fd.get();
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  std::string big(200, 'b');
  ASSERT_OK(WriteMsg(fd, big));
  ASSERT_OK(WriteMsg(fd, big));
  EXPECT_ERR(EAGAIN, WriteMsg(fd, big)) << "600 bytes > queue_bytes=512";
  Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  ASSERT_OK(WriteMsg(fd, big));
}

TEST_F(QueueBytesTest, WaitingWritersAreServedInOrder) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  std::string big(200, 'b');
  ASSERT_OK(WriteMsg(fd, big));
  ASSERT_OK(WriteMsg(fd, big));
  // A third big message waits (600 > 512 bytes)...
  pid_t waiting = Spawn([fd, big] { return WriteMsg(fd, "3" + big); });
  ASSERT_TRUE(WaitUntilBlockedIn(waiting, WriteSyscalls()))
      << DescribeProc(waiting);
  ASSERT_TRUE(WaitForStats(" to_server=2/400 ")) << StatsText();
  // ...and a small one that would fit may not pass it.
  ASSERT_OK(SetNonblocking(fd, true));
  EXPECT_ERR(EAGAIN, WriteMsg(fd, "small"));
  ASSERT_OK(SetNonblocking(fd, false));
  EXPECT_EQ(big, Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_OK(WaitExit(waiting));
  ASSERT_OK(WriteMsg(fd, "small"));
  EXPECT_EQ(big, Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_EQ("3" + big, Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_EQ("small", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
}

TEST_F(BackpressureTest, WaitingSendFailsWithEpipeWhenTheClientCloses) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  for (int i = 0; i < kQueue; ++i) {
    ASSERT_OK(Send(srv.get(), c.h.conn_id, Numbered(i)));
  }
  int sfd = srv.get();
  uint64_t id = c.h.conn_id;
  pid_t sender = Spawn([sfd, id] {
    CloseOtherFds({sfd});  // no copy of the client's handle
    return Send(sfd, id, "waiting");
  });
  ASSERT_TRUE(WaitUntilBlockedIn(sender, WriteSyscalls()))
      << DescribeProc(sender);
  ASSERT_TRUE(WaitForStats(" to_client=4/")) << StatsText();
  client.fd.reset();
  EXPECT_ERR(EPIPE, WaitExit(sender));
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED},
            Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id).h.flags);
}

TEST_F(QueueBytesTest, PolloutMeansRoomForTheLargestMessage) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR | O_NONBLOCK);
  ASSERT_OK(client.err);
  int fd = client.fd.get();
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  std::string big(200, 'b');
  ASSERT_OK(WriteMsg(fd, big));
  EXPECT_EQ(POLLOUT, PollOnce(fd, POLLOUT, 0)) << "312 bytes left";
  ASSERT_OK(WriteMsg(fd, big));
  EXPECT_EQ(0, PollOnce(fd, POLLOUT, 0))
      << "112 bytes left: a 256-byte message would not fit";
  ASSERT_OK(WriteMsg(fd, std::string(100, 's'))) << "a small one still fits";
  Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(POLLOUT, PollOnce(fd, POLLOUT, 0));
}

}  // namespace
}  // namespace lpctest
