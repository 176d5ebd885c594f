// The daemon's /dev/fuse channel (fs/kernel_channel.h), driven over a
// socketpair that stands in for /dev/fuse: the INIT reply it amends and the
// way it waits for the next request.
#include "kernel_channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace lpc {
namespace {

using std::chrono::microseconds;

// A session that is never mounted, for the channel's exit check, and a
// socketpair standing in for /dev/fuse.
class KernelChannelTest : public ::testing::Test {
 protected:
  void SetUp() override { NewSession(); }
  void TearDown() override { EndSession(); }

  // One session per channel: libfuse 3.14 keeps only the last custom I/O
  // of a session and frees only that one. Once attached, the session owns
  // the daemon's end (fuse_session_destroy closes it).
  void NewSession() {
    EndSession();
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp_));
    char arg0[] = "lpcfs";
    char* argv[] = {arg0, nullptr};
    fuse_args args = FUSE_ARGS_INIT(1, argv);
    fuse_lowlevel_ops ops{};
    session_ = fuse_session_new(&args, &ops, sizeof ops, nullptr);
    fuse_opt_free_args(&args);  // the session keeps no pointer into them
    ASSERT_NE(nullptr, session_);
  }
  void EndSession() {
    if (session_) fuse_session_destroy(session_);
    session_ = nullptr;
    if (!attached_ && sp_[0] >= 0) close(sp_[0]);
    if (sp_[1] >= 0) close(sp_[1]);
    sp_[0] = sp_[1] = -1;
    attached_ = false;
  }

  // The daemon's end is sp_[0]; the "kernel" writes requests into sp_[1]
  // and reads replies from it.
  void Attach(KernelChannel& channel) {
    fuse_custom_io io{};
    io.read = [](int, void*, size_t, void*) -> ssize_t { return -1; };
    io.writev = [](int, struct iovec*, int, void*) -> ssize_t { return -1; };
    ASSERT_EQ("", channel.Attach(session_, sp_[0], io));
    attached_ = true;
  }

  void SendInit(uint64_t unique, uint32_t offered) {
    struct {
      fuse_in_header h;
      fuse_init_in in;
    } req{};
    req.h.len = sizeof req;
    req.h.opcode = FUSE_INIT;
    req.h.unique = unique;
    req.in.major = 7;
    req.in.minor = 38;
    req.in.flags = offered;
    ASSERT_EQ(ssize_t(sizeof req), write(sp_[1], &req, sizeof req));
  }

  ssize_t ReadRequest(KernelChannel& channel) {
    std::vector<char> buf(4096);
    return channel.Read(sp_[0], buf.data(), buf.size());
  }

  // Writes a reply the way libfuse does (header, then the argument) and
  // returns the flags the "kernel" receives.
  uint32_t ReplyInit(KernelChannel& channel, uint64_t unique, int32_t error,
                     uint32_t flags) {
    fuse_out_header h{};
    fuse_init_out out{};
    h.len = sizeof h + sizeof out;
    h.unique = unique;
    h.error = error;
    out.major = 7;
    out.minor = 31;
    out.flags = flags;
    iovec iov[2] = {{&h, sizeof h}, {&out, sizeof out}};
    EXPECT_EQ(ssize_t(h.len), channel.Writev(sp_[0], iov, 2));
    struct {
      fuse_out_header h;
      fuse_init_out out;
    } got{};
    EXPECT_EQ(ssize_t(sizeof got), read(sp_[1], &got, sizeof got));
    return got.out.flags;
  }

  int sp_[2] = {-1, -1};
  bool attached_ = false;
  fuse_session* session_ = nullptr;
};

TEST_F(KernelChannelTest, InitReplyGainsParallelDiropsWhenOffered) {
  KernelChannel channel(microseconds(0));
  Attach(channel);
  SendInit(7, FUSE_PARALLEL_DIROPS | FUSE_ASYNC_READ);
  ASSERT_GT(ReadRequest(channel), 0);
  EXPECT_EQ(uint32_t(FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS),
            ReplyInit(channel, 7, 0, FUSE_ASYNC_READ));
  EXPECT_TRUE(channel.negotiated().init_seen);
  EXPECT_TRUE(channel.negotiated().parallel_dirops);
  // Only the INIT reply, once: a later reply that happens to reuse the
  // request id is written as it is.
  EXPECT_EQ(uint32_t(FUSE_ASYNC_READ),
            ReplyInit(channel, 7, 0, FUSE_ASYNC_READ));
}

TEST_F(KernelChannelTest, NothingAddedThatTheKernelDidNotOffer) {
  KernelChannel channel(microseconds(0));
  Attach(channel);
  SendInit(3, FUSE_ASYNC_READ);
  ASSERT_GT(ReadRequest(channel), 0);
  EXPECT_EQ(uint32_t(FUSE_ASYNC_READ),
            ReplyInit(channel, 3, 0, FUSE_ASYNC_READ));
  EXPECT_FALSE(channel.negotiated().parallel_dirops);
}

TEST_F(KernelChannelTest, OtherRepliesAndRefusedInitsAreLeftAlone) {
  KernelChannel channel(microseconds(0));
  Attach(channel);
  SendInit(5, FUSE_PARALLEL_DIROPS);
  ASSERT_GT(ReadRequest(channel), 0);
  EXPECT_EQ(0u, ReplyInit(channel, 6, 0, 0)) << "another request's reply";
  EXPECT_EQ(0u, ReplyInit(channel, 5, -EPROTO, 0)) << "a refused INIT";
  EXPECT_FALSE(channel.negotiated().parallel_dirops);
}

TEST_F(KernelChannelTest, AttachMakesTheDescriptorNonBlocking) {
  KernelChannel channel(microseconds(0));
  Attach(channel);
  EXPECT_NE(0, fcntl(sp_[0], F_GETFL) & O_NONBLOCK);
}

// A request that comes later is waited for, whether it arrives while the
// channel still spins or after it went to sleep in poll().
TEST_F(KernelChannelTest, ReadWaitsForTheNextRequest) {
  for (microseconds spin :
       {microseconds(0), microseconds(200), microseconds(5000)}) {
    NewSession();
    KernelChannel channel(spin);
    Attach(channel);
    std::thread kernel([this] {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      SendInit(9, 0);
    });
    std::vector<char> buf(4096);
    ssize_t n = channel.Read(sp_[0], buf.data(), buf.size());
    kernel.join();
    EXPECT_EQ(ssize_t(sizeof(fuse_in_header) + sizeof(fuse_init_in)), n)
        << "spin " << spin.count() << " us";
  }
}

// libfuse ends its loop when a read fails after fuse_session_exit() (a
// stopping signal): the channel must not keep waiting then.
TEST_F(KernelChannelTest, ReadEndsOnceTheSessionExits) {
  for (microseconds spin : {microseconds(0), microseconds(1000)}) {
    NewSession();
    KernelChannel channel(spin);
    Attach(channel);
    fuse_session_exit(session_);
    std::vector<char> buf(4096);
    errno = 0;
    EXPECT_EQ(-1, channel.Read(sp_[0], buf.data(), buf.size()));
    EXPECT_EQ(EINTR, errno);
  }
}

TEST_F(KernelChannelTest, ReadPassesOnTheDevicesErrors) {
  KernelChannel channel(microseconds(100));
  Attach(channel);
  std::vector<char> buf(4096);
  EXPECT_EQ(-1, channel.Read(-1, buf.data(), buf.size()));
  EXPECT_EQ(EBADF, errno);
}

}  // namespace
}  // namespace lpc
