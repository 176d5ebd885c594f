// LPC_PORT_READ_BATCHES (lpc.h, lpc.7 "Reading records"): a read() of the
// server handle returns as many whole records as its buffer holds, each at
// a multiple of 8 bytes, and ends at the end of the last one; a record that
// does not fit stays queued, and without the option a read returns one.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "ioctl_buffer.h"
#include "mount_fixture.h"

namespace lpctest {
namespace {

class BatchReadTest : public MountTest {
 protected:
  // The records of one read() of `fd` with a buffer of `size` bytes, or
  // the errno in *err; *bytes is what the read returned.
  std::vector<Record> ReadBatch(int fd, size_t size, int* err,
                                size_t* bytes = nullptr) {
    std::vector<char> buf(size);
    ssize_t n = read(fd, buf.data(), buf.size());
    *err = n < 0 ? errno : 0;
    std::vector<Record> out;
    if (n < 0) return out;
    if (bytes) *bytes = static_cast<size_t>(n);
    EXPECT_TRUE(ParseRecords(buf.data(), static_cast<size_t>(n), &out))
        << "a read ends inside a record";
    return out;
  }

  // A port that auto-accepts and reads in batches, and a client of it.
  struct Served {
    UniqueFd srv;
    Opened client;
  };
  Served ServeInBatches() {
    Served s{CreatePort("svc"), {}};
    EXPECT_TRUE(s.srv.valid());
    EXPECT_OK(SetPortOptions(s.srv.get(),
                             LPC_PORT_AUTO_ACCEPT | LPC_PORT_READ_BATCHES));
    s.client = Open(P("svc"), O_RDWR);
    EXPECT_OK(s.client.err);
    return s;
  }
};

TEST_F(BatchReadTest, OneReadReturnsEveryQueuedRecordThatFits) {
  auto [srv, client] = ServeInBatches();
  ASSERT_FALSE(HasFailure());
  const std::vector<std::string> sent = {"one", "two, longer", "3"};
  for (const std::string& m : sent) ASSERT_OK(WriteMsg(client.fd.get(), m));
  int err = 0;
  size_t bytes = 0;
  std::vector<Record> got = ReadBatch(srv.get(), 64 * 1024, &err, &bytes);
  ASSERT_OK(err);
  ASSERT_EQ(1 + sent.size(), got.size());
  EXPECT_EQ(static_cast<uint32_t>(LPC_REC_CONNECT), got[0].h.type);
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(static_cast<uint32_t>(LPC_REC_MESSAGE), got[i + 1].h.type);
    EXPECT_EQ(got[0].h.conn_id, got[i + 1].h.conn_id);
    EXPECT_EQ(i + 1, got[i + 1].h.msg_id);
    EXPECT_EQ(sent[i], got[i + 1].payload);
  }
  // The read ends with the last record (1 byte of payload), not with its
  // padding.
  size_t last = 0;
  for (size_t i = 0; i + 1 < got.size(); ++i) {
    last += LPC_RECORD_SPACE(got[i].h.length);
  }
  EXPECT_EQ(last + sizeof(lpc_record) + 1, bytes);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(BatchReadTest, ARecordThatDoesNotFitStaysForTheNextRead) {
  auto [srv, client] = ServeInBatches();
  ASSERT_FALSE(HasFailure());
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(WriteMsg(client.fd.get(), "12345678"));  // 56 bytes, padded 56
  ASSERT_OK(WriteMsg(client.fd.get(), std::string(100, 'x')));
  int err = 0;
  // Room for the first and part of the second.
  std::vector<Record> got = ReadBatch(srv.get(), 56 + 100, &err);
  ASSERT_OK(err);
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ("12345678", got[0].payload);
  // Smaller than the next record: EMSGSIZE, and it stays queued.
  got = ReadBatch(srv.get(), sizeof(lpc_record) + 99, &err);
  EXPECT_ERR(EMSGSIZE, err);
  got = ReadBatch(srv.get(), sizeof(lpc_record) + 100, &err);
  ASSERT_OK(err);
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(std::string(100, 'x'), got[0].payload);
  EXPECT_EQ(c.h.conn_id, got[0].h.conn_id);
}

TEST_F(BatchReadTest, WithoutTheOptionAReadReturnsOneRecord) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  ASSERT_OK(WriteMsg(client.fd.get(), "a"));
  ASSERT_OK(WriteMsg(client.fd.get(), "b"));
  int err = 0;
  EXPECT_EQ(1u, ReadBatch(srv.get(), 64 * 1024, &err).size());
  ASSERT_OK(err);
  // Switching it on applies to the records already queued; off again,
  // one at a time.
  ASSERT_OK(
      SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT | LPC_PORT_READ_BATCHES));
  ASSERT_OK(WriteMsg(client.fd.get(), "c"));
  EXPECT_EQ(3u, ReadBatch(srv.get(), 64 * 1024, &err).size());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  ASSERT_OK(WriteMsg(client.fd.get(), "d"));
  ASSERT_OK(WriteMsg(client.fd.get(), "e"));
  EXPECT_EQ(1u, ReadBatch(srv.get(), 64 * 1024, &err).size());
}

// A reader that waits gets what is there when the first record arrives:
// a batch read never waits for its buffer to fill.
TEST_F(BatchReadTest, AWaitingReadReturnsWithTheFirstRecords) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_READ_BATCHES));
  const std::string path = P("svc");
  pid_t client = Spawn([path] {
    CloseOtherFds({});  // holds no copy of the server handle
    return Open(path, O_RDWR).err;
  });
  int err = 0;
  std::vector<Record> got = ReadBatch(srv.get(), 64 * 1024, &err);
  ASSERT_OK(err);
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(static_cast<uint32_t>(LPC_REC_CONNECT), got[0].h.type);
  ASSERT_OK(Accept(srv.get(), got[0].h.conn_id));
  EXPECT_EQ(0, WaitExit(client));
}

TEST_F(BatchReadTest, UnknownPortOptionFlagsAreRefused) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_ERR(EINVAL, SetPortOptions(srv.get(), 0x4));
}

}  // namespace
}  // namespace lpctest
