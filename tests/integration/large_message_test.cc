// Messages over 256 bytes (lpc.7 "LARGE MESSAGES"): up to the port's
// largest message, one write() each, delivered whole and in order, read
// in pieces by a small reader, and held back by the same back-pressure as
// short ones.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class LargeMessageTest : public MountTest {};

// `size` bytes that differ from one message to the next and along the
// message, so that a lost, repeated or reordered piece shows.
std::string Pattern(size_t size, int seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + static_cast<size_t>(seed)) % 26);
  }
  return s;
}

TEST_F(LargeMessageTest, DefaultLimitIs64KiBEachWay) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  const std::string max = Pattern(LPC_DEFAULT_MAX_MESSAGE, 1);
  ASSERT_OK(WriteMsg(client.get(), max));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(max, m.payload) << "a LPC_RECORD_MAX buffer holds it whole";
  EXPECT_ERR(EMSGSIZE, WriteMsg(client.get(),
                                std::string(LPC_DEFAULT_MAX_MESSAGE + 1, 'x')));
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "a refused write sends nothing";

  ASSERT_OK(Send(srv.get(), c.h.conn_id, max));
  std::string got;
  ASSERT_OK(ReadMsg(client.get(), &got, LPC_DEFAULT_MAX_MESSAGE));
  EXPECT_EQ(max, got);
}

TEST_F(LargeMessageTest, ASmallReaderTakesALargeMessageInPieces) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  const std::string first = Pattern(50000, 2), second = Pattern(3000, 3);
  ASSERT_OK(Send(srv.get(), c.h.conn_id, first));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, second));
  std::string whole, piece;
  while (whole.size() < first.size()) {
    ASSERT_OK(ReadMsg(client.get(), &piece, 4096));
    ASSERT_FALSE(piece.empty());
    whole += piece;
  }
  EXPECT_EQ(first, whole) << "no read returns bytes of two messages";
  ASSERT_OK(ReadMsg(client.get(), &piece, 65536));
  EXPECT_EQ(second, piece);
}

TEST_F(LargeMessageTest, AServerRaisesItsPortsLimitToAlmostOneMiB) {
  UniqueFd srv = CreatePort("big");
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(
      SetPortLimits(srv.get(), LPC_MAX_MESSAGE_LIMIT, LPC_PORT_AUTO_ACCEPT));
  EXPECT_ERR(EINVAL, SetPortLimits(srv.get(), LPC_MAX_MESSAGE_LIMIT + 1))
      << "over what one FUSE write carries";

  // cat(1) sizes its writes by st_blksize: a whole file is one message.
  struct stat st {};
  ASSERT_EQ(0, stat(P("big").c_str(), &st));
  EXPECT_EQ(1 << 20, st.st_blksize);
  const std::string file = Pattern(500 * 1024, 4);
  char dir[] = "/tmp/lpcfs-large.XXXXXX";
  ASSERT_NE(nullptr, mkdtemp(dir));
  std::string path = std::string(dir) + "/500KiB.bin";
  std::ofstream(path, std::ios::binary) << file;
  std::string port = P("big");
  pid_t cat = Spawn([path, port] {
    execlp("sh", "sh", "-c",
           ("exec cat '" + path + "' > '" + port + "'").c_str(),
           static_cast<char*>(nullptr));
    return 127;
  });
  Expect(srv.get(), LPC_REC_CONNECT);
  Record m;
  ASSERT_OK(
      ReadRecord(srv.get(), &m, sizeof(lpc_record) + LPC_MAX_MESSAGE_LIMIT));
  EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type) << Describe(m);
  EXPECT_EQ(file.size(), m.payload.size());
  EXPECT_TRUE(m.payload == file) << "one message, delivered whole";
  EXPECT_EQ(0, WaitExit(cat));
  unlink(path.c_str());
  rmdir(dir);
  Expect(srv.get(), LPC_REC_DISCONNECT, m.h.conn_id);

  // The largest message, both ways.
  Opened o = Open(P("big"), O_RDWR);
  ASSERT_OK(o.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  const std::string max = Pattern(LPC_MAX_MESSAGE_LIMIT, 5);
  ASSERT_OK(WriteMsg(o.fd.get(), max));
  EXPECT_ERR(EMSGSIZE, ReadRecord(srv.get(), &m, LPC_RECORD_MAX))
      << "a buffer too small for the record";
  ASSERT_OK(
      ReadRecord(srv.get(), &m, sizeof(lpc_record) + LPC_MAX_MESSAGE_LIMIT))
      << "the record stayed queued for a larger buffer";
  EXPECT_TRUE(m.payload == max);
  ASSERT_OK(Send(srv.get(), c.h.conn_id, max));
  std::string got;
  ASSERT_OK(ReadMsg(o.fd.get(), &got, 1 << 20));
  EXPECT_TRUE(got == max);
  EXPECT_ERR(EMSGSIZE,
             WriteMsg(o.fd.get(), std::string(LPC_MAX_MESSAGE_LIMIT + 1, 'x')));
  // Larger than one FUSE request: the kernel splits the write, and the
  // first part is already over the limit, so nothing is delivered.
  EXPECT_ERR(EMSGSIZE, WriteMsg(o.fd.get(), std::string(2 << 20, 'x')));
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(LargeMessageTest, LargeMessagesKeepOrderUnderBackPressure) {
  // 40 messages of 40 KiB through 64 KiB queues: the writer waits for
  // room over and over; every message arrives once, whole, in order.
  constexpr int kCount = 40;
  constexpr size_t kSize = 40 * 1024;
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    for (int i = 0; i < kCount; ++i) {
      CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), Pattern(kSize, i)));
    }
    for (int i = 0; i < kCount; ++i) {
      std::string got;
      CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got, kSize));
      CHILD_CHECK(got == Pattern(kSize, 100 + i));
    }
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  for (int i = 0; i < kCount; ++i) {
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    ASSERT_EQ(static_cast<uint64_t>(i + 1), m.h.msg_id);
    ASSERT_TRUE(m.payload == Pattern(kSize, i)) << "message " << i;
  }
  // The server's sends wait for room too (no O_NONBLOCK on srv).
  for (int i = 0; i < kCount; ++i) {
    ASSERT_OK(Send(srv.get(), c.h.conn_id, Pattern(kSize, 100 + i)));
  }
  EXPECT_EQ(0, WaitExit(child));
}

TEST_F(LargeMessageTest, AFullQueueRefusesANonblockingLargeWriteWithEagain) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(0, SetNonblocking(client.get(), true));
  ASSERT_OK(WriteMsg(client.get(), Pattern(40000, 1)));
  EXPECT_ERR(EAGAIN, WriteMsg(client.get(), Pattern(40000, 2)))
      << "64 KiB of queue: the second does not fit beside the first";
  // POLLOUT means a short message fits, as a pipe's means PIPE_BUF does.
  EXPECT_EQ(POLLOUT, PollOnce(client.get(), POLLOUT, 0));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(40000u, m.payload.size());
  ASSERT_OK(WriteMsg(client.get(), Pattern(40000, 2)));
  m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_TRUE(m.payload == Pattern(40000, 2)) << "nothing lost";
}

}  // namespace
}  // namespace lpctest
