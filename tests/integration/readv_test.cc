// One read(2) or readv(2) returns bytes of one message, or one whole
// record, however its buffer is laid out (lpc.7 "MESSAGES": read;
// "Reading records"). The kernel splits a read whose buffer spans more
// pages than one FUSE request carries (256 here) into several requests,
// and sends the next one while each comes back full: a readv of many
// one-byte iovecs, each on its own page, is such a read. The daemon must
// not answer the later parts with a second message or record, nor make
// them wait for one.
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {
namespace {

// Pages one FUSE request carries at most (the FUSE connection's max_pages,
// 256 with the libfuse 3 this daemon is built with): a readv over more
// pages is split, and each later part comes with the offset of the bytes
// already read (256, 512, ...) where a fresh read of a stream has 0.
constexpr size_t kPagesPerRequest = 256;

// A readv buffer of `count` one-byte iovecs, each on a page of its own.
class ScatteredBuffer {
 public:
  explicit ScatteredBuffer(size_t count)
      : page_(static_cast<size_t>(sysconf(_SC_PAGESIZE))), count_(count) {
    void* p = mmap(nullptr, page_ * count_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
    for (size_t i = 0; base_ && i < count_; ++i) {
      iov_.push_back({base_ + i * page_, 1});
    }
  }
  ~ScatteredBuffer() {
    if (base_) munmap(base_, page_ * count_);
  }
  ScatteredBuffer(const ScatteredBuffer&) = delete;
  ScatteredBuffer& operator=(const ScatteredBuffer&) = delete;

  bool ok() const { return base_ != nullptr; }
  // readv(2) into the buffer: the byte count, or -errno.
  ssize_t Readv(int fd) {
    ssize_t n = readv(fd, iov_.data(), static_cast<int>(iov_.size()));
    return n < 0 ? -errno : n;
  }
  // The first n bytes read, gathered.
  std::string Bytes(size_t n) const {
    std::string out;
    for (size_t i = 0; i < n && i < count_; ++i) out += base_[i * page_];
    return out;
  }

 private:
  size_t page_;
  size_t count_;
  char* base_ = nullptr;
  std::vector<iovec> iov_;
};

// A message of exactly LPC_MAX_MESSAGE bytes, all `c`: a full part.
std::string Full(char c) { return std::string(LPC_MAX_MESSAGE, c); }

// "256 bytes: 'a' x 256" instead of 256 characters of output.
std::string Summary(const std::string& s) {
  std::ostringstream out;
  out << s.size() << " bytes:";
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_not_of(s[i], i);
    if (j == std::string::npos) j = s.size();
    out << " '" << s[i] << "' x " << j - i;
    i = j;
  }
  return out.str();
}

unsigned long VoluntarySwitches(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
      return std::stoul(line.substr(line.find(':') + 1));
    }
  }
  return 0;
}

// True if `pid` is asleep in one of `syscalls` on a request the daemon has
// read and not answered: it stayed asleep, without waking once, across a
// poll of `mount_fd` that the daemon answered, and the daemon reads
// requests in order. False if it is not asleep there.
bool WaitsInDaemon(pid_t pid, const std::vector<long>& syscalls, int mount_fd) {
  auto asleep_in = [&] {
    if (ProcState(pid) != 'S') return false;
    long nr = ProcSyscall(pid);
    for (long s : syscalls) {
      if (s == nr) return true;
    }
    return false;
  };
  if (!asleep_in()) return false;
  unsigned long switches = VoluntarySwitches(pid);
  if (PollOnce(mount_fd, POLLIN, 0) < 0) return false;
  return asleep_in() && VoluntarySwitches(pid) == switches;
}

// The next message on a client port, which must already be queued: a
// failed test does not wait for it (EAGAIN instead).
int ReadQueued(int fd, std::string* out) {
  int err = SetNonblocking(fd, true);
  if (err == 0) err = ReadMsg(fd, out);
  SetNonblocking(fd, false);
  return err;
}

// What a readv in a child returned, sent back over a pipe.
struct ReadvResult {
  ssize_t n = 0;  // bytes, or -errno
  char data[4 * LPC_MAX_MESSAGE] = {};
};

class ReadvTest : public MountTest {
 protected:
  // Runs a readv of `iovecs` scattered bytes on fd in a child. If the
  // call waits in the daemon although something to read is queued, the
  // test fails and `unblock` runs (it should give the read something).
  // Returns what the readv got.
  ReadvResult ReadvInChild(int fd, size_t iovecs,
                           const std::function<void()>& unblock) {
    int fds[2];
    ReadvResult result;
    result.n = -EPIPE;
    if (pipe(fds) != 0) {
      ADD_FAILURE() << "pipe: " << strerror(errno);
      return result;
    }
    UniqueFd r(fds[0]), w(fds[1]);
    int wfd = w.get();
    pid_t child = Spawn([fd, iovecs, wfd] {
      ScatteredBuffer buf(iovecs);
      CHILD_CHECK(buf.ok());
      ReadvResult res;
      res.n = buf.Readv(fd);
      if (res.n > 0) {
        std::string got = buf.Bytes(static_cast<size_t>(res.n));
        std::memcpy(res.data, got.data(),
                    std::min(got.size(), sizeof res.data));
      }
      CHILD_CHECK(write(wfd, &res, sizeof res) == sizeof res);
      return 0;
    });
    bool waited = false;
    bool done = WaitFor([&] {
      char st = ProcState(child);
      if (st == 'Z' || st == 0) return true;
      if (WaitsInDaemon(child, ReadSyscalls(), fd)) {
        waited = true;
        return true;
      }
      return false;
    });
    if (waited) {
      ADD_FAILURE() << "the readv waits in the daemon although a whole "
                       "message or record was queued for it";
      if (unblock) unblock();
    }
    if (done) {
      ssize_t n;
      do {
        n = read(r.get(), &result, sizeof result);
      } while (n < 0 && errno == EINTR && !WatchdogFired());
      if (n != static_cast<ssize_t>(sizeof result)) result.n = -EPIPE;
    }
    EXPECT_EQ(0, WaitExit(child));
    return result;
  }
};

std::string Got(const ReadvResult& r) {
  if (r.n < 0) return ErrName(static_cast<int>(-r.n));
  return std::string(r.data, std::min<size_t>(r.n, sizeof r.data));
}

TEST_F(ReadvTest, ScatteredReadvOfAClientPortReturnsOneMessage) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(Send(srv.get(), c.h.conn_id, Full('a')));
  ASSERT_OK(Send(srv.get(), c.h.conn_id, Full('b')));
  ScatteredBuffer buf(kPagesPerRequest + 44);
  ASSERT_TRUE(buf.ok());
  ssize_t n = buf.Readv(client.get());
  ASSERT_GT(n, 0) << ErrName(static_cast<int>(-n));
  EXPECT_EQ(Summary(Full('a')), Summary(buf.Bytes(static_cast<size_t>(n))))
      << "bytes of one message only";
  std::string next;
  ASSERT_OK(ReadQueued(client.get(), &next));
  EXPECT_EQ(Summary(Full('b')), Summary(next)) << "the second message whole";
}

TEST_F(ReadvTest, ScatteredReadvOfAClientPortDoesNotWaitForASecondMessage) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(Send(srv.get(), c.h.conn_id, Full('a')));
  int sfd = srv.get();
  uint64_t id = c.h.conn_id;
  ReadvResult r = ReadvInChild(client.get(), kPagesPerRequest + 44,
                               [&] { EXPECT_OK(Send(sfd, id, Full('b'))); });
  EXPECT_EQ(Summary(Full('a')), Summary(Got(r)));
  EXPECT_EQ(0, PollOnce(client.get(), POLLIN, 0) & POLLIN)
      << "nothing else was sent to the client";
}

TEST_F(ReadvTest, ScatteredReadvOverThreeRequestsReturnsOneMessage) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  for (char ch : {'a', 'b', 'c'}) {
    ASSERT_OK(Send(srv.get(), c.h.conn_id, Full(ch)));
  }
  ScatteredBuffer buf(2 * kPagesPerRequest + 100);
  ASSERT_TRUE(buf.ok());
  ssize_t n = buf.Readv(client.get());
  ASSERT_GT(n, 0) << ErrName(static_cast<int>(-n));
  EXPECT_EQ(Summary(Full('a')), Summary(buf.Bytes(static_cast<size_t>(n))));
  for (char ch : {'b', 'c'}) {
    std::string next;
    ASSERT_OK(ReadQueued(client.get(), &next));
    EXPECT_EQ(Summary(Full(ch)), Summary(next));
  }
}

TEST_F(ReadvTest, ScatteredReadvOfAConnFileReturnsOneMessage) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  Opened conn = Open(
      P(std::string(LPC_CONN_DIR) + "/" + std::to_string(c.h.conn_id)), O_RDWR);
  ASSERT_OK(conn.err);
  ASSERT_OK(WriteMsg(client.get(), Full('a')));
  ASSERT_OK(WriteMsg(client.get(), Full('b')));
  ScatteredBuffer buf(kPagesPerRequest + 44);
  ASSERT_TRUE(buf.ok());
  ssize_t n = buf.Readv(conn.fd.get());
  ASSERT_GT(n, 0) << ErrName(static_cast<int>(-n));
  EXPECT_EQ(Summary(Full('a')), Summary(buf.Bytes(static_cast<size_t>(n))));
  std::string next;
  ASSERT_OK(ReadQueued(conn.fd.get(), &next));
  EXPECT_EQ(Summary(Full('b')), Summary(next));
}

// Server handle: a MESSAGE record of a 208-byte message is 256 bytes, so
// it fills the first request exactly.
constexpr size_t kFillingPayload = kPagesPerRequest - sizeof(lpc_record);

TEST_F(ReadvTest, ScatteredReadvOfAServerHandleReturnsOneRecord) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  // Three records of 256 bytes: a third request of the split read would
  // find the third one too large and end the readv instead of waiting.
  for (char ch : {'a', 'b', 'c'}) {
    ASSERT_OK(WriteMsg(client.get(), std::string(kFillingPayload, ch)));
  }
  ScatteredBuffer buf(2 * kPagesPerRequest + 100);
  ASSERT_TRUE(buf.ok());
  ssize_t n = buf.Readv(srv.get());
  ASSERT_EQ(static_cast<ssize_t>(kPagesPerRequest), n)
      << "one whole record of " << kPagesPerRequest << " bytes, got "
      << (n < 0 ? ErrName(static_cast<int>(-n)) : std::to_string(n));
  Record m;
  std::string bytes = buf.Bytes(static_cast<size_t>(n));
  std::memcpy(&m.h, bytes.data(), sizeof m.h);
  EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type);
  EXPECT_EQ(1u, m.h.msg_id);
  EXPECT_EQ(kFillingPayload, m.h.length);
  EXPECT_EQ(std::string(kFillingPayload, 'a'), bytes.substr(sizeof m.h));
  for (char ch : {'b', 'c'}) {
    ASSERT_FALSE(NoRecordQueued(srv.get())) << "record " << ch << " is gone";
    Record next = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    EXPECT_EQ(std::string(kFillingPayload, ch), next.payload)
        << "the next records whole";
  }
}

TEST_F(ReadvTest, ScatteredReadvOfAServerHandleDoesNotWaitForASecondRecord) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(WriteMsg(client.get(), std::string(kFillingPayload, 'a')));
  int cfd = client.get();
  ReadvResult r = ReadvInChild(srv.get(), kPagesPerRequest + 44,
                               [&] { EXPECT_OK(WriteMsg(cfd, "unblock")); });
  ASSERT_EQ(static_cast<ssize_t>(kPagesPerRequest), r.n)
      << "one whole record, got " << Got(r).size() << " bytes or "
      << (r.n < 0 ? ErrName(static_cast<int>(-r.n)) : "");
  Record m;
  std::memcpy(&m.h, r.data, sizeof m.h);
  EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, m.h.type);
  EXPECT_EQ(c.h.conn_id, m.h.conn_id);
  EXPECT_EQ(std::string(kFillingPayload, 'a'),
            Got(r).substr(sizeof(lpc_record)));
}

// A record larger than one request of the split read: the daemon may
// hand it over whole across the requests, or fail with EMSGSIZE as for a
// buffer smaller than the record and leave it queued; never a part of it,
// never parts of two.
TEST_F(ReadvTest, ScatteredReadvGetsALargeRecordWholeOrNotAtAll) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  ASSERT_OK(WriteMsg(client.get(), Full('a')));
  ASSERT_OK(WriteMsg(client.get(), Full('b')));
  const ssize_t whole = sizeof(lpc_record) + LPC_MAX_MESSAGE;
  ScatteredBuffer buf(3 * kPagesPerRequest);
  ASSERT_TRUE(buf.ok());
  ssize_t n = buf.Readv(srv.get());
  if (n == -EMSGSIZE) {
    ASSERT_FALSE(NoRecordQueued(srv.get()));
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    EXPECT_EQ(1u, m.h.msg_id) << "the record stayed queued";
    EXPECT_EQ(Summary(Full('a')), Summary(m.payload));
  } else {
    ASSERT_EQ(whole, n) << "one whole record, got "
                        << (n < 0 ? ErrName(static_cast<int>(-n))
                                  : std::to_string(n) + " bytes");
    std::string bytes = buf.Bytes(static_cast<size_t>(n));
    Record m;
    std::memcpy(&m.h, bytes.data(), sizeof m.h);
    EXPECT_EQ(1u, m.h.msg_id);
    EXPECT_EQ(Summary(Full('a')), Summary(bytes.substr(sizeof m.h)));
  }
  ASSERT_FALSE(NoRecordQueued(srv.get())) << "the second record is gone";
  Record next = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(2u, next.h.msg_id);
  EXPECT_EQ(Summary(Full('b')), Summary(next.payload));
}

}  // namespace
}  // namespace lpctest
