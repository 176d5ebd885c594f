#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "identity.h"
#include "proc_status.h"

namespace lpc {
namespace {

TEST(ParseProcStatus, ReadsTgidAndGroups) {
  auto st = ParseProcStatus(
      "Name:\tbash\nTgid:\t4242\nPid:\t4243\nGroups:\t4 24 27 \n"
      "CapPrm:\t000001ffffffffff\nCapEff:\t0000000000000400\n");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->tgid, 4242u);
  EXPECT_EQ(st->groups, (std::vector<uint32_t>{4, 24, 27}));
}

// Fields 3 to 22 of proc(5)'s /proc/PID/stat, with starttime 7777.
constexpr const char* kStatTail =
    " S 1 4242 4242 0 -1 4194560 1234 0 0 0 5 3 0 0 20 0 1 0 7777 "
    "8994816 1024 18446744073709551615 1 1 0 0 0 0 65536 3686404 1266761467 "
    "0 0 0 17 1 0 0 0 0 0\n";

TEST(ParseProcStartTime, ReadsField22) {
  EXPECT_EQ(ParseProcStartTime(std::string("4242 (bash)") + kStatTail), 7777u);
}

TEST(ParseProcStartTime, CommandNameWithSpacesAndParentheses) {
  // A process may name itself anything (prctl PR_SET_NAME): fields count
  // from the last ')'.
  EXPECT_EQ(
      ParseProcStartTime(std::string("4242 (a b) 1 2 3 4 5)") + kStatTail),
      7777u);
  EXPECT_EQ(ParseProcStartTime(std::string("4242 ()) S (x)") + kStatTail),
            7777u);
  EXPECT_EQ(ParseProcStartTime(std::string("4242 ( )") + kStatTail), 7777u);
}

TEST(ParseProcStartTime, RejectsShortOrMalformedText) {
  EXPECT_FALSE(ParseProcStartTime(""));
  EXPECT_FALSE(ParseProcStartTime("4242 bash S 1 2"));
  EXPECT_FALSE(ParseProcStartTime("4242 (bash) S 1 4242 4242 0 -1"));
  EXPECT_FALSE(ParseProcStartTime(
      "4242 (bash) S 1 4242 4242 0 -1 4194560 1234 0 0 0 5 3 0 0 20 0 1 0 "
      "77x7 8994816\n"));
}

TEST(ReadProcStartTime, OwnProcessIsStableAndAChildDiffers) {
  auto mine = ReadProcStartTime(static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(mine);
  EXPECT_EQ(ReadProcStartTime(static_cast<uint32_t>(getpid())), mine);
  EXPECT_FALSE(ReadProcStartTime(0));
  // The start time of a process the system has just started is not earlier
  // than ours.
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  auto theirs = ReadProcStartTime(static_cast<uint32_t>(child));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(theirs);
  EXPECT_GE(*theirs, *mine);
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

TEST(ProcessIdCache, MoreWritersThanEntriesStillMostlyHit) {
  // Writers come round in turn. With one more writer than entries, a
  // cache that cleared itself when full (or evicted the least recently
  // used) missed on every lookup: a pidfd_open and a /proc read each.
  constexpr size_t kCapacity = 8;
  constexpr size_t kThreads = kCapacity + 1;
  constexpr int kRounds = 100;
  ProcessIdCache cache(std::chrono::hours(1), kCapacity);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::vector<uint32_t> tids;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      std::unique_lock lock(mu);
      tids.push_back(static_cast<uint32_t>(gettid()));
      cv.notify_all();
      cv.wait(lock, [&] { return done; });
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return tids.size() == kThreads; });
  }
  const uint32_t self = static_cast<uint32_t>(getpid());
  size_t wrong = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (uint32_t tid : tids) wrong += cache.PidOf(tid) != self;
  }
  EXPECT_EQ(0u, wrong) << "every lookup names the thread's process";
  EXPECT_LE(cache.size(), kCapacity);
  const uint64_t lookups = kRounds * kThreads;
  // Random eviction misses about one lookup in four here; clearing or
  // LRU would miss all of them.
  EXPECT_LT(cache.misses(), lookups / 2)
      << cache.misses() << " misses in " << lookups << " lookups";
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) t.join();
}

TEST(ProcessIdCache, KnowsTheStartTimeAndGroupsOfAThread) {
  ProcessIdCache cache;
  ThreadIdentity t = cache.Lookup(static_cast<uint32_t>(gettid()));
  EXPECT_EQ(t.pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(t.start_time, ReadProcStartTime(static_cast<uint32_t>(getpid())));
  ASSERT_TRUE(t.groups);
  EXPECT_EQ(*t.groups, ReadProcStatus(static_cast<uint32_t>(gettid()))->groups);
}

TEST(ProcessIdCache, CurrentGroupsAreReadWithinTheWindowToo) {
  if (geteuid() != 0) GTEST_SKIP() << "setgroups(2) needs root";
  ProcessIdCache cache(std::chrono::hours(1));
  std::vector<uint32_t> cached, current, after;
  std::thread t([&] {
    uint32_t tid = static_cast<uint32_t>(gettid());
    cache.Lookup(tid);
    gid_t groups[] = {4545};
    ASSERT_EQ(syscall(SYS_setgroups, 1, groups), 0);
    cached = *cache.Lookup(tid).groups;
    current = *cache.Lookup(tid, ProcessIdCache::Groups::kCurrent).groups;
    // What a connect read is what later messages compare with.
    after = *cache.Lookup(tid).groups;
  });
  t.join();
  EXPECT_NE(cached, (std::vector<uint32_t>{4545})) << "within the window";
  EXPECT_EQ(current, (std::vector<uint32_t>{4545}));
  EXPECT_EQ(after, (std::vector<uint32_t>{4545}));
}

TEST(ProcessIdCache, ReadsTheGroupsAgainWhenItRechecks) {
  if (geteuid() != 0) GTEST_SKIP() << "setgroups(2) needs root";
  ProcessIdCache cache(std::chrono::milliseconds(0));
  std::vector<uint32_t> before, after;
  std::thread t([&] {
    uint32_t tid = static_cast<uint32_t>(gettid());
    before = *cache.Lookup(tid).groups;
    // The raw system call changes this thread only (glibc's setgroups()
    // would change every thread of the test).
    gid_t groups[] = {4242, 4343};
    ASSERT_EQ(syscall(SYS_setgroups, 2, groups), 0);
    after = *cache.Lookup(tid).groups;
  });
  t.join();
  EXPECT_NE(before, after);
  EXPECT_EQ(after, (std::vector<uint32_t>{4242, 4343}));
}

}  // namespace
}  // namespace lpc
