// LPC_IOC_TRANSFER: many records in one ioctl (lpc.h "ioctls", lpc.7
// "IOCTLS"). Records sent take effect in order until the first that fails,
// which ends the batch (an ioctl fails only when nothing took effect);
// records received are whole, 8-aligned, at most max_records, and one that
// does not fit stays queued. The same ioctl works on the server handle, on
// a client port and on .conn/ID.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ioctl_buffer.h"
#include "mount_fixture.h"

namespace lpctest {
namespace {

class TransferTest : public MountTest {};

TEST_F(TransferTest, ClientSendsABatchWithConsecutiveIds) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(WriteMsg(client.get(), "plain"));  // id 1: ids are shared
  IoctlBuffer buf;
  buf.header().flags = LPC_TRANSFER_NO_RECEIVE;
  const std::vector<std::string> batch = {"one", "two!", "three", "4", "five"};
  for (const std::string& m : batch) ASSERT_TRUE(buf.AddMessage(m));
  ASSERT_OK(buf.Transfer(client.get()));
  EXPECT_EQ(batch.size(), buf.header().sent);
  EXPECT_EQ(0, buf.header().send_error);
  EXPECT_EQ(0u, buf.header().received);
  Record plain = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(plain.h.msg_id + 1, buf.header().first_msg_id);
  for (size_t i = 0; i < batch.size(); ++i) {
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    EXPECT_EQ(batch[i], m.payload);
    EXPECT_EQ(buf.header().first_msg_id + i, m.h.msg_id);
    EXPECT_EQ(static_cast<uint32_t>(getpid()), m.h.pid);
    EXPECT_EQ(0u, m.h.flags & LPC_MESSAGE_CALL) << "plain messages";
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(TransferTest, ClientMessageRecordsMustBeBareMessages) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  IoctlBuffer buf;
  buf.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(buf.AddMessage("good"));
  ASSERT_TRUE(buf.AddCommand(LPC_REC_MESSAGE, c.h.conn_id, 0, "has a conn"));
  ASSERT_TRUE(buf.AddMessage("never sent"));
  ASSERT_OK(buf.Transfer(client.get()));
  EXPECT_EQ(1u, buf.header().sent);
  EXPECT_ERR(EINVAL, buf.header().send_error);
  EXPECT_EQ("good", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
  // Record 0 bad: the ioctl fails.
  IoctlBuffer bad;
  bad.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(bad.AddCommand(LPC_REC_SEND, 0, 0, "not a message"));
  EXPECT_ERR(EINVAL, bad.Transfer(client.get()));
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(TransferTest, ServerReceivesManyRecordsOnEightByteBoundaries) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  // Lengths around the 8-byte padding.
  const std::vector<std::string> sent = {"a", "1234567", "12345678",
                                         "123456789", std::string(20, 'z')};
  for (const std::string& m : sent) ASSERT_OK(WriteMsg(client.get(), m));
  TransferResult r = Receive(srv.get(), LPC_TRANSFER_NO_WAIT);
  ASSERT_OK(r.err);
  ASSERT_TRUE(r.framing_ok) << "received_length " << r.t.received_length;
  ASSERT_EQ(sent.size(), r.records.size());
  EXPECT_EQ(sent.size(), r.t.received);
  EXPECT_EQ(0u, r.t.sent);
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, r.records[i].h.type);
    EXPECT_EQ(c.h.conn_id, r.records[i].h.conn_id);
    EXPECT_EQ(i + 1, r.records[i].h.msg_id);
    EXPECT_EQ(sent[i], r.records[i].payload);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()));
  // They were read like read() reads them: the ids can be replied to.
  EXPECT_OK(Reply(srv.get(), c.h.conn_id, 3, "to the third"));
  std::string got;
  ASSERT_OK(ReadMsg(client.get(), &got));
  EXPECT_EQ("to the third", got);
}

TEST_F(TransferTest, MaxRecordsIsHonoured) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  for (const char* m : {"1", "2", "3", "4", "5"}) {
    ASSERT_OK(WriteMsg(client.get(), m));
  }
  TransferResult two = Receive(srv.get(), LPC_TRANSFER_NO_WAIT, 2);
  ASSERT_OK(two.err);
  ASSERT_TRUE(two.framing_ok);
  ASSERT_EQ(2u, two.records.size());
  EXPECT_EQ("1", two.records[0].payload);
  EXPECT_EQ("2", two.records[1].payload);
  TransferResult one = Receive(srv.get(), LPC_TRANSFER_NO_WAIT, 1);
  ASSERT_OK(one.err);
  ASSERT_EQ(1u, one.records.size());
  EXPECT_EQ("3", one.records[0].payload);
  TransferResult rest = Receive(srv.get(), LPC_TRANSFER_NO_WAIT);
  ASSERT_OK(rest.err);
  ASSERT_EQ(2u, rest.records.size());
  EXPECT_EQ("4", rest.records[0].payload);
  EXPECT_EQ("5", rest.records[1].payload);
}

TEST_F(TransferTest, RecordThatDoesNotFitStaysQueued) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(WriteMsg(client.get(), std::string(20, 'a')));  // 68 bytes
  ASSERT_OK(WriteMsg(client.get(), std::string(20, 'b')));
  ASSERT_OK(WriteMsg(client.get(), std::string(20, 'c')));
  // data[] of 60 bytes: not even the first.
  TransferResult none =
      Receive(srv.get(), LPC_TRANSFER_NO_WAIT, 0, sizeof(lpc_transfer) + 60);
  EXPECT_ERR(EMSGSIZE, none.err);
  // Room for two whole records (72 + 68 bytes) but not three: two, and
  // the third stays.
  TransferResult two = Receive(srv.get(), LPC_TRANSFER_NO_WAIT, 0,
                               sizeof(lpc_transfer) + 72 + 72 + 60);
  ASSERT_OK(two.err);
  ASSERT_TRUE(two.framing_ok);
  ASSERT_EQ(2u, two.records.size());
  EXPECT_EQ(std::string(20, 'a'), two.records[0].payload);
  EXPECT_EQ(std::string(20, 'b'), two.records[1].payload);
  Record third = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(std::string(20, 'c'), third.payload);
  // The last record may end without its padding.
  ASSERT_OK(WriteMsg(client.get(), std::string(20, 'd')));
  TransferResult tight =
      Receive(srv.get(), LPC_TRANSFER_NO_WAIT, 0, sizeof(lpc_transfer) + 68);
  ASSERT_OK(tight.err);
  ASSERT_EQ(1u, tight.records.size());
  EXPECT_EQ(std::string(20, 'd'), tight.records[0].payload);
}

TEST_F(TransferTest, ServerBatchStopsAtTheFirstBadRecord) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  IoctlBuffer buf;
  ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "first"));
  ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "second"));
  lpc_record bad{};
  bad.type = LPC_REC_SEND;
  bad.conn_id = c.h.conn_id;
  bad.reserved = 1;
  ASSERT_TRUE(buf.Add(bad, "bad"));
  ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "after"));
  // No NO_RECEIVE: a failed record means no receive phase, so this must
  // not wait although nothing is queued for the server.
  ASSERT_OK(buf.Transfer(srv.get()));
  EXPECT_EQ(2u, buf.header().sent);
  EXPECT_ERR(EINVAL, buf.header().send_error);
  EXPECT_EQ(0u, buf.header().received);
  std::string got;
  ASSERT_OK(ReadMsg(client.get(), &got));
  EXPECT_EQ("first", got);
  ASSERT_OK(ReadMsg(client.get(), &got));
  EXPECT_EQ("second", got);
  ASSERT_OK(SetNonblocking(client.get(), true));
  EXPECT_ERR(EAGAIN, ReadMsg(client.get(), &got)) << "got \"" << got << "\"";
}

TEST_F(TransferTest, BadFirstRecordFailsTheIoctlWithItsErrno) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  {
    IoctlBuffer buf;
    ASSERT_TRUE(buf.AddCommand(99, c.h.conn_id, 0, "unknown type"));
    ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "never"));
    EXPECT_ERR(EINVAL, buf.Transfer(srv.get()));
  }
  {
    IoctlBuffer buf;
    ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id + 1000, 0, "nobody"));
    ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "never"));
    EXPECT_ERR(ENOTCONN, buf.Transfer(srv.get()));
  }
  {
    // The same check as write(): a reply to an id the server never read.
    IoctlBuffer buf;
    ASSERT_TRUE(buf.AddCommand(LPC_REC_REPLY, c.h.conn_id, 7, "unread"));
    EXPECT_ERR(ENOMSG, buf.Transfer(srv.get()));
  }
  ASSERT_OK(SetNonblocking(client.get(), true));
  std::string got;
  EXPECT_ERR(EAGAIN, ReadMsg(client.get(), &got)) << "got \"" << got << "\"";
}

TEST_F(TransferTest, HeaderChecks) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  for (int fd : {srv.get(), client.get()}) {
    IoctlBuffer reserved;
    reserved.header().flags = LPC_TRANSFER_NO_WAIT;
    reserved.header().reserved = 1;
    EXPECT_ERR(EINVAL, reserved.Transfer(fd));
    IoctlBuffer unknown_flag;
    unknown_flag.header().flags = 0x100 | LPC_TRANSFER_NO_WAIT;
    EXPECT_ERR(EINVAL, unknown_flag.Transfer(fd));
  }
  Opened stats = Open(P(LPC_STATS_FILE), O_RDONLY);
  ASSERT_OK(stats.err);
  IoctlBuffer buf;
  buf.header().flags = LPC_TRANSFER_NO_WAIT;
  EXPECT_ERR(ENOTTY, buf.Transfer(stats.fd.get()));
}

TEST_F(TransferTest, NothingQueuedAndNotWaitingGivesEagain) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  Opened conn = Open(ConnFile(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  // (The kernel passes no file flags with FUSE_IOCTL, so O_NONBLOCK does
  // not reach the ioctl: LPC_TRANSFER_NO_WAIT says it, lpc.h.)
  for (int fd : {srv.get(), client.get(), conn.fd.get()}) {
    EXPECT_ERR(EAGAIN, Receive(fd, LPC_TRANSFER_NO_WAIT).err);
  }
  // Something sent, nothing to receive: 0, received 0.
  IoctlBuffer buf;
  buf.header().flags = LPC_TRANSFER_NO_WAIT;
  ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "x"));
  ASSERT_OK(buf.Transfer(srv.get()));
  EXPECT_EQ(1u, buf.header().sent);
  EXPECT_EQ(0u, buf.header().received);
}

TEST_F(TransferTest, WaitingReceiveTimesOut) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  EXPECT_ERR(ETIMEDOUT, Receive(srv.get(), 0, 0, 4096, 10).err);
  EXPECT_ERR(ETIMEDOUT, Receive(client.get(), 0, 0, 4096, 10).err);
  IoctlBuffer buf;
  buf.header().timeout_ms = 10;
  ASSERT_TRUE(buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "x"));
  ASSERT_OK(buf.Transfer(srv.get()));
  EXPECT_EQ(1u, buf.header().sent);
  EXPECT_EQ(0u, buf.header().received);
}

TEST_F(TransferTest, WaitingReceiveGetsWhatArrives) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  TransferResult r;
  std::atomic<pid_t> tid{0};
  std::jthread receiver([&] {
    tid = gettid();
    r = Receive(srv.get());
  });
  ASSERT_TRUE(WaitFor([&] { return tid != 0; }));
  ASSERT_TRUE(WaitUntilBlockedIn(tid, IoctlSyscalls()));
  ASSERT_OK(WriteMsg(client.get(), "wake up"));
  receiver.join();
  ASSERT_OK(r.err);
  ASSERT_EQ(1u, r.records.size());
  EXPECT_EQ("wake up", r.records[0].payload);
}

TEST_F(TransferTest, ClientReceivesWhatTheServerSentAsMessageRecords) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(WriteMsg(client.get(), "request"));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  // The server's records come from another process with another gid.
  int sfd = srv.get();
  uint64_t conn = c.h.conn_id, msg = m.h.msg_id;
  pid_t server = Spawn([sfd, conn, msg] {
    CHILD_CHECK_ERR(0, BecomeUser(0, 777));
    CHILD_CHECK_ERR(0, Reply(sfd, conn, msg, "the reply"));
    CHILD_CHECK_ERR(0, Send(sfd, conn, "a send"));
    return 0;
  });
  ASSERT_EQ(0, WaitExit(server));
  TransferResult r = Receive(client.get(), LPC_TRANSFER_NO_WAIT);
  ASSERT_OK(r.err);
  ASSERT_TRUE(r.framing_ok);
  ASSERT_EQ(2u, r.records.size());
  for (const Record& rec : r.records) {
    EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, rec.h.type) << Describe(rec);
    EXPECT_EQ(static_cast<uint32_t>(server), rec.h.pid) << Describe(rec);
    EXPECT_EQ(0u, rec.h.uid) << Describe(rec);
    EXPECT_EQ(777u, rec.h.gid) << Describe(rec);
    EXPECT_EQ(0u, rec.h.flags & LPC_MESSAGE_CONTINUED) << Describe(rec);
  }
  EXPECT_EQ(m.h.msg_id, r.records[0].h.msg_id);
  EXPECT_EQ("the reply", r.records[0].payload);
  EXPECT_EQ(0u, r.records[1].h.msg_id);
  EXPECT_EQ("a send", r.records[1].payload);
}

TEST_F(TransferTest, RestOfAPartlyReadMessageComesAsContinued) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "0123456789"));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "next"));
  std::string head;
  ASSERT_OK(ReadMsg(client.get(), &head, 4));
  ASSERT_EQ("0123", head);
  TransferResult r = Receive(client.get(), LPC_TRANSFER_NO_WAIT);
  ASSERT_OK(r.err);
  ASSERT_EQ(2u, r.records.size());
  EXPECT_EQ("456789", r.records[0].payload);
  EXPECT_TRUE(r.records[0].h.flags & LPC_MESSAGE_CONTINUED)
      << Describe(r.records[0]);
  EXPECT_EQ("next", r.records[1].payload);
  EXPECT_EQ(0u, r.records[1].h.flags & LPC_MESSAGE_CONTINUED);
}

TEST_F(TransferTest, BoundConnFileReceivesMessagesAndSendsBoth) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  Opened conn = Open(ConnFile(c.h.conn_id), O_RDWR);
  ASSERT_OK(conn.err);
  int cfd = conn.fd.get();
  ASSERT_OK(WriteMsg(client.get(), "m1"));
  ASSERT_OK(WriteMsg(client.get(), "m2"));
  TransferResult got = Receive(cfd, LPC_TRANSFER_NO_WAIT);
  ASSERT_OK(got.err);
  ASSERT_TRUE(got.framing_ok);
  ASSERT_EQ(2u, got.records.size());
  for (size_t i = 0; i < 2; ++i) {
    const Record& rec = got.records[i];
    EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, rec.h.type) << Describe(rec);
    EXPECT_EQ(c.h.conn_id, rec.h.conn_id) << Describe(rec);
    EXPECT_EQ(i + 1, rec.h.msg_id) << Describe(rec);
    EXPECT_EQ(static_cast<uint32_t>(getpid()), rec.h.pid) << Describe(rec);
    EXPECT_EQ("m" + std::to_string(i + 1), rec.payload);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "bound: messages go to .conn";

  // A call on the client, answered through .conn with a REPLY record,
  // together with a SEND (conn_id 0) and a reply to a plain message,
  // which goes to the read queue.
  BackgroundCall call(client.get(), "call");
  TransferResult cm = Receive(cfd);
  ASSERT_OK(cm.err);
  ASSERT_EQ(1u, cm.records.size());
  EXPECT_TRUE(cm.records[0].h.flags & LPC_MESSAGE_CALL);
  IoctlBuffer out;
  out.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(out.AddCommand(LPC_REC_SEND, 0, 0, "sent"));
  ASSERT_TRUE(
      out.AddCommand(LPC_REC_REPLY, c.h.conn_id, cm.records[0].h.msg_id, "r"));
  ASSERT_TRUE(out.AddCommand(LPC_REC_REPLY, 0, 1, "reply to m1"));
  ASSERT_OK(out.Transfer(cfd));
  EXPECT_EQ(3u, out.header().sent);
  EXPECT_EQ(0, out.header().send_error);
  CallResult r = call.Wait();
  ASSERT_OK(r.err);
  EXPECT_EQ("r", r.reply.payload);
  EXPECT_EQ(cm.records[0].h.msg_id, r.reply.h.msg_id);
  std::string msg;
  ASSERT_OK(ReadMsg(client.get(), &msg));
  EXPECT_EQ("sent", msg);
  ASSERT_OK(ReadMsg(client.get(), &msg));
  EXPECT_EQ("reply to m1", msg);

  // Records a .conn file does not take.
  IoctlBuffer accept;
  accept.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(accept.AddCommand(LPC_REC_ACCEPT, c.h.conn_id));
  EXPECT_NE(0, accept.Transfer(cfd)) << "ACCEPT on .conn";
  IoctlBuffer message;
  message.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(message.AddMessage("not from the server"));
  EXPECT_NE(0, message.Transfer(cfd)) << "MESSAGE on .conn";

  // DISCONNECT through .conn ends the server side.
  IoctlBuffer bye;
  bye.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(bye.AddCommand(LPC_REC_DISCONNECT, 0));
  ASSERT_OK(bye.Transfer(cfd));
  EXPECT_ERR(EPIPE, WriteMsg(client.get(), "anyone?"));
  EXPECT_ERR(EPIPE, CallOnce(client.get(), "anyone?").err);
  // The file fails what is sent afterwards with EPIPE, as write(2) does.
  EXPECT_ERR(EPIPE, WriteMsg(cfd, "too late"));
  IoctlBuffer late;
  late.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(late.AddCommand(LPC_REC_SEND, 0, 0, "too late"));
  EXPECT_ERR(EPIPE, late.Transfer(cfd));
}

// An empty message: a 0-byte write() sends nothing, and a SEND or REPLY
// needs a payload, so an empty MESSAGE record is refused (lpc.7 "IOCTLS").
TEST_F(TransferTest, EmptyMessagesAreRefused) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  IoctlBuffer buf;
  buf.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(buf.AddMessage("first"));
  ASSERT_TRUE(buf.AddMessage(""));
  ASSERT_OK(buf.Transfer(client.get()));
  EXPECT_EQ(1u, buf.header().sent);
  EXPECT_ERR(EINVAL, buf.header().send_error);
  IoctlBuffer alone;
  alone.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(alone.AddMessage(""));
  EXPECT_ERR(EINVAL, alone.Transfer(client.get()));
  EXPECT_ERR(EINVAL, CallOnce(client.get(), "").err);
  EXPECT_EQ("first", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

// The kernel checks a descriptor's access mode for read(2) and write(2)
// but not for ioctls: the daemon does, so a transfer can do no more than
// those calls could (EBADF).
TEST_F(TransferTest, AccessModeOfServerHandlesAndConnFilesIsChecked) {
  Opened ro = Open(P("ro"), O_CREAT | O_EXCL | O_RDONLY, 0666);
  ASSERT_OK(ro.err);
  IoctlBuffer opts;
  opts.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(opts.AddCommand(LPC_REC_PORT_OPTIONS, 0));
  EXPECT_ERR(EBADF, opts.Transfer(ro.fd.get())) << "sending, read-only";
  EXPECT_ERR(EAGAIN, Receive(ro.fd.get(), LPC_TRANSFER_NO_WAIT).err)
      << "receiving, read-only: allowed, nothing queued";

  Opened wo = Open(P("wo"), O_CREAT | O_EXCL | O_WRONLY, 0666);
  ASSERT_OK(wo.err);
  EXPECT_ERR(EBADF, Receive(wo.fd.get(), LPC_TRANSFER_NO_WAIT).err)
      << "receiving, write-only";

  // .conn/ID opened read-only takes no records; write-only gives none.
  UniqueFd all = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(all.valid());
  Opened c2 = Open(P("svc"), O_RDWR);
  ASSERT_OK(c2.err);
  const uint64_t id = Expect(all.get(), LPC_REC_CONNECT).h.conn_id;
  Opened conn_ro = Open(ConnFile(id), O_RDONLY);
  ASSERT_OK(conn_ro.err);
  IoctlBuffer send;
  send.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(send.AddCommand(LPC_REC_SEND, 0, 0, "no"));
  EXPECT_ERR(EBADF, send.Transfer(conn_ro.fd.get()));
  Opened conn_wo = Open(ConnFile(id), O_WRONLY);
  ASSERT_OK(conn_wo.err);
  EXPECT_ERR(EBADF, Receive(conn_wo.fd.get(), LPC_TRANSFER_NO_WAIT).err);
  IoctlBuffer ok;
  ok.header().flags = LPC_TRANSFER_NO_RECEIVE;
  ASSERT_TRUE(ok.AddCommand(LPC_REC_SEND, 0, 0, "yes"));
  ASSERT_OK(ok.Transfer(conn_wo.fd.get()));
  std::string got;
  ASSERT_OK(ReadMsg(c2.fd.get(), &got));
  EXPECT_EQ("yes", got);
}

// A port whose queues hold four messages each way.
class TransferBackpressureTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "queue_messages=4"; }
};

TEST_F(TransferBackpressureTest, FullClientQueueEndsTheServersBatchWithEagain) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  IoctlBuffer buf;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(
        buf.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "s" + std::to_string(i)));
  }
  ASSERT_OK(buf.Transfer(srv.get()));  // never waits for room
  EXPECT_EQ(4u, buf.header().sent);
  EXPECT_ERR(EAGAIN, buf.header().send_error);
  EXPECT_EQ(0u, buf.header().received);
  for (int i = 0; i < 4; ++i) {
    std::string got;
    ASSERT_OK(ReadMsg(client.get(), &got));
    EXPECT_EQ("s" + std::to_string(i), got);
  }
  ASSERT_OK(SetNonblocking(client.get(), true));
  std::string got;
  EXPECT_ERR(EAGAIN, ReadMsg(client.get(), &got)) << "got \"" << got << "\"";
  // Full from the start: record 0 fails, so the ioctl does.
  IoctlBuffer fill;
  fill.header().flags = LPC_TRANSFER_NO_RECEIVE;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(fill.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "f"));
  }
  ASSERT_OK(fill.Transfer(srv.get()));
  EXPECT_EQ(4u, fill.header().sent);
  IoctlBuffer more;
  ASSERT_TRUE(more.AddCommand(LPC_REC_SEND, c.h.conn_id, 0, "no room"));
  EXPECT_ERR(EAGAIN, more.Transfer(srv.get()));
}

TEST_F(TransferBackpressureTest, FullServerQueueEndsTheClientsBatchWithEagain) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  IoctlBuffer buf;
  buf.header().flags = LPC_TRANSFER_NO_RECEIVE;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(buf.AddMessage("m" + std::to_string(i)));
  }
  ASSERT_OK(buf.Transfer(client.get()));
  EXPECT_EQ(4u, buf.header().sent);
  EXPECT_ERR(EAGAIN, buf.header().send_error);
  for (int i = 0; i < 4; ++i) {
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    EXPECT_EQ("m" + std::to_string(i), m.payload);
    EXPECT_EQ(buf.header().first_msg_id + static_cast<uint64_t>(i), m.h.msg_id);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

}  // namespace
}  // namespace lpctest
