// The daemon process itself: stopping it (lpcfs.8 "SIGNALS AND STOPPING")
// and its command line (lpcfs.8 "OPTIONS", "EXIT STATUS").
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class StopTest : public MountTest {};

TEST_F(StopTest, SigtermEndsWaitingCallsAndUnmounts) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  UniqueFd manual = CreatePort("manual");
  ASSERT_TRUE(manual.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Expect(srv.get(), LPC_REC_CONNECT);
  int cfd = client.fd.get();
  pid_t reader = Spawn([cfd] {
    std::string got;
    return ReadMsg(cfd, &got);
  });
  std::string path = P("manual");
  pid_t opener = Spawn([path] { return Open(path, O_RDWR).err; });
  Expect(manual.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitUntilBlockedIn(reader, ReadSyscalls()))
      << DescribeProc(reader);
  ASSERT_TRUE(WaitUntilBlockedIn(opener, OpenSyscalls()))
      << DescribeProc(opener);

  EXPECT_EQ(0, StopDaemon(SIGTERM)) << "lpcfs.8: exit status 0 on SIGTERM";
  EXPECT_ERR(ECONNABORTED, WaitExit(reader));
  EXPECT_ERR(ECONNABORTED, WaitExit(opener));
  std::string got;
  EXPECT_ERR(ENOTCONN, ReadMsg(cfd, &got)) << "later calls on open files";
  EXPECT_ERR(ENOTCONN, WriteMsg(cfd, "x"));
  EXPECT_FALSE(Mounted()) << "the mount point shows the directory again";
}

TEST_F(StopTest, UnmountIsRefusedWhileBusyThenEndsTheDaemonCleanly) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_NE(0, umount2(mount_dir().c_str(), 0));
  EXPECT_ERR(EBUSY, errno);
  EXPECT_TRUE(Mounted());
  srv.reset();
  // The release of the handle is asynchronous: retry while busy.
  ASSERT_TRUE(WaitFor(
      [&] { return umount2(mount_dir().c_str(), 0) == 0 || errno != EBUSY; }));
  EXPECT_FALSE(Mounted());
  EXPECT_EQ(0, WaitForDaemonExit()) << "lpcfs.8: exit status 0 on unmount";
}

// Runs `lpcfs -f ARGS... DIR` and returns its exit status; fails the test if
// it mounted instead of exiting (then stops it).
class CommandLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!InPrivateMountNamespace()) GTEST_SKIP() << "needs root";
    char dir[] = "/tmp/lpcfs-cli.XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(dir));
    dir_ = dir;
    ArmWatchdog(20, -1);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    KillAllChildren();
    umount2(dir_.c_str(), MNT_DETACH);
    rmdir(dir_.c_str());
    DisarmWatchdog();
  }

  int Run(std::vector<std::string> args, bool with_dir = true,
          std::string* out = nullptr) {
    int p[2];
    if (pipe(p) != 0) return -1;
    if (with_dir) args.push_back(dir_);
    pid_t pid = Spawn([&] {
      dup2(p[1], 1);
      dup2(p[1], 2);
      CloseOtherFds({});
      std::vector<char*> argv = {const_cast<char*>("lpcfs")};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(DaemonBinary(), argv.data());
      return 127;
    });
    close(p[1]);
    bool mounted = false;
    WaitFor([&] {
      char state = ProcState(pid);
      if (state == 'Z' || state == 0) return true;
      struct statfs st {};
      mounted = statfs(dir_.c_str(), &st) == 0 && st.f_type == 0x65735546;
      return mounted;
    });
    if (mounted) {
      ADD_FAILURE() << "lpcfs mounted instead of refusing the arguments";
      kill(pid, SIGKILL);
      umount2(dir_.c_str(), MNT_DETACH);
    }
    int code = WaitExit(pid);
    std::string text;
    char buf[512];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) {
      text.append(buf, static_cast<size_t>(n));
    }
    close(p[0]);
    if (out) *out = text;
    return code;
  }

  std::string dir_;
};

TEST_F(CommandLineTest, BadArgumentsExitWithTheDocumentedStatus) {
  EXPECT_EQ(2, Run({"-f", "-o", "queue_messages=lots"}));
  EXPECT_EQ(2, Run({"-f", "-o", "max_message=1048577"}));
  EXPECT_EQ(2, Run({"-f", "-o", "quota_bytes=1000"})) << "under max_message";
  EXPECT_EQ(2, Run({"-f"}, /*with_dir=*/false)) << "no mount point";
  EXPECT_EQ(2, Run({"-f", "/nonexistent/lpcfs-mount-point"}, false));
  EXPECT_EQ(1, Run({"-f", "-o", "no_such_option"}));
}

// lpcfs.8: spin_us is 0 to 10000 microseconds.
TEST_F(CommandLineTest, SpinOutsideItsRangeIsAUsageError) {
  std::string out;
  EXPECT_EQ(2, Run({"-f", "-o", "spin_us=10001"}, true, &out));
  EXPECT_NE(std::string::npos, out.find("spin_us must be 0 to 10000")) << out;
  EXPECT_EQ(2, Run({"-f", "-o", "spin_us=-1"}, true, &out));
  EXPECT_EQ(2, Run({"-f", "-o", "spin_us=fast"}));
}

// lpcfs.8 "PRIVILEGES": the user is looked up before mounting.
TEST_F(CommandLineTest, UnknownUserIsAUsageErrorAndNothingIsMounted) {
  std::string out;
  EXPECT_EQ(2, Run({"-f", "-o", "user=lpct_nosuchuser"}, true, &out));
  EXPECT_NE(std::string::npos, out.find("no such user: lpct_nosuchuser"))
      << out;
  EXPECT_EQ(2, Run({"-f", "-o", "user="}, true, &out));
  EXPECT_NE(std::string::npos, out.find("needs a user name")) << out;
}

TEST_F(CommandLineTest, VersionAndHelpExitZero) {
  std::string out;
  EXPECT_EQ(0, Run({"--version"}, false, &out));
  EXPECT_NE(std::string::npos,
            out.find("protocol " + std::to_string(LPC_PROTOCOL_VERSION)))
      << out;
  EXPECT_EQ(0, Run({"--help"}, false, &out));
  EXPECT_NE(std::string::npos, out.find("queue_messages")) << out;
  EXPECT_NE(std::string::npos, out.find("-o user=NAME")) << out;
  EXPECT_NE(std::string::npos, out.find("-o log_level=LEVEL")) << out;
  // lpcfs.8 "OPTIONS": the multithreaded loop's options are listed as
  // ignored, not with libfuse's descriptions of what they would do.
  EXPECT_NE(std::string::npos, out.find("accepted and ignored")) << out;
  EXPECT_EQ(std::string::npos, out.find("worker threads")) << out;
  EXPECT_EQ(std::string::npos, out.find("multi-threaded")) << out;
}

// lpcfs.8 "LOGGING": five levels by name.
TEST_F(CommandLineTest, UnknownLogLevelIsAUsageError) {
  std::string out;
  EXPECT_EQ(2, Run({"-f", "-o", "log_level=loud"}, true, &out));
  EXPECT_NE(std::string::npos, out.find("log_level must be error, warning"))
      << out;
}

}  // namespace
}  // namespace lpctest
