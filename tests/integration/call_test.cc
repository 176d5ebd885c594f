// LPC_IOC_CALL on a client port: one ioctl sends a message and waits for
// the server's LPC_REC_REPLY to it (lpc.h "ioctls", lpc.7 "IOCTLS"). The
// reply goes to the waiting call, never to read(); calls share message ids
// with plain writes; many threads may call on one descriptor at once.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ioctl_buffer.h"
#include "mount_fixture.h"

namespace lpctest {
namespace {

class CallTest : public MountTest {};

// Reads the next MESSAGE of `conn`, which must be a call, and replies to it
// with `reply`. Returns the message (type 0 on failure).
Record AnswerCall(int srv, uint64_t conn, const std::string& reply);

TEST_F(CallTest, ReplyComesBackWithItsIdAndTheServersIdentity) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  // A plain message first: calls take their ids from the same sequence.
  ASSERT_OK(WriteMsg(client.get(), "plain"));
  Record plain = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(0u, plain.h.flags & LPC_MESSAGE_CALL);

  // The server's reply is written by another process with another gid, so
  // the reply record must name that writer, not the port's creator.
  int sfd = srv.get();
  uint64_t conn = c.h.conn_id;
  pid_t server = Spawn([sfd, conn] {
    CHILD_CHECK_ERR(0, BecomeUser(0, 777));
    Record m;
    CHILD_CHECK_ERR(0, ReadRecord(sfd, &m));
    CHILD_CHECK(m.h.type == LPC_REC_MESSAGE && m.h.conn_id == conn);
    CHILD_CHECK(m.h.flags & LPC_MESSAGE_CALL);
    CHILD_CHECK(m.payload == "question");
    CHILD_CHECK_ERR(0, Reply(sfd, conn, m.h.msg_id, "answer"));
    return 0;
  });
  CallResult r = CallOnce(client.get(), "question");
  ASSERT_OK(r.err);
  ASSERT_TRUE(r.framing_ok);
  EXPECT_EQ(1u, r.t.sent);
  EXPECT_EQ(1u, r.t.received);
  EXPECT_EQ(0, r.t.send_error);
  EXPECT_EQ(plain.h.msg_id + 1, r.t.first_msg_id);
  EXPECT_EQ(uint32_t{LPC_REC_REPLY}, r.reply.h.type) << Describe(r.reply);
  EXPECT_EQ(c.h.conn_id, r.reply.h.conn_id);
  EXPECT_EQ(r.t.first_msg_id, r.reply.h.msg_id);
  EXPECT_EQ(static_cast<uint32_t>(server), r.reply.h.pid);
  EXPECT_EQ(0u, r.reply.h.uid);
  EXPECT_EQ(777u, r.reply.h.gid);
  EXPECT_EQ("answer", r.reply.payload);
  EXPECT_EQ(0, WaitExit(server));
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(CallTest, SendLengthMayIncludeTheRecordsPadding) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  IoctlBuffer buf(256);
  ASSERT_TRUE(buf.AddMessage("five!"));
  buf.header().send_length = LPC_RECORD_SPACE(5);
  std::jthread server([&] { AnswerCall(srv.get(), c.h.conn_id, "ok"); });
  int err = buf.Call(client.get());
  server.join();
  ASSERT_OK(err);
  std::vector<Record> got;
  ASSERT_TRUE(buf.Parse(&got));
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ("ok", got[0].payload);
}

TEST_F(CallTest, ReplyLargerThanTheCallersRoomFailsForTheServerOnly) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  // Room for 64 payload bytes. (The daemon refuses call buffers whose
  // data[] cannot hold two record headers, total < 144, with EINVAL.)
  constexpr size_t kRoom = 64;
  BackgroundCall call(client.get(), "q", kCallOverhead + kRoom);
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_ERR(EMSGSIZE, Reply(srv.get(), c.h.conn_id, m.h.msg_id,
                             std::string(kRoom + 1, 'x')));
  // The call still waits, and the id is still open for a reply that fits.
  EXPECT_FALSE(call.done());
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, std::string(kRoom, 'y')));
  CallResult r = call.Wait();
  ASSERT_OK(r.err);
  ASSERT_TRUE(r.framing_ok);
  EXPECT_EQ(m.h.msg_id, r.reply.h.msg_id);
  EXPECT_EQ(std::string(kRoom, 'y'), r.reply.payload);
}

TEST_F(CallTest, OnlyClientPortsTakeCalls) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  Opened conn = Open(ConnFile(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  Opened stats = Open(P(LPC_STATS_FILE), O_RDONLY);
  ASSERT_OK(stats.err);
  EXPECT_ERR(ENOTTY, CallOnce(srv.get(), "to the server handle").err);
  EXPECT_ERR(ENOTTY, CallOnce(conn.fd.get(), "to .conn").err);
  EXPECT_ERR(ENOTTY, CallOnce(stats.fd.get(), "to .stats").err);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(CallTest, ClientPortOpenedForOneDirectionOnlyFailsEbadf) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  for (int flags : {O_WRONLY, O_RDONLY}) {
    Opened client = Open(P("svc"), flags);
    ASSERT_OK(client.err);
    Record c = Expect(srv.get(), LPC_REC_CONNECT);
    EXPECT_ERR(EBADF, CallOnce(client.fd.get(), "q").err)
        << (flags == O_WRONLY ? "O_WRONLY" : "O_RDONLY");
    client.fd.reset();
    Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(CallTest, MalformedCallsFailEinvalAndSendNothing) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  // Each case spoils one thing of a well-formed call of "hello".
  struct Case {
    const char* what;
    void (*spoil)(lpc_transfer&, lpc_record&);
  };
  const Case cases[] = {
      {"record type SEND",
       [](lpc_transfer&, lpc_record& h) { h.type = LPC_REC_SEND; }},
      {"record type REPLY",
       [](lpc_transfer&, lpc_record& h) { h.type = LPC_REC_REPLY; }},
      {"record type 0", [](lpc_transfer&, lpc_record& h) { h.type = 0; }},
      {"conn_id", [](lpc_transfer&, lpc_record& h) { h.conn_id = 1; }},
      {"msg_id", [](lpc_transfer&, lpc_record& h) { h.msg_id = 1; }},
      {"pid", [](lpc_transfer&, lpc_record& h) { h.pid = 1; }},
      {"uid", [](lpc_transfer&, lpc_record& h) { h.uid = 1; }},
      {"gid", [](lpc_transfer&, lpc_record& h) { h.gid = 1; }},
      {"record flags",
       [](lpc_transfer&, lpc_record& h) { h.flags = LPC_MESSAGE_CALL; }},
      {"status", [](lpc_transfer&, lpc_record& h) { h.status = 1; }},
      {"record reserved", [](lpc_transfer&, lpc_record& h) { h.reserved = 1; }},
      {"header reserved", [](lpc_transfer& t, lpc_record&) { t.reserved = 1; }},
      {"unknown header flag",
       [](lpc_transfer& t, lpc_record&) { t.flags = 0x80; }},
      {"max_records", [](lpc_transfer& t, lpc_record&) { t.max_records = 2; }},
      {"send_length one short",
       [](lpc_transfer& t, lpc_record&) { t.send_length -= 1; }},
      {"send_length past the padding",
       [](lpc_transfer& t, lpc_record&) {
         t.send_length = LPC_RECORD_SPACE(5) + 8;
       }},
      {"send_length 0",
       [](lpc_transfer& t, lpc_record&) { t.send_length = 0; }},
      {"length past send_length",
       [](lpc_transfer&, lpc_record& h) { h.length = 6; }},
      {"length 0, payload after it",
       [](lpc_transfer&, lpc_record& h) { h.length = 0; }},
  };
  for (const Case& k : cases) {
    IoctlBuffer buf(512);
    ASSERT_TRUE(buf.AddMessage("hello"));
    lpc_record h;
    std::memcpy(&h, buf.data(), sizeof h);
    k.spoil(buf.header(), h);
    std::memcpy(buf.data(), &h, sizeof h);
    EXPECT_ERR(EINVAL, buf.Call(fd)) << k.what;
  }
  {
    IoctlBuffer two(512);
    ASSERT_TRUE(two.AddMessage("hello"));
    ASSERT_TRUE(two.AddMessage("again"));
    EXPECT_ERR(EINVAL, two.Call(fd)) << "two records";
  }
  // An ioctl buffer smaller than its header.
  {
    IoctlBuffer small(64);
    EXPECT_ERR(EINVAL, small.Call(fd)) << "size 64";
    IoctlBuffer header_only(95);
    EXPECT_ERR(EINVAL, header_only.Call(fd)) << "size 95";
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()));
  // The connection is unharmed: a well-formed call still works.
  std::jthread server([&] { AnswerCall(srv.get(), c.h.conn_id, "fine"); });
  CallResult r = CallOnce(fd, "hello");
  server.join();
  ASSERT_OK(r.err);
  EXPECT_EQ("fine", r.reply.payload);
}

TEST_F(CallTest, RequestOverTheMessageLimitFailsEmsgsize) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  // The server takes short messages only (lpc_port_limits).
  ASSERT_OK(SetPortLimits(srv.get(), LPC_MAX_MESSAGE, LPC_PORT_AUTO_ACCEPT));
  EXPECT_ERR(EMSGSIZE,
             CallOnce(client.get(), std::string(LPC_MAX_MESSAGE + 1, 'x')).err);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
  // Exactly the limit is a message.
  BackgroundCall call(client.get(), std::string(LPC_MAX_MESSAGE, 'y'));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(size_t{LPC_MAX_MESSAGE}, m.payload.size());
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "ok"));
  EXPECT_OK(call.Wait().err);
}

TEST_F(CallTest, ServerClosingItsHandleWhileTheCallWaitsGivesEpipe) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  BackgroundCall call(client.get(), "q");
  Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  srv.reset();
  EXPECT_ERR(EPIPE, call.Wait().err);
  // And so does every later call.
  EXPECT_ERR(EPIPE, CallOnce(client.get(), "again").err);
}

TEST_F(CallTest, ServerDisconnectingWhileTheCallWaitsGivesEpipe) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  BackgroundCall call(client.get(), "q");
  Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  ASSERT_OK(Disconnect(srv.get(), c.h.conn_id));
  EXPECT_ERR(EPIPE, call.Wait().err);
}

TEST_F(CallTest, TimeoutBeforeTheServerReadTheCallWithdrawsIt) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  CallResult r = CallOnce(client.get(), "too late", 4096, 20);
  EXPECT_ERR(ETIMEDOUT, r.err);
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "a call that timed out before the server read it is withdrawn";
  // The next message is the first the server sees.
  ASSERT_OK(WriteMsg(client.get(), "next"));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("next", m.payload);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(CallTest, TimeoutAfterTheServerReadTheCallCancelsIt) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  // The server must read the message before the call times out; on a
  // loaded machine it may not, so try with longer timeouts. A call that
  // timed out unread was withdrawn: nothing is queued then.
  Record m;
  CallResult r;
  ASSERT_OK(SetNonblocking(srv.get(), true));
  for (uint32_t timeout : {200u, 2000u, 10000u}) {
    BackgroundCall call(client.get(), "slow", 4096, timeout);
    ASSERT_TRUE(WaitFor(
        [&] { return call.done() || PollOnce(srv.get(), POLLIN, 0) > 0; }));
    int err = ReadRecord(srv.get(), &m);
    r = call.Wait();
    EXPECT_ERR(ETIMEDOUT, r.err);
    if (err == 0) break;
    EXPECT_ERR(EAGAIN, err) << "withdrawn before the server read it";
  }
  ASSERT_OK(SetNonblocking(srv.get(), false));
  ASSERT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type)
      << "the server never read the call in time";
  EXPECT_EQ(c.h.conn_id, m.h.conn_id);
  EXPECT_TRUE(m.h.flags & LPC_MESSAGE_CALL);
  Record cancel = Expect(srv.get(), LPC_REC_CANCEL, c.h.conn_id);
  EXPECT_EQ(m.h.msg_id, cancel.h.msg_id);
  EXPECT_EQ(uint32_t{LPC_CANCEL_TIMED_OUT}, cancel.h.flags);
  EXPECT_EQ(0u, cancel.h.length);
  // The late reply is accepted and dropped.
  EXPECT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "late"));
  std::string line = ConnStatsLine(c.h.conn_id);
  EXPECT_TRUE(line.find(" calls=0 replies_dropped=1 ") != std::string::npos)
      << line;
  ASSERT_OK(SetNonblocking(client.get(), true));
  std::string got;
  EXPECT_ERR(EAGAIN, ReadMsg(client.get(), &got)) << "read \"" << got << "\"";
}

TEST_F(CallTest, SixteenThreadsOnOneFdEachGetTheirOwnReply) {
  constexpr int kThreads = 16;
  constexpr int kCalls = 200;
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int sfd = srv.get();
  uint64_t conn = c.h.conn_id;
  // The server answers every call with its own tag and the request, in
  // the order it reads them; it counts the ids it saw.
  std::map<uint64_t, int> seen;
  std::jthread server([&] {
    for (int i = 0; i < kThreads * kCalls; ++i) {
      Record m = Next(sfd);
      if (m.h.type != LPC_REC_MESSAGE) {
        ADD_FAILURE() << "got " << Describe(m);
        return;
      }
      EXPECT_TRUE(m.h.flags & LPC_MESSAGE_CALL) << Describe(m);
      ++seen[m.h.msg_id];
      std::string reply = "srv:" + std::to_string(i) + ":" + m.payload;
      if (Reply(sfd, conn, m.h.msg_id, reply) != 0) {
        ADD_FAILURE() << "reply to " << Describe(m);
        return;
      }
    }
  });
  std::atomic<int> wrong{0}, failed{0}, good{0};
  std::mutex report_mu;
  std::vector<std::string> reports;
  std::vector<std::jthread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCalls && !WatchdogFired(); ++i) {
        std::string tag = "t" + std::to_string(t) + "#" + std::to_string(i);
        CallResult r = CallOnce(client.get(), tag);
        if (r.err != 0 || !r.framing_ok) {
          ++failed;
          std::lock_guard lock(report_mu);
          reports.push_back(tag + ": " + ErrName(r.err));
          return;
        }
        const std::string& p = r.reply.payload;
        bool mine = r.reply.h.msg_id == r.t.first_msg_id &&
                    p.size() > tag.size() &&
                    p.compare(p.size() - tag.size() - 1, std::string::npos,
                              ":" + tag) == 0;
        if (!mine) {
          ++wrong;
          std::lock_guard lock(report_mu);
          reports.push_back(tag + " (msg " + std::to_string(r.t.first_msg_id) +
                            ") got msg " + std::to_string(r.reply.h.msg_id) +
                            " \"" + p + "\"");
        } else {
          ++good;
        }
      }
    });
  }
  for (std::jthread& t : callers) t.join();
  server.join();
  for (const std::string& s : reports) ADD_FAILURE() << s;
  EXPECT_EQ(0, wrong.load()) << "replies that went to another thread's call";
  EXPECT_EQ(0, failed.load());
  EXPECT_EQ(kThreads * kCalls, good.load());
  EXPECT_EQ(static_cast<size_t>(kThreads * kCalls), seen.size())
      << "every call has an id of its own";
  for (auto& [id, n] : seen) EXPECT_EQ(1, n) << "msg " << id;
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(CallTest, PlainWriteAndReadWorkBesideCalls) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  BackgroundCall call(client.get(), "call");
  Record cm = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  ASSERT_TRUE(cm.h.flags & LPC_MESSAGE_CALL);
  // While the call waits, a plain request and its reply go the old way.
  ASSERT_OK(WriteMsg(client.get(), "plain"));
  Record pm = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("plain", pm.payload);
  EXPECT_EQ(0u, pm.h.flags & LPC_MESSAGE_CALL);
  EXPECT_EQ(cm.h.msg_id + 1, pm.h.msg_id);
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, pm.h.msg_id, "plain reply"));
  std::string got;
  ASSERT_OK(ReadMsg(client.get(), &got));
  EXPECT_EQ("plain reply", got);
  EXPECT_FALSE(call.done());
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, cm.h.msg_id, "call reply"));
  CallResult r = call.Wait();
  ASSERT_OK(r.err);
  EXPECT_EQ("call reply", r.reply.payload);
}

TEST_F(CallTest, ACallsReplyNeverReachesReadButSendDoes) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  // A reader blocked on the same descriptor while the call is answered.
  std::atomic<pid_t> reader_tid{0};
  std::string read_got;
  int read_err = -1;
  std::jthread reader([&] {
    reader_tid = gettid();
    read_err = ReadMsg(fd, &read_got);
  });
  ASSERT_TRUE(WaitFor([&] { return reader_tid != 0; }));
  ASSERT_TRUE(WaitUntilBlockedIn(reader_tid, ReadSyscalls()));
  BackgroundCall call(fd, "call");
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "for the call"));
  CallResult r = call.Wait();
  ASSERT_OK(r.err);
  EXPECT_EQ("for the call", r.reply.payload);
  // The reader is still waiting: the reply did not go to it. A SEND does.
  EXPECT_TRUE(WaitUntilBlockedIn(reader_tid, ReadSyscalls()));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "sent"));
  reader.join();
  EXPECT_OK(read_err);
  EXPECT_EQ("sent", read_got);
}

// A port whose queues hold four messages each way.
class CallBackpressureTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "queue_messages=4"; }
};

TEST_F(CallBackpressureTest, CallWaitsForRoomUnlessNoWait) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  int fd = client.get();
  for (int i = 0; i < 4; ++i) ASSERT_OK(WriteMsg(fd, "fill"));
  // The kernel passes no file flags with an ioctl, so the buffer's
  // LPC_TRANSFER_NO_WAIT stands for O_NONBLOCK (lpc.h LPC_IOC_CALL).
  IoctlBuffer nowait;
  nowait.header().flags = LPC_TRANSFER_NO_WAIT;
  ASSERT_TRUE(nowait.AddMessage("no room"));
  EXPECT_ERR(EAGAIN, nowait.Call(fd));
  BackgroundCall call(fd, "waits for room");
  ASSERT_TRUE(WaitUntilBlockedIn(call.tid(), IoctlSyscalls()));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ("fill", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  }
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("waits for room", m.payload);
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "in"));
  CallResult r = call.Wait();
  ASSERT_OK(r.err);
  EXPECT_EQ("in", r.reply.payload);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

Record AnswerCall(int srv, uint64_t conn, const std::string& reply) {
  Record m;
  int err = ReadRecord(srv, &m);
  if (err != 0) {
    ADD_FAILURE() << "reading the call: " << ErrName(err);
    return Record{};
  }
  EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type) << Describe(m);
  EXPECT_TRUE(m.h.flags & LPC_MESSAGE_CALL) << Describe(m);
  EXPECT_OK(Reply(srv, conn, m.h.msg_id, reply));
  return m;
}

}  // namespace
}  // namespace lpctest
