// The identity a server can trust, with real processes and users (lpc.7
// "CREDENTIALS", "WHO SERVES A NAME"): the context-change flags of MESSAGE
// records, the connecting process's start time and the pidfd recipe, and
// the user.lpc.server attribute of a port.
#include <fcntl.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "test_users.h"

namespace lpctest {
namespace {

constexpr uint32_t kIdentityChanged = LPC_MESSAGE_IDENTITY_CHANGED;
constexpr uint32_t kProcessChanged = LPC_MESSAGE_PROCESS_CHANGED;

// Field 22 of /proc/PID/stat, counted after the last ')' of the command
// name (proc(5)); empty if the process has gone.
std::optional<uint64_t> StartTimeOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(paren + 1));
  std::string field;
  for (int n = 3; n <= 22; ++n) fields >> field;
  if (!fields) return std::nullopt;
  return std::stoull(field);
}

std::optional<std::string> ServerAttribute(int fd) {
  char value[256];
  ssize_t n = fgetxattr(fd, LPC_SERVER_XATTR, value, sizeof value);
  if (n < 0) return std::nullopt;
  return std::string(value, static_cast<size_t>(n));
}

std::string ExpectedAttribute(uid_t uid, gid_t gid, pid_t pid,
                              uint64_t start_time) {
  return "uid=" + std::to_string(uid) + " gid=" + std::to_string(gid) +
         " pid=" + std::to_string(pid) +
         " start_time=" + std::to_string(start_time);
}

class IdentityTest : public TwoUsersTest {
 protected:
  // An auto-accepting port "svc" and a connection to it by this process.
  void SetUp() override {
    TwoUsersTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    srv_ = CreatePort("svc");
    ASSERT_TRUE(srv_.valid());
    ASSERT_OK(SetPortOptions(srv_.get(), LPC_PORT_AUTO_ACCEPT));
    Opened o = Open(P("svc"), O_RDWR);
    ASSERT_OK(o.err);
    client_ = std::move(o.fd);
    connect_ = Expect(srv_.get(), LPC_REC_CONNECT);
  }

  // The flags of the next MESSAGE record, which must carry `text`.
  uint32_t NextMessageFlags(const std::string& text) {
    Record m = Expect(srv_.get(), LPC_REC_MESSAGE, connect_.h.conn_id);
    EXPECT_EQ(text, m.payload);
    return m.h.flags;
  }

  UniqueFd srv_;
  UniqueFd client_;
  Record connect_;
};

TEST_F(IdentityTest, TheConnectingProcessWritesWithoutFlags) {
  ASSERT_OK(WriteMsg(client_.get(), "one"));
  EXPECT_EQ(0u, NextMessageFlags("one"));
  // Another thread of the same process is the same process.
  int err = -1;
  std::thread t([&] { err = WriteMsg(client_.get(), "two"); });
  t.join();
  ASSERT_OK(err);
  EXPECT_EQ(0u, NextMessageFlags("two"));
}

TEST_F(IdentityTest, ConnectCarriesTheStartTimeThatThePidfdRecipeChecks) {
  ConnectInfo ci = DecodeConnectInfo(connect_.payload);
  ASSERT_TRUE(ci.ok) << connect_.payload.size() << " bytes";
  EXPECT_EQ(static_cast<uint32_t>(getpid()), ci.process.pid);
  EXPECT_EQ(connect_.h.pid, ci.process.pid);
  EXPECT_EQ(0u, ci.process.reserved);
  EXPECT_EQ(StartTimeOf(getpid()), ci.process.start_time);

  // lpc.7's recipe: pidfd_open(pid) first, then the start time; equal
  // means the pidfd holds the client.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, ci.process.pid, 0));
  ASSERT_GE(pidfd, 0) << strerror(errno);
  EXPECT_EQ(StartTimeOf(static_cast<pid_t>(ci.process.pid)),
            ci.process.start_time);
  close(pidfd);
}

TEST_F(IdentityTest, TheRecipeRejectsAClientThatHasGone) {
  // A child connects and exits; once reaped its pid names nobody (or, one
  // day, another process with another start time).
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CloseOtherFds({});
    return Open(path, O_RDWR).err;
  });
  Record c = Expect(srv_.get(), LPC_REC_CONNECT);
  ASSERT_EQ(0, WaitExit(child));
  ConnectInfo ci = DecodeConnectInfo(c.payload);
  ASSERT_TRUE(ci.ok);
  EXPECT_EQ(static_cast<uint32_t>(child), ci.process.pid);
  EXPECT_NE(0u, ci.process.start_time);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, ci.process.pid, 0));
  if (pidfd >= 0) {
    EXPECT_NE(StartTimeOf(static_cast<pid_t>(ci.process.pid)),
              ci.process.start_time);
    close(pidfd);
  } else {
    EXPECT_EQ(ESRCH, errno);
  }
}

TEST_F(IdentityTest, AForkedChildOnTheParentsConnectionIsAnotherProcess) {
  int fd = client_.get();
  pid_t child = Spawn([fd] {
    CloseOtherFds({fd});
    return WriteMsg(fd, "from the child");
  });
  ASSERT_EQ(0, WaitExit(child));
  Record m = Expect(srv_.get(), LPC_REC_MESSAGE, connect_.h.conn_id);
  EXPECT_EQ(static_cast<uint32_t>(child), m.h.pid);
  EXPECT_EQ(kProcessChanged, m.h.flags) << "same ids and groups as at connect";
  ASSERT_OK(WriteMsg(client_.get(), "parent again"));
  EXPECT_EQ(0u, NextMessageFlags("parent again"));
}

TEST_F(IdentityTest, ADescriptorPassedOverAUnixSocketIsAnotherProcess) {
  // The receiver exists before the descriptor does: it gets it only
  // through SCM_RIGHTS.
  FdChannel channel;
  int inherited[] = {client_.get(), srv_.get()};
  pid_t receiver = Spawn([&] {
    // Forked after the connect: drop the copies fork gave it.
    for (int fd : inherited) close(fd);
    UniqueFd fd = channel.ReceiveFd();
    CHILD_CHECK(fd.valid());
    return WriteMsg(fd.get(), "passed on");
  });
  ASSERT_TRUE(channel.SendFd(client_.get()));
  ASSERT_EQ(0, WaitExit(receiver));
  Record m = Expect(srv_.get(), LPC_REC_MESSAGE, connect_.h.conn_id);
  EXPECT_EQ(static_cast<uint32_t>(receiver), m.h.pid);
  EXPECT_EQ(kProcessChanged, m.h.flags);
}

TEST_F(IdentityTest, TheSameProcessWritingAsAnotherUserChangedIdentity) {
  // setfsuid(2) and setfsgid(2) change the calling thread only.
  int err = -1;
  std::thread t([&] {
    setfsgid(alice_.gid);
    setfsuid(alice_.uid);
    err = WriteMsg(client_.get(), "as alice");
    setfsuid(0);
    setfsgid(0);
  });
  t.join();
  ASSERT_OK(err);
  Record m = Expect(srv_.get(), LPC_REC_MESSAGE, connect_.h.conn_id);
  EXPECT_EQ(alice_.uid, m.h.uid);
  EXPECT_EQ(alice_.gid, m.h.gid);
  EXPECT_EQ(kIdentityChanged, m.h.flags) << "the same process";
}

TEST_F(IdentityTest, AChildThatBecameAnotherUserChangedBoth) {
  int fd = client_.get();
  User alice = alice_;
  pid_t child = Spawn([fd, alice] {
    CloseOtherFds({fd});
    CHILD_CHECK_ERR(0, BecomeUser(alice.uid, alice.gid, {alice.gid}));
    return WriteMsg(fd, "root's connection, alice's write");
  });
  ASSERT_EQ(0, WaitExit(child));
  Record m = Expect(srv_.get(), LPC_REC_MESSAGE, connect_.h.conn_id);
  EXPECT_EQ(alice_.uid, m.h.uid);
  EXPECT_EQ(kIdentityChanged | kProcessChanged, m.h.flags);
}

TEST_F(IdentityTest, OtherGroupsWithTheSameIdsChangedIdentity) {
  // The raw system call changes this thread's groups only (glibc's
  // setgroups() would change every thread of the test). A thread the
  // daemon has not seen yet: its groups are read at its first write.
  int err = -1;
  std::thread t([&] {
    gid_t groups[] = {4242};
    if (syscall(SYS_setgroups, 1, groups) != 0) return;
    err = WriteMsg(client_.get(), "other groups");
  });
  t.join();
  ASSERT_OK(err);
  EXPECT_EQ(kIdentityChanged, NextMessageFlags("other groups"));
}

TEST_F(IdentityTest, ServerAttributeNamesTheServingProcess) {
  ASSERT_EQ(ExpectedAttribute(0, 0, getpid(), *StartTimeOf(getpid())),
            ServerAttribute(srv_.get()).value_or("(none)"));
  // The client reads it on its connection and by name.
  EXPECT_EQ(ServerAttribute(srv_.get()), ServerAttribute(client_.get()));
  char value[256];
  ssize_t n = getxattr(P("svc").c_str(), LPC_SERVER_XATTR, value, sizeof value);
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(ServerAttribute(srv_.get()),
            std::string(value, static_cast<size_t>(n)));
  char names[256];
  n = flistxattr(client_.get(), names, sizeof names);
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(std::string(LPC_SERVER_XATTR) + '\0',
            std::string(names, static_cast<size_t>(n)));

  // Read-only, also for the port's owner.
  EXPECT_EQ(-1, fsetxattr(srv_.get(), LPC_SERVER_XATTR, "uid=0", 5, 0));
  EXPECT_EQ(EPERM, errno);
  EXPECT_EQ(-1, fremovexattr(srv_.get(), LPC_SERVER_XATTR));
  EXPECT_EQ(EPERM, errno);
  // Folders and the root have no server.
  EXPECT_EQ(-1, getxattr(P("").c_str(), LPC_SERVER_XATTR, value, sizeof value));
  EXPECT_EQ(ENODATA, errno);

  // Once the server handle has closed, nobody serves the port.
  srv_.reset();
  EXPECT_EQ(-1,
            fgetxattr(client_.get(), LPC_SERVER_XATTR, value, sizeof value));
  EXPECT_EQ(ENODATA, errno);
}

TEST_F(IdentityTest, ServerAttributeOfAnotherUsersPort) {
  // alice creates a port in a child and passes the server handle back:
  // the attribute names that child, as alice.
  FdChannel channel;
  Gate checked;
  std::string path = P("alices");
  User alice = alice_;
  pid_t creator = Spawn([&] {
    CHILD_CHECK_ERR(0, BecomeUser(alice.uid, alice.gid, {alice.gid}));
    Opened o = Open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK(channel.SendFd(o.fd.get()));
    CHILD_CHECK(checked.Wait());
    return 0;
  });
  UniqueFd srv = channel.ReceiveFd();
  ASSERT_TRUE(srv.valid());
  std::optional<uint64_t> start = StartTimeOf(creator);
  ASSERT_TRUE(start);
  // bob may read the port (mode 0644), so he may read who serves it.
  std::string seen;
  pid_t b = RunAs(bob_, [&] {
    char value[256];
    ssize_t n = getxattr(path.c_str(), LPC_SERVER_XATTR, value, sizeof value);
    if (n < 0) return errno;
    return std::string(value, static_cast<size_t>(n)) ==
                   ExpectedAttribute(alice.uid, alice.gid, creator, *start)
               ? 0
               : kChildCheckFailed;
  });
  EXPECT_EQ(0, WaitExit(b));
  checked.Open();
  EXPECT_EQ(0, WaitExit(creator));
  // The creator has gone; the attribute still names it, and the recipe
  // tells the server handle's holder that it is not the creator.
  EXPECT_EQ(ExpectedAttribute(alice_.uid, alice_.gid, creator, *start),
            ServerAttribute(srv.get()).value_or("(none)"));
}

}  // namespace
}  // namespace lpctest
