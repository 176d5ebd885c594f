// What the daemon keeps of root once mounted (lpcfs.8 "PRIVILEGES"): as
// root it runs as nobody (or -o user=NAME) with every capability set empty
// and no_new_privs, ports still work for every user, and every way of
// stopping it still leaves no mount behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "test_users.h"

namespace lpctest {
namespace {

// The "Key:\tvalue" lines of /proc/PID/status (or of a task of it).
std::map<std::string, std::string> StatusFields(const std::string& path) {
  std::map<std::string, std::string> fields;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    auto start = value.find_first_not_of(" \t");
    fields[line.substr(0, colon)] =
        start == std::string::npos ? "" : value.substr(start);
  }
  return fields;
}

// Every thread's status file: capabilities are per thread.
std::vector<std::string> TaskStatusFiles(pid_t pid) {
  std::vector<std::string> files;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    files.push_back(e.path().string() + "/status");
  }
  return files;
}

std::string Ids(unsigned id) {
  std::string s = std::to_string(id);
  return s + "\t" + s + "\t" + s + "\t" + s;  // real, effective, saved, fs
}

// Whether /proc/self/mountinfo lists a mount at `dir`.
bool InMountinfo(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint;
    fields >> id >> parent >> dev >> root >> mountpoint;
    if (mountpoint == dir) return true;
  }
  return false;
}

class PrivilegeTest : public TwoUsersTest {
 protected:
  // Checks every thread of the daemon: no capability in any set,
  // no_new_privs, and the ids of `u` with no supplementary group.
  void ExpectDroppedTo(const User& u) {
    std::vector<std::string> files = TaskStatusFiles(daemon_pid());
    ASSERT_FALSE(files.empty());
    for (const std::string& file : files) {
      auto st = StatusFields(file);
      SCOPED_TRACE(file);
      for (const char* set :
           {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
        EXPECT_EQ("0000000000000000", st[set]) << set;
      }
      EXPECT_EQ("1", st["NoNewPrivs"]);
      EXPECT_EQ(Ids(u.uid), st["Uid"]);
      EXPECT_EQ(Ids(u.gid), st["Gid"]);
      EXPECT_EQ("", st["Groups"]);
    }
  }

  // Server `srv_user` owns an auto-accepting port; `client_user` connects,
  // sends a message and reads the reply (connect, message, reply).
  void ExpectRoundTrip(const User& srv_user, const User& client_user,
                       const std::string& name) {
    UniqueFd srv = OpenedAs(srv_user, P(name), O_CREAT | O_EXCL | O_RDWR, 0666);
    ASSERT_TRUE(srv.valid());
    ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
    std::string path = P(name);
    pid_t client = RunAs(client_user, [path] {
      Opened o = Open(path, O_RDWR);
      CHILD_CHECK_ERR(0, o.err);
      CHILD_CHECK_ERR(0, WriteMsg(o.fd.get(), "ping"));
      std::string got;
      CHILD_CHECK_ERR(0, ReadMsg(o.fd.get(), &got));
      CHILD_CHECK(got == "pong");
      return 0;
    });
    Record c = Expect(srv.get(), LPC_REC_CONNECT);
    EXPECT_EQ(client_user.uid, c.h.uid);
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    EXPECT_EQ("ping", m.payload);
    EXPECT_EQ(client_user.uid, m.h.uid);
    ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "pong"));
    EXPECT_EQ(0, WaitExit(client));
  }

  User Nobody() {
    User u;
    EXPECT_TRUE(LookUpUser("nobody", &u));
    return u;
  }
};

TEST_F(PrivilegeTest, DaemonRunsAsNobodyWithNoCapabilities) {
  ExpectDroppedTo(Nobody());
  // Non-dumpable since it changed uid: the kernel gives the files in its
  // /proc directory to root, and nobody's other processes cannot trace it.
  struct stat st {};
  std::string fd_dir = "/proc/" + std::to_string(daemon_pid()) + "/fd";
  ASSERT_EQ(0, stat(fd_dir.c_str(), &st)) << strerror(errno);
  EXPECT_EQ(0u, st.st_uid);
}

TEST_F(PrivilegeTest, PortsWorkForRootAndOtherUsers) {
  const User root;
  ExpectRoundTrip(root, alice_, "root-serves-alice");
  ExpectRoundTrip(alice_, root, "alice-serves-root");
  ExpectRoundTrip(alice_, bob_, "alice-serves-bob");
}

TEST_F(PrivilegeTest, StatsStillShowsPorts) {
  UniqueFd srv = OpenedAs(alice_, P("svc"), O_CREAT | O_EXCL | O_RDWR, 0640);
  ASSERT_TRUE(srv.valid());
  std::string text = StatsText();
  EXPECT_NE(std::string::npos,
            text.find("port /svc owner=" + std::to_string(alice_.uid) + " "))
      << text;
}

TEST_F(PrivilegeTest, SigtermLeavesNoMountBehind) {
  EXPECT_EQ(0, StopDaemon(SIGTERM));
  EXPECT_FALSE(Mounted());
  EXPECT_FALSE(InMountinfo(mount_dir()));
}

TEST_F(PrivilegeTest, SigintLeavesNoMountBehind) {
  EXPECT_EQ(0, StopDaemon(SIGINT));
  EXPECT_FALSE(InMountinfo(mount_dir()));
}

TEST_F(PrivilegeTest, UmountByRootEndsTheDaemonCleanly) {
  ASSERT_EQ(0, umount2(mount_dir().c_str(), 0)) << strerror(errno);
  EXPECT_EQ(0, WaitForDaemonExit());
  EXPECT_FALSE(InMountinfo(mount_dir()));
}

TEST_F(PrivilegeTest, FusermountUnmountEndsTheDaemonCleanly) {
  std::string dir = mount_dir();
  pid_t p = Spawn([dir] {
    execlp("fusermount3", "fusermount3", "-u", dir.c_str(), nullptr);
    return 127;
  });
  ASSERT_EQ(0, WaitExit(p));
  EXPECT_EQ(0, WaitForDaemonExit());
  EXPECT_FALSE(InMountinfo(mount_dir()));
}

// -o memory_windows: CAP_SYS_PTRACE, for process_vm_readv/writev on
// callers of any user (lpc.7 "MEMORY WINDOWS"), and nothing else.
class MemoryWindowsPrivilegeTest : public PrivilegeTest {
 protected:
  std::string DaemonOptions() const override { return "memory_windows"; }
};

TEST_F(MemoryWindowsPrivilegeTest, DaemonKeepsOnlyPtrace) {
  const User nobody = Nobody();
  std::vector<std::string> files = TaskStatusFiles(daemon_pid());
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    auto st = StatusFields(file);
    SCOPED_TRACE(file);
    // Bit 19: CAP_SYS_PTRACE.
    EXPECT_EQ("0000000000080000", st["CapEff"]);
    EXPECT_EQ("0000000000080000", st["CapPrm"]);
    EXPECT_EQ("0000000000080000", st["CapBnd"]);
    EXPECT_EQ("0000000000000000", st["CapInh"]);
    EXPECT_EQ("0000000000000000", st["CapAmb"]);
    EXPECT_EQ("1", st["NoNewPrivs"]);
    EXPECT_EQ(Ids(nobody.uid), st["Uid"]);
    EXPECT_EQ(Ids(nobody.gid), st["Gid"]);
    EXPECT_EQ("", st["Groups"]);
  }
  ExpectRoundTrip(alice_, bob_, "svc");
}

class NamedUserTest : public PrivilegeTest {
 protected:
  std::string DaemonOptions() const override { return "user=lpct_alice"; }
};

TEST_F(NamedUserTest, DaemonRunsAsTheNamedUser) {
  ExpectDroppedTo(alice_);
  ExpectRoundTrip(bob_, alice_, "svc");
  EXPECT_EQ(0, StopDaemon(SIGTERM));
  EXPECT_FALSE(InMountinfo(mount_dir()));
}

class RootUserTest : public PrivilegeTest {
 protected:
  std::string DaemonOptions() const override { return "user=root"; }
};

TEST_F(RootUserTest, KeepsRootForDebuggingWithNoNewPrivs) {
  auto st = StatusFields("/proc/" + std::to_string(daemon_pid()) + "/status");
  EXPECT_EQ(Ids(0), st["Uid"]);
  EXPECT_NE("0000000000000000", st["CapEff"]);
  EXPECT_EQ("1", st["NoNewPrivs"]);
  ExpectRoundTrip(User{}, alice_, "svc");
  EXPECT_EQ(0, StopDaemon(SIGTERM));
  EXPECT_FALSE(InMountinfo(mount_dir()));
}

}  // namespace
}  // namespace lpctest
