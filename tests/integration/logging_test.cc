// The daemon as a native citizen: its log (lpcfs.8 "LOGGING"), its mount
// (one fuse.lpcfs entry, never two stacked) and the libfuse options it
// ignores (lpcfs.8 "OPTIONS").
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class LoggingTest : public MountTest {
 protected:
  std::string DaemonOptions() const override {
    return "log_level=debug,queue_messages=1";
  }
};

// The three usual mistakes of a hand-written server each still fail EINVAL,
// and the log names the port, the connection and the field.
TEST_F(LoggingTest, MalformedRecordsAreLoggedWithTheirField) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t client = Spawn([path] { return Open(path, O_RDWR).err; });
  Record connect = Expect(srv.get(), LPC_REC_CONNECT);
  const std::string conn = "conn " + std::to_string(connect.h.conn_id);

  // 1. The CONNECT record echoed back as ACCEPT, pid/uid/gid kept.
  lpc_record echoed = connect.h;
  echoed.type = LPC_REC_ACCEPT;
  EXPECT_ERR(EINVAL, WriteRawRecord(srv.get(), echoed, connect.payload));
  // 2. Header and payload in two writes: the header alone.
  lpc_record header{};
  header.type = LPC_REC_SEND;
  header.conn_id = connect.h.conn_id;
  header.length = 5;
  EXPECT_ERR(EINVAL, WriteRawRecord(srv.get(), header, "", true));
  // 3. A length that counts the header.
  header.length = sizeof(lpc_record) + 5;
  EXPECT_ERR(EINVAL, WriteRawRecord(srv.get(), header, "hello", true));

  std::string line =
      WaitForLogLine({"warning: record rejected on /svc", conn, "field pid"});
  EXPECT_NE(std::string::npos, line.find("(EINVAL)")) << line;
  WaitForLogLine({"record rejected on /svc", conn, "field length",
                  "header and payload must be one write"});
  WaitForLogLine({"record rejected on /svc", conn, "field length",
                  "counts the payload only"});
  EXPECT_EQ(std::string::npos, DaemonLog().find("hello"))
      << "never message contents";
  ASSERT_OK(Reject(srv.get(), connect.h.conn_id));
  EXPECT_ERR(ECONNREFUSED, WaitExit(client));
}

TEST_F(LoggingTest, PortsRefusalsAndFullQueuesAreLogged) {
  UniqueFd srv = CreatePort("dir-less");
  ASSERT_TRUE(srv.valid());
  const std::string me = "pid " + std::to_string(getpid());
  WaitForLogLine({"notice: port created on /dir-less server", me, "uid 0"});

  std::string path = P("dir-less");
  pid_t client = Spawn([path] { return Open(path, O_RDWR).err; });
  Record connect = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Reject(srv.get(), connect.h.conn_id));
  EXPECT_ERR(ECONNREFUSED, WaitExit(client));
  WaitForLogLine({"info: connection refused on /dir-less",
                  "conn " + std::to_string(connect.h.conn_id),
                  "client pid " + std::to_string(client),
                  "rejected by the server (ECONNREFUSED)"});

  // queue_messages=1: the second message finds the queue full.
  ConnectedClient c = ConnectAutoAccepted("auto");
  ASSERT_TRUE(c.client.valid());
  ASSERT_OK(SetNonblocking(c.client.get(), true));
  ASSERT_OK(WriteMsg(c.client.get(), "secret-1"));
  EXPECT_ERR(EAGAIN, WriteMsg(c.client.get(), "secret-2"));
  WaitForLogLine({"debug: queue full",
                  "conn " + std::to_string(c.connect.h.conn_id), "to server",
                  "(EAGAIN)"});
  EXPECT_EQ(std::string::npos, DaemonLog().find("secret"))
      << "never message contents";

  srv.reset();
  WaitForLogLine({"notice: port closed on /dir-less server", me});
}

class QuietLogTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "log_level=warning"; }
};

TEST_F(QuietLogTest, LinesBelowTheLevelAreNotWritten) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  lpc_record bad{};
  bad.type = LPC_REC_ACCEPT;
  bad.conn_id = 1;
  bad.uid = 7;
  EXPECT_ERR(EINVAL, WriteRawRecord(srv.get(), bad, ""));
  // The warning is written; the notices before it (serving, port created)
  // were not.
  WaitForLogLine({"warning: record rejected on /svc", "field uid"});
  EXPECT_EQ(std::string::npos, DaemonLog().find("notice:")) << DaemonLog();
}

// What mount.fuse3 passes (subtype=lpcfs) and libfuse's thread options: the
// mount is one fuse.lpcfs entry, and the ignored options say so.
class MountEntryTest : public MountTest {
 protected:
  std::string DaemonOptions() const override {
    return "subtype=lpcfs,clone_fd,max_threads=4";
  }
};

std::string MountInfoLine(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (point == dir) found = line;
  }
  return found;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST_F(MountEntryTest, OneFuseLpcfsEntryAndIgnoredOptionsSaySo) {
  std::string line = MountInfoLine(mount_dir());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(1u, Count(line, " - fuse.lpcfs lpcfs ")) << line;
  EXPECT_LE(Count(line, "subtype="), 1u) << line;
  WaitForLogLine({"ignoring -o clone_fd"});
  WaitForLogLine({"ignoring -o max_threads=4"});
}

// Runs `lpcfs -f DIR` and returns its exit status and output.
int RunLpcfs(const std::string& dir, std::string* out) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = Spawn([&] {
    dup2(p[1], 1);
    dup2(p[1], 2);
    CloseOtherFds({});
    execl(DaemonBinary(), "lpcfs", "-f", dir.c_str(),
          static_cast<char*>(nullptr));
    return 127;
  });
  close(p[1]);
  char buf[512];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) {
    out->append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  return WaitExit(pid);
}

TEST_F(MountEntryTest, ASecondDaemonOnTheSameFolderIsRefused) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string before = MountInfoLine(mount_dir());
  std::string out;
  EXPECT_EQ(1, RunLpcfs(mount_dir(), &out));
  EXPECT_NE(std::string::npos,
            out.find(mount_dir() + " is already an lpcfs mount"))
      << out;
  EXPECT_EQ(before, MountInfoLine(mount_dir())) << "nothing stacked";
  EXPECT_EQ(0, access(P("svc").c_str(), F_OK)) << "the port is still seen";
}

}  // namespace
}  // namespace lpctest
