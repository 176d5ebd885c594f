// ProcessVmMemory (fs/process_vm_memory.h) against a real child process: the
// test and its child share a uid, so process_vm_* needs no capability
// here. A forked child has the parent's mappings at the same addresses,
// so the parent knows where the child's bytes are.
#include "process_vm_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "proc_status.h"

namespace lpc {
namespace {

// A child that waits until told to exit (by closing the pipe), then
// exits; reaped by the destructor.
class Child {
 public:
  Child() {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[1]);
      char c;
      while (read(fds[0], &c, 1) > 0) {
      }
      _exit(0);
    }
    close(fds[0]);
    tell_ = fds[1];
  }
  ~Child() {
    Exit();
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  // Makes the child exit, and waits until it has (a zombie: not reaped).
  void Exit() {
    if (tell_ < 0) return;
    close(tell_);
    tell_ = -1;
    siginfo_t info{};
    waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
  }
  Sender sender() const {
    Sender s;
    s.pid = static_cast<uint32_t>(pid_);
    s.start_time = ReadProcStartTime(s.pid).value_or(0);
    return s;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int tell_ = -1;
};

// Two pages; the second unmapped before the fork, so the child's first
// page ends its mapping.
class ProcessVmMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, p);
    base_ = static_cast<char*>(p);
    ASSERT_EQ(0, munmap(base_ + page_, page_));
    std::memset(base_, '.', page_);
    std::memcpy(base_, "client bytes", 12);
    std::memcpy(base_ + page_ - 4, "TAIL", 4);
  }
  void TearDown() override { munmap(base_, page_); }

  uint64_t Address(size_t offset) const {
    return reinterpret_cast<uint64_t>(base_) + offset;
  }

  size_t page_ = 0;
  char* base_ = nullptr;
};

TEST_F(ProcessVmMemoryTest, ReadsAndWritesTheChildsCopy) {
  Child child;
  ASSERT_GT(child.pid(), 0);
  std::memcpy(base_, "parent bytes", 12);  // after the fork: ours only
  ProcessVmMemory memory;
  auto pinned = memory.Pin(child.sender());
  ASSERT_TRUE(pinned) << Describe(pinned.error());
  PinnedProcess& p = *pinned.value();
  char buf[12];
  auto n = p.Read(Address(0), std::as_writable_bytes(std::span(buf)));
  ASSERT_TRUE(n) << Describe(n.error());
  EXPECT_EQ(12u, n.value());
  EXPECT_EQ("client bytes", std::string(buf, 12));
  auto w = p.Write(Address(0), std::as_bytes(std::span("CLIENT", 6)));
  ASSERT_TRUE(w);
  EXPECT_EQ(6u, w.value());
  ASSERT_TRUE(p.Read(Address(0), std::as_writable_bytes(std::span(buf))));
  EXPECT_EQ("CLIENT bytes", std::string(buf, 12));
  EXPECT_EQ("parent bytes", std::string(base_, 12)) << "not our own memory";
}

TEST_F(ProcessVmMemoryTest, StopsWhereTheMappingEndsAndFaultsPastIt) {
  Child child;
  ProcessVmMemory memory;
  auto pinned = memory.Pin(child.sender());
  ASSERT_TRUE(pinned);
  char buf[16];
  auto n = pinned.value()->Read(Address(page_ - 4),
                                std::as_writable_bytes(std::span(buf)));
  ASSERT_TRUE(n);
  EXPECT_EQ(4u, n.value()) << "the bytes done";
  EXPECT_EQ("TAIL", std::string(buf, 4));
  auto past = pinned.value()->Read(Address(page_),
                                   std::as_writable_bytes(std::span(buf)));
  ASSERT_FALSE(past);
  EXPECT_EQ(Error::kBadAddress, past.error());
  auto w = pinned.value()->Write(Address(page_ + 8),
                                 std::as_bytes(std::span("x", 1)));
  ASSERT_FALSE(w);
  EXPECT_EQ(Error::kBadAddress, w.error());
}

// A file mapping may need the daemon itself to fault its pages in (an
// lpcfs file): transfers stop where anonymous memory does.
TEST_F(ProcessVmMemoryTest, FileMappingsAreNotReached) {
  char path[] = "/tmp/lpc-window-test.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_EQ(0, ftruncate(fd, static_cast<off_t>(page_)));
  // The file right after the anonymous page, where the unmapped page was.
  void* file = mmap(base_ + page_, page_, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_FIXED, fd, 0);
  ASSERT_EQ(static_cast<void*>(base_ + page_), file);
  close(fd);
  Child child;
  ProcessVmMemory memory;
  auto pinned = memory.Pin(child.sender());
  ASSERT_TRUE(pinned);
  char buf[16];
  auto n = pinned.value()->Read(Address(page_ - 4),
                                std::as_writable_bytes(std::span(buf)));
  ASSERT_TRUE(n);
  EXPECT_EQ(4u, n.value()) << "up to the file mapping";
  auto in_file = pinned.value()->Read(Address(page_),
                                      std::as_writable_bytes(std::span(buf)));
  ASSERT_FALSE(in_file);
  EXPECT_EQ(Error::kBadAddress, in_file.error());
  auto w = pinned.value()->Write(Address(page_ + 8),
                                 std::as_bytes(std::span("x", 1)));
  ASSERT_FALSE(w);
  EXPECT_EQ(Error::kBadAddress, w.error());
  munmap(file, page_);
}

TEST_F(ProcessVmMemoryTest, AnExitedChildIsNotReached) {
  Child child;
  ProcessVmMemory memory;
  auto pinned = memory.Pin(child.sender());
  ASSERT_TRUE(pinned);
  child.Exit();  // a zombie: its pid is still taken, its memory gone
  char buf[4];
  auto n =
      pinned.value()->Read(Address(0), std::as_writable_bytes(std::span(buf)));
  ASSERT_FALSE(n);
  EXPECT_EQ(Error::kBrokenPipe, n.error());
  EXPECT_EQ(Error::kBrokenPipe, memory.Pin(child.sender()).error());
}

TEST_F(ProcessVmMemoryTest, APidWithAnotherStartTimeIsAnotherProcess) {
  Child child;
  ProcessVmMemory memory;
  Sender other = child.sender();
  other.start_time += 1;
  EXPECT_EQ(Error::kBrokenPipe, memory.Pin(other).error());
  Sender unknown;
  EXPECT_EQ(Error::kNotSupported, memory.Pin(unknown).error());
}

}  // namespace
}  // namespace lpc
