// Sections with a real mount (lpc.7 "SECTIONS"): processes that map one
// section share its memory, futexes in it work across processes, the
// kernel secures it with mode bits and ACLs, it lives while a handle or a
// mapping holds it and no longer, write-back keeps its bytes, and its
// size is bounded by section_max and the user's quota.
#include <fcntl.h>
#include <linux/futex.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "test_users.h"

namespace lpctest {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kMiB = size_t{1} << 20;

// errno of a call that returns -1 on failure, 0 if it worked.
int ErrOf(long r) { return r < 0 ? errno : 0; }

void* MapShared(int fd, size_t length) {
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : p;
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  // Not FUTEX_PRIVATE_FLAG: the waiter is another process, and a shared
  // futex's key is the section's inode and offset.
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value,
                 nullptr, nullptr, 0);
}

class SectionTest : public ThreeUsersTest {
 protected:
  std::string DaemonOptions() const override {
    return "section_max=1048576,quota_section_bytes=2097152";
  }

  std::string S(const std::string& name) const {
    return P(std::string(LPC_SECTIONS_DIR) + "/" + name);
  }
  // A new section of `size` bytes, opened O_RDWR by the test (root).
  UniqueFd NewSection(const std::string& name, size_t size,
                      mode_t mode = 0600) {
    Opened o = Open(S(name), O_CREAT | O_EXCL | O_RDWR, mode);
    EXPECT_OK(o.err) << "creating " << name;
    if (o.err) return {};
    EXPECT_OK(ErrOf(ftruncate(o.fd.get(), static_cast<off_t>(size))));
    return std::move(o.fd);
  }
  bool Exists(const std::string& name) const {
    struct stat st;
    return stat(S(name).c_str(), &st) == 0;
  }
  int OpenAs(User u, const std::string& path, int flags) {
    return WaitExit(RunAs(u, [path, flags] { return Open(path, flags).err; }));
  }
};

TEST_F(SectionTest, TwoProcessesSeeEachOthersStoresAtOnce) {
  UniqueFd fd = NewSection("shared", 16 * kPage);
  ASSERT_TRUE(fd.valid());
  auto* mem = static_cast<char*>(MapShared(fd.get(), 16 * kPage));
  ASSERT_NE(mem, nullptr);
  Gate stored, answered;
  std::string path = S("shared");
  pid_t child = Spawn([&] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    auto* m = static_cast<char*>(MapShared(o.fd.get(), 16 * kPage));
    CHILD_CHECK(m != nullptr);
    std::memcpy(m + 5 * kPage, "ping", 5);  // no msync, no write(2)
    stored.Open();
    CHILD_CHECK(answered.Wait());
    CHILD_CHECK(std::strcmp(m + 9 * kPage, "pong") == 0);
    return 0;
  });
  ASSERT_TRUE(stored.Wait());
  EXPECT_STREQ(mem + 5 * kPage, "ping");
  // A read(2) through another handle sees the same page cache.
  Opened third = Open(path, O_RDONLY);
  ASSERT_OK(third.err);
  char buf[5] = {};
  ASSERT_EQ(5, pread(third.fd.get(), buf, 5, 5 * kPage));
  EXPECT_STREQ(buf, "ping");
  std::memcpy(mem + 9 * kPage, "pong", 5);
  answered.Open();
  EXPECT_EQ(0, WaitExit(child));
  munmap(mem, 16 * kPage);
}

TEST_F(SectionTest, AFutexInASectionWakesAnotherProcess) {
  UniqueFd fd = NewSection("futex", kPage);
  ASSERT_TRUE(fd.valid());
  auto* word = static_cast<std::atomic<uint32_t>*>(MapShared(fd.get(), kPage));
  ASSERT_NE(word, nullptr);
  std::string path = S("futex");
  pid_t waiter = Spawn([&] {
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    auto* w = static_cast<std::atomic<uint32_t>*>(MapShared(o.fd.get(), kPage));
    CHILD_CHECK(w != nullptr);
    while (w->load() == 0) Futex(w, FUTEX_WAIT, 0);
    return w->load() == 1 ? 0 : 1;
  });
  // Asleep in the futex, not spinning: only a wake gets it out.
  ASSERT_TRUE(WaitUntilBlockedIn(waiter, {SYS_futex})) << DescribeProc(waiter);
  word->store(1);
  EXPECT_EQ(1, Futex(word, FUTEX_WAKE, 1)) << "one waiter woken";
  EXPECT_EQ(0, WaitExit(waiter));
  munmap(word, kPage);
}

TEST_F(SectionTest, ModeBitsAndAclsDecideWhoOpensIt) {
  std::string path = S("private");
  UniqueFd fd = OpenedAs(alice_, path, O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_TRUE(fd.valid());
  struct stat st;
  ASSERT_EQ(0, fstat(fd.get(), &st));
  EXPECT_EQ(alice_.uid, st.st_uid);
  EXPECT_EQ(0600u, st.st_mode & 07777);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_ERR(EACCES, OpenAs(bob_, path, O_RDONLY));
  EXPECT_ERR(EACCES, OpenAs(carol_, path, O_RDONLY));
  // setfacl -m u:lpct_bob:rw, in the kernel's xattr encoding.
  struct Entry {
    uint16_t tag, perm;
    uint32_t id;
  };
  const Entry entries[] = {{0x01, 6, 0xffffffff},
                           {0x02, 6, bob_.uid},
                           {0x04, 0, 0xffffffff},
                           {0x10, 6, 0xffffffff},
                           {0x20, 0, 0xffffffff}};
  std::string acl(4 + sizeof entries, '\0');
  const uint32_t version = 2;
  std::memcpy(acl.data(), &version, 4);
  std::memcpy(acl.data() + 4, entries, sizeof entries);
  ASSERT_EQ(0, WaitExit(RunAs(alice_, [path, acl] {
              return ErrOf(setxattr(path.c_str(), "system.posix_acl_access",
                                    acl.data(), acl.size(), 0));
            })));
  EXPECT_OK(OpenAs(bob_, path, O_RDWR));
  EXPECT_ERR(EACCES, OpenAs(carol_, path, O_RDONLY));
  // The sticky folder: bob may open it but not remove alice's name.
  EXPECT_ERR(EPERM, WaitExit(RunAs(
                        bob_, [path] { return ErrOf(unlink(path.c_str())); })));
}

TEST_F(SectionTest, AMappingAloneKeepsItAndTheLastUnmapEndsIt) {
  UniqueFd fd = NewSection("held", kMiB);
  ASSERT_TRUE(fd.valid());
  auto* mem = static_cast<char*>(MapShared(fd.get(), kMiB));
  ASSERT_NE(mem, nullptr);
  std::memcpy(mem, "still here", 11);
  fd.reset();
  // The mapping holds it: the name, the bytes and the quota charge stay.
  ASSERT_TRUE(Exists("held"));
  UniqueFd other = NewSection("other", kMiB);  // the quota: 2 MiB
  UniqueFd third = NewSection("third", 0);
  ASSERT_TRUE(other.valid() && third.valid());
  EXPECT_ERR(EDQUOT, ErrOf(ftruncate(third.get(), 1)));
  Opened again = Open(S("held"), O_RDONLY);
  ASSERT_OK(again.err);
  char buf[11] = {};
  ASSERT_EQ(11, pread(again.fd.get(), buf, 11, 0));
  EXPECT_STREQ(buf, "still here");
  again.fd.reset();
  ASSERT_TRUE(Exists("held"));
  munmap(mem, kMiB);
  // The release follows the munmap (asynchronously, in the kernel).
  ASSERT_TRUE(WaitFor([&] { return !Exists("held"); }));
  // Its megabyte of quota is back.
  EXPECT_OK(ErrOf(ftruncate(third.get(), kMiB)));
}

TEST_F(SectionTest, UnlinkRemovesTheNameOnly) {
  UniqueFd fd = NewSection("named", kPage);
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(0, unlink(S("named").c_str()));
  EXPECT_FALSE(Exists("named"));
  ASSERT_EQ(3, pwrite(fd.get(), "abc", 3, 100));
  char buf[3];
  ASSERT_EQ(3, pread(fd.get(), buf, 3, 100));
  EXPECT_EQ(0, std::memcmp(buf, "abc", 3));
  struct stat st;
  ASSERT_EQ(0, fstat(fd.get(), &st));
  EXPECT_EQ(kPage, static_cast<size_t>(st.st_size));
  // A new section of the same name is another one.
  UniqueFd fresh = NewSection("named", kPage);
  ASSERT_TRUE(fresh.valid());
  struct stat st2;
  ASSERT_EQ(0, fstat(fresh.get(), &st2));
  EXPECT_NE(st.st_ino, st2.st_ino);
  ASSERT_EQ(3, pread(fresh.get(), buf, 3, 100));
  EXPECT_EQ(0, std::memcmp(buf, "\0\0\0", 3)) << "new memory is zero";
}

TEST_F(SectionTest, WriteBackKeepsTheBytes) {
  constexpr size_t kSize = 256 * kPage;
  UniqueFd fd = NewSection("wb", kSize);
  ASSERT_TRUE(fd.valid());
  auto* mem = static_cast<unsigned char*>(MapShared(fd.get(), kSize));
  ASSERT_NE(mem, nullptr);
  for (size_t i = 0; i < kSize; ++i)
    mem[i] = static_cast<unsigned char>(i % 251);
  ASSERT_EQ(0, msync(mem, kSize, MS_SYNC));
  ASSERT_EQ(0, munmap(mem, kSize));
  // Only the daemon's copy is left: the page cache goes.
  ASSERT_EQ(0, posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED));
  {
    UniqueFd drop(open("/proc/sys/vm/drop_caches", O_WRONLY));
    if (drop.valid()) {
      EXPECT_EQ(1, write(drop.get(), "1", 1));
    }
  }
  mem = static_cast<unsigned char*>(MapShared(fd.get(), kSize));
  ASSERT_NE(mem, nullptr);
  size_t wrong = 0;
  for (size_t i = 0; i < kSize; ++i) {
    wrong += mem[i] != static_cast<unsigned char>(i % 251);
  }
  EXPECT_EQ(0u, wrong);
  struct stat st;
  ASSERT_EQ(0, fstat(fd.get(), &st));
  EXPECT_EQ(kSize, static_cast<size_t>(st.st_size)) << "write-back keeps size";
  munmap(mem, kSize);
}

TEST_F(SectionTest, ShrinkingMakesTheMappingFaultPastTheNewEnd) {
  UniqueFd fd = NewSection("shrink", 2 * kPage);
  ASSERT_TRUE(fd.valid());
  int raw = fd.get();
  pid_t child = Spawn([raw] {
    // The kernel's own SIGBUS, not a sanitizer's report of it.
    signal(SIGBUS, SIG_DFL);
    auto* m = static_cast<volatile char*>(MapShared(raw, 2 * kPage));
    CHILD_CHECK(m != nullptr);
    m[kPage] = 1;
    CHILD_CHECK_ERR(0, ErrOf(ftruncate(raw, static_cast<off_t>(kPage))));
    m[0] = 1;      // still inside: fine
    m[kPage] = 2;  // past the end: SIGBUS, as with memfd
    return 0;
  });
  EXPECT_EQ(128 + SIGBUS, WaitExit(child));
}

TEST_F(SectionTest, SizeIsBoundedBySectionMaxAndTheQuota) {
  UniqueFd a = NewSection("a", kMiB);
  ASSERT_TRUE(a.valid());
  EXPECT_ERR(EFBIG, ErrOf(ftruncate(a.get(), kMiB + 1)));
  EXPECT_ERR(EFBIG, ErrOf(pwrite(a.get(), "x", 1, kMiB)));
  UniqueFd b = NewSection("b", kMiB);
  ASSERT_TRUE(b.valid());
  UniqueFd c = NewSection("c", 0);
  ASSERT_TRUE(c.valid());
  EXPECT_ERR(EDQUOT, ErrOf(ftruncate(c.get(), 1)));
  EXPECT_ERR(EDQUOT, ErrOf(pwrite(c.get(), "x", 1, 0)));
  ASSERT_EQ(0, ftruncate(b.get(), kMiB - 1));
  EXPECT_OK(ErrOf(pwrite(c.get(), "x", 1, 0)));
  struct stat st;
  ASSERT_EQ(0, fstat(c.get(), &st));
  EXPECT_EQ(1, st.st_size);
  EXPECT_EQ(4096, st.st_blksize);
}

TEST_F(SectionTest, TheFolderHoldsSectionsOnly) {
  struct stat st;
  ASSERT_EQ(0, stat(P(LPC_SECTIONS_DIR).c_str(), &st));
  EXPECT_EQ(01777u, st.st_mode & 07777);
  EXPECT_EQ(0u, st.st_uid);
  EXPECT_ERR(EPERM, ErrOf(mkdir(S("dir").c_str(), 0700)));
  UniqueFd fd = NewSection("s", 10);
  ASSERT_TRUE(fd.valid());
  EXPECT_ERR(EPERM, ErrOf(link(S("s").c_str(), S("t").c_str())));
  EXPECT_ERR(EPERM, ErrOf(rename(S("s").c_str(), P("s").c_str())));
  EXPECT_OK(ErrOf(rename(S("s").c_str(), S("t").c_str())));
  // O_CREAT outside .sections still makes a port, whose handle reads
  // records, not bytes.
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  ASSERT_EQ(0, stat(P("svc").c_str(), &st));
  EXPECT_EQ(LPC_STREAM_SIZE, static_cast<size_t>(st.st_size));
  EXPECT_NE(std::string::npos, StatsText().find("port /svc "));
  char buffer[64] = {};
  EXPECT_ERR(ENOTTY, ErrOf(ioctl(fd.get(), LPC_IOC_TRANSFER(64), buffer)));
}

}  // namespace
}  // namespace lpctest
