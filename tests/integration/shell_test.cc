// The shell's redirections work on ports: `>` (O_WRONLY|O_CREAT|O_TRUNC) and
// `<>` (O_RDWR|O_CREAT) are connection requests (lpc.7 "CONNECTING").
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class ShellTest : public MountTest {
 protected:
  // Runs `/bin/sh -c script` in a child; its stdout goes to *out_fd.
  pid_t RunShell(const std::string& script, UniqueFd* out_fd) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = Spawn([&] {
      dup2(p[1], 1);
      CloseOtherFds({});
      execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
      return 127;
    });
    close(p[1]);
    out_fd->reset(p[0]);
    return pid;
  }

  static std::string ReadAll(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
};

TEST_F(ShellTest, EchoRedirectedIntoAPortIsOneMessage) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  UniqueFd out;
  pid_t sh = RunShell("echo msg > '" + P("svc") + "'", &out);
  ASSERT_GT(sh, 0);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(uint32_t{LPC_CONNECT_WRITE}, c.h.flags);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("msg\n", m.payload);
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
  EXPECT_EQ(0, WaitExit(sh));
}

TEST_F(ShellTest, ReadWriteRedirectionOnAFileDescriptor) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  UniqueFd out;
  pid_t sh = RunShell("exec 3<>'" + P("svc") +
                          "' && echo ping >&3 && read line <&3 && "
                          "echo \"got $line\"",
                      &out);
  ASSERT_GT(sh, 0);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(uint32_t{LPC_CONNECT_READ | LPC_CONNECT_WRITE}, c.h.flags);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("ping\n", m.payload);
  ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "pong\n"));
  EXPECT_EQ("got pong\n", ReadAll(out.get()));
  EXPECT_EQ(0, WaitExit(sh));
  Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
}

TEST_F(ShellTest, RedirectionToARefusedPortFails) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  UniqueFd out;
  pid_t sh = RunShell(
      "{ echo msg > '" + P("svc") + "'; } 2>/dev/null || echo refused", &out);
  ASSERT_GT(sh, 0);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Reject(srv.get(), c.h.conn_id, 0));
  EXPECT_EQ("refused\n", ReadAll(out.get()));
  EXPECT_EQ(0, WaitExit(sh));
  // No port is created by `>` on a missing name either.
  UniqueFd out2;
  pid_t sh2 = RunShell(
      "{ echo x > '" + P("missing") + "'; } 2>/dev/null || echo no", &out2);
  EXPECT_EQ("no\n", ReadAll(out2.get()));
  EXPECT_EQ(0, WaitExit(sh2));
}

TEST_F(ShellTest, AppendAndInputRedirectionsConnectToo) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  UniqueFd out;
  pid_t sh = RunShell("echo appended >> '" + P("svc") + "'", &out);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(uint32_t{LPC_CONNECT_WRITE | LPC_CONNECT_ACCEPTED}, c.h.flags);
  EXPECT_EQ("appended\n",
            Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_EQ(0, WaitExit(sh));
  Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);

  UniqueFd out2;
  pid_t reader = RunShell(
      "IFS= read -r line < '" + P("svc") + "' && echo \"[$line]\"", &out2);
  Record c2 = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(uint32_t{LPC_CONNECT_READ | LPC_CONNECT_ACCEPTED}, c2.h.flags);
  ASSERT_OK(Send(srv.get(), c2.h.conn_id, "from the server\n"));
  EXPECT_EQ("[from the server]\n", ReadAll(out2.get()));
  EXPECT_EQ(0, WaitExit(reader));
}

}  // namespace
}  // namespace lpctest
