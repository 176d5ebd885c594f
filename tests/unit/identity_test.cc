#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "identity.h"
#include "proc_status.h"

namespace lpc {
namespace {

TEST(ParseProcStatus, ReadsTgidGroupsAndCapabilities) {
  auto st = ParseProcStatus(
      "Name:\tbash\nTgid:\t4242\nPid:\t4243\nGroups:\t4 24 27 \n"
      "CapPrm:\t000001ffffffffff\nCapEff:\t0000000000000400\n");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->tgid, 4242u);
  EXPECT_EQ(st->groups, (std::vector<uint32_t>{4, 24, 27}));
  EXPECT_EQ(st->cap_permitted, 0x1ffffffffffull);
  EXPECT_EQ(st->cap_effective, 0x400ull);
}

TEST(ParseProcStatus, EmptyGroupsLine) {
  auto st = ParseProcStatus("Tgid:\t7\nGroups:\t\n");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->groups.empty());
}

TEST(ParseProcStatus, RejectsTextWithoutTgid) {
  EXPECT_FALSE(ParseProcStatus("Name:\tx\n"));
  EXPECT_FALSE(ParseProcStatus(""));
}

TEST(ReadProcStatus, OwnProcessAndMissingThread) {
  auto st = ReadProcStatus(static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->tgid, static_cast<uint32_t>(getpid()));
  EXPECT_FALSE(ReadProcStatus(0));
}

}  // namespace
}  // namespace lpc

namespace lpc {
namespace {

TEST(ProcessIdCache, MapsThreadsToTheirProcess) {
  ProcessIdCache cache;
  uint32_t self = static_cast<uint32_t>(getpid());
  EXPECT_EQ(cache.PidOf(self), self);
  uint32_t from_thread = 0;
  uint32_t tid = 0;
  std::thread t([&] {
    tid = static_cast<uint32_t>(gettid());
    from_thread = cache.PidOf(tid);
  });
  t.join();
  EXPECT_NE(tid, self);
  EXPECT_EQ(from_thread, self);
  EXPECT_EQ(cache.PidOf(0), 0u);
}

TEST(ProcessIdCache, TrustsAnEntryWithinTheRecheckWindow) {
  ProcessIdCache cache(std::chrono::hours(1));
  uint32_t tid = 0;
  std::thread t([&] {
    tid = static_cast<uint32_t>(gettid());
    cache.PidOf(tid);
  });
  t.join();
  // Callers are alive by definition (they are in a syscall), and a dead
  // thread's id comes back only after the id space wraps: within the
  // window the cached answer stands without a syscall.
  EXPECT_EQ(cache.PidOf(tid), static_cast<uint32_t>(getpid()));
}

TEST(ProcessIdCache, ForgetsThreadsThatExited) {
  ProcessIdCache cache(std::chrono::milliseconds(0));  // always ask the pidfd
  uint32_t tid = 0;
  std::thread t([&] {
    tid = static_cast<uint32_t>(gettid());
    cache.PidOf(tid);
  });
  t.join();
  // The thread is gone: its entry is stale and must not answer again. The
  // lookup now reads /proc, which no longer knows the thread.
  EXPECT_EQ(cache.PidOf(tid), 0u);
}

TEST(ProcessIdCache, ForkedChildIsItsOwnProcess) {
  ProcessIdCache cache(std::chrono::milliseconds(0));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  if (child == 0) {
    char c;
    (void)!read(fds[0], &c, 1);
    _exit(0);
  }
  EXPECT_EQ(cache.PidOf(static_cast<uint32_t>(child)),
            static_cast<uint32_t>(child));
  (void)!write(fds[1], "x", 1);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(cache.PidOf(static_cast<uint32_t>(child)), 0u);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace lpc
