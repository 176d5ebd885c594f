// Connecting to a port: the CONNECT record, accept, reject, auto-accept,
// creation rules and what happens to requests when the port goes away
// (lpc.7 "PORTS", "Connecting").
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class ConnectTest : public MountTest {};

// A child that connects with `flags` and reports open()'s errno (0 if it
// succeeded, after closing the handle).
pid_t SpawnConnect(const std::string& path, int flags = O_RDWR) {
  return Spawn([path, flags] {
    CloseOtherFds({});  // holds no copy of the server handle
    Opened o = Open(path, flags);
    return o.err;
  });
}

uint64_t CapEffOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      return std::stoull(line.substr(7), nullptr, 16);
    }
  }
  return ~uint64_t{0};
}

TEST_F(ConnectTest, ConnectRecordNamesTheProcessEvenFromAThread) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    int result = kChildCheckFailed;
    std::thread t([&] {
      CHILD_CHECK(gettid() != getpid());
      Opened o = Open(path, O_RDWR);
      if (o.err) {
        result = o.err;
        return;
      }
      result = WriteMsg(o.fd.get(), "from a thread");
    });
    t.join();
    return result;
  });

  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(static_cast<uint32_t>(child), c.h.pid)
      << "pid must be the client's process id, not its thread id";
  EXPECT_EQ(0u, c.h.uid);
  EXPECT_EQ(0u, c.h.gid);
  EXPECT_EQ(uint32_t{LPC_CONNECT_READ | LPC_CONNECT_WRITE}, c.h.flags);
  EXPECT_EQ(0u, c.h.msg_id);
  EXPECT_EQ(0, c.h.status);
  EXPECT_EQ(0u, c.h.reserved);
  EXPECT_NE(0u, c.h.conn_id);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));

  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ("from a thread", m.payload);
  EXPECT_EQ(static_cast<uint32_t>(child), m.h.pid)
      << "a message's pid is the writer's process id";
  EXPECT_EQ(1u, m.h.msg_id);
  EXPECT_EQ(0, WaitExit(child));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED}, d.h.flags);
}

TEST_F(ConnectTest, ConnectPayloadCarriesGroupsAndCapabilities) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  const std::vector<gid_t> groups = {4242, 100, 31337};
  pid_t child = Spawn([path, groups] {
    CHILD_CHECK(setgroups(groups.size(), groups.data()) == 0);
    return Open(path, O_RDONLY).err;
  });

  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  // The client waits in open() now, so its /proc entry is stable.
  uint64_t cap_eff = CapEffOf(child);
  EXPECT_EQ(uint32_t{LPC_CONNECT_READ}, c.h.flags);
  ConnectInfo ci = DecodeConnectInfo(c.payload);
  ASSERT_TRUE(ci.ok)
      << "CONNECT payload of " << c.payload.size()
      << " bytes is not lpc_connect_info + groups + lpc_connect_process";
  EXPECT_EQ(0u, ci.info.reserved);
  EXPECT_EQ(cap_eff, ci.info.cap_effective);
  EXPECT_NE(0u, ci.info.cap_permitted);
  std::vector<uint32_t> got = ci.groups;
  std::sort(got.begin(), got.end());
  EXPECT_EQ((std::vector<uint32_t>{100, 4242, 31337}), got);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(child));
}

TEST_F(ConnectTest, ConnectFlagsFollowTheOpenMode) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  struct Case {
    int open_flags;
    uint32_t want;
  };
  // O_CREAT (without O_EXCL), O_TRUNC and O_APPEND are ignored.
  for (Case k :
       {Case{O_RDONLY, LPC_CONNECT_READ}, Case{O_WRONLY, LPC_CONNECT_WRITE},
        Case{O_RDWR, LPC_CONNECT_READ | LPC_CONNECT_WRITE},
        Case{O_WRONLY | O_CREAT | O_TRUNC, LPC_CONNECT_WRITE},
        Case{O_WRONLY | O_APPEND, LPC_CONNECT_WRITE},
        Case{O_RDWR | O_CREAT, LPC_CONNECT_READ | LPC_CONNECT_WRITE}}) {
    SCOPED_TRACE("open flags " + std::to_string(k.open_flags));
    Opened client = Open(P("svc"), k.open_flags);
    ASSERT_OK(client.err);
    Record c = Expect(srv.get(), LPC_REC_CONNECT);
    EXPECT_EQ(k.want | LPC_CONNECT_ACCEPTED, c.h.flags);
    EXPECT_EQ(static_cast<uint32_t>(getpid()), c.h.pid);
    client.fd.reset();
    Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  }
}

TEST_F(ConnectTest, RejectStatusBecomesTheClientsErrno) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  struct Case {
    int status;
    int want;
  };
  for (Case k : {Case{0, ECONNREFUSED}, Case{ECONNREFUSED, ECONNREFUSED},
                 Case{EACCES, EACCES}, Case{EPERM, EPERM}, Case{EBUSY, EBUSY},
                 Case{EAGAIN, EAGAIN}}) {
    SCOPED_TRACE("reject status " + ErrName(k.status));
    pid_t child = SpawnConnect(P("svc"));
    Record c = Expect(srv.get(), LPC_REC_CONNECT);
    ASSERT_OK(Reject(srv.get(), c.h.conn_id, k.status));
    EXPECT_ERR(k.want, WaitExit(child));
    // The id is finished: nothing more can be done with it, and no
    // DISCONNECT record follows a reject (lpc.7 LPC_REC_REJECT).
    EXPECT_ERR(ENOTCONN, Accept(srv.get(), c.h.conn_id));
    EXPECT_TRUE(NoRecordQueued(srv.get()));
  }
}

TEST_F(ConnectTest, AcceptAndRejectErrors) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_ERR(ENOTCONN, Accept(srv.get(), 987654321));
  EXPECT_ERR(ENOTCONN, Reject(srv.get(), 987654321));

  pid_t child = SpawnConnect(P("svc"));
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_ERR(EISCONN, Accept(srv.get(), c.h.conn_id));
  EXPECT_ERR(EISCONN, Reject(srv.get(), c.h.conn_id));
  EXPECT_ERR(EINVAL, Reject(srv.get(), c.h.conn_id, ENOENT))
      << "the status is checked before EISCONN";
  EXPECT_EQ(0, WaitExit(child));
  Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  // Fully ended (its DISCONNECT was read): unknown now.
  EXPECT_ERR(ENOTCONN, Accept(srv.get(), c.h.conn_id));

  // An id of another port is unknown on this one.
  UniqueFd other = CreatePort("other");
  ASSERT_TRUE(other.valid());
  pid_t child2 = SpawnConnect(P("other"));
  Record c2 = Expect(other.get(), LPC_REC_CONNECT);
  EXPECT_ERR(ENOTCONN, Accept(srv.get(), c2.h.conn_id));
  ASSERT_OK(Accept(other.get(), c2.h.conn_id));
  EXPECT_EQ(0, WaitExit(child2));
}

TEST_F(ConnectTest, AutoAcceptOpensAtOnceAndMarksTheRecord) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  // No server action needed: this open in the test process itself returns.
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(
      uint32_t{LPC_CONNECT_READ | LPC_CONNECT_WRITE | LPC_CONNECT_ACCEPTED},
      c.h.flags);
  EXPECT_ERR(EISCONN, Accept(srv.get(), c.h.conn_id));
  EXPECT_ERR(EISCONN, Reject(srv.get(), c.h.conn_id));
  ASSERT_OK(WriteMsg(client.fd.get(), "ping"));
  EXPECT_EQ("ping", Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "pong"));
  std::string got;
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ("pong", got);

  // Switched off again: the next request waits for an answer.
  ASSERT_OK(SetPortOptions(srv.get(), 0));
  pid_t child = SpawnConnect(P("svc"));
  Record c2 = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(0u, c2.h.flags & LPC_CONNECT_ACCEPTED);
  ASSERT_TRUE(WaitUntilBlockedIn(child, OpenSyscalls())) << DescribeProc(child);
  ASSERT_OK(Reject(srv.get(), c2.h.conn_id, 0));
  EXPECT_ERR(ECONNREFUSED, WaitExit(child));
}

TEST_F(ConnectTest, SettingAutoAcceptAcceptsPendingRequests) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    Opened o = Open(path, O_RDWR);
    if (o.err) return o.err;
    return WriteMsg(o.fd.get(), "accepted");
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(0u, c.h.flags & LPC_CONNECT_ACCEPTED);
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  EXPECT_EQ(0, WaitExit(child));
  EXPECT_EQ("accepted",
            Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  EXPECT_ERR(EISCONN, Accept(srv.get(), c.h.conn_id));
}

TEST_F(ConnectTest, PortOptionsWithUnknownFlagsAreInvalid) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_ERR(EINVAL, SetPortOptions(srv.get(), 0x80));
  EXPECT_ERR(EINVAL, SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT | 0x4));
}

TEST_F(ConnectTest, CreateWithoutExclNeverCreates) {
  Opened o = Open(P("missing"), O_CREAT | O_RDWR, 0666);
  EXPECT_ERR(ECONNREFUSED, o.err);
  Opened w = Open(P("missing"), O_CREAT | O_WRONLY | O_TRUNC, 0666);
  EXPECT_ERR(ECONNREFUSED, w.err);
  struct stat st;
  EXPECT_NE(0, stat(P("missing").c_str(), &st));
  EXPECT_ERR(ENOENT, errno);
  EXPECT_ERR(ENOENT, Open(P("missing"), O_RDWR).err);
}

TEST_F(ConnectTest, CreateExclOnAnExistingNameIsEexist) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_ERR(EEXIST, Open(P("svc"), O_CREAT | O_EXCL | O_RDWR, 0666).err);
  // The reserved names at the root, too; but dot names are allowed.
  EXPECT_ERR(EEXIST, Open(P(".stats"), O_CREAT | O_EXCL | O_RDWR, 0666).err);
  EXPECT_ERR(EEXIST, Open(P(".conn"), O_CREAT | O_EXCL | O_RDWR, 0666).err);
  UniqueFd hidden = CreatePort(".hidden");
  EXPECT_TRUE(hidden.valid());
  ASSERT_EQ(0, mkdir(P("dir").c_str(), 0755)) << strerror(errno);
  UniqueFd nested = CreatePort("dir/.stats");
  EXPECT_TRUE(nested.valid()) << ".stats is reserved only at the root";
}

TEST_F(ConnectTest, StatShowsOwnerModeAndStreamSize) {
  std::string path = P("svc");
  FdChannel channel;
  pid_t child = Spawn([&] {
    umask(027);
    CHILD_CHECK(BecomeUser(0, 4321) == 0);
    Opened o = Open(path, O_CREAT | O_EXCL | O_RDWR, 0666);
    CHILD_CHECK(o.err == 0);
    CHILD_CHECK(channel.SendFd(o.fd.get()));
    return 0;
  });
  UniqueFd srv = channel.ReceiveFd();
  ASSERT_TRUE(srv.valid());
  EXPECT_EQ(0, WaitExit(child));
  struct stat st;
  ASSERT_EQ(0, stat(path.c_str(), &st)) << strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(0640u, st.st_mode & 07777) << "mode & ~umask";
  EXPECT_EQ(0u, st.st_uid);
  EXPECT_EQ(4321u, st.st_gid);
  // No data; the size only lets the kernel run writes in parallel (lpc.h).
  EXPECT_EQ(static_cast<off_t>(LPC_STREAM_SIZE), st.st_size);
  // The port still works after its creator exited: the handle lives on.
  Opened w = Open(path, O_CREAT | O_EXCL | O_RDWR, 0666);
  EXPECT_ERR(EEXIST, w.err);
}

TEST_F(ConnectTest, PortNameDisappearsWhenServerHandleCloses) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  srv.reset();
  // lpc.7 "Lifetime": when the server handle is closed, the name goes. The
  // release reaches the daemon before any later request (one FIFO, one daemon
  // thread).
  struct stat st;
  EXPECT_NE(0, stat(P("svc").c_str(), &st));
  EXPECT_ERR(ENOENT, errno);
  Opened o = Open(P("svc"), O_RDWR);
  EXPECT_ERR(ENOENT, o.err)
      << "the daemon answered " << ErrName(o.err)
      << " (ECONNREFUSED would mean the name outlived its port)";
  // The name is free again.
  UniqueFd again = CreatePort("svc");
  EXPECT_TRUE(again.valid());
}

TEST_F(ConnectTest, PendingRequestsFailWhenThePortCloses) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  pid_t read_one = SpawnConnect(P("svc"));
  Expect(srv.get(), LPC_REC_CONNECT);
  pid_t unread = SpawnConnect(P("svc"));
  ASSERT_TRUE(WaitUntilBlockedIn(unread, OpenSyscalls()))
      << DescribeProc(unread);
  ASSERT_TRUE(WaitFor([&] { return PollOnce(srv.get(), POLLIN, 0) > 0; }));
  srv.reset();
  EXPECT_ERR(ECONNREFUSED, WaitExit(read_one));
  EXPECT_ERR(ECONNREFUSED, WaitExit(unread));
}

TEST_F(ConnectTest, UnlinkedPortKeepsItsConnections) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_EQ(0, unlink(P("svc").c_str())) << strerror(errno);
  EXPECT_ERR(ENOENT, Open(P("svc"), O_RDWR).err);
  ASSERT_OK(WriteMsg(client.fd.get(), "still here"));
  EXPECT_EQ("still here",
            Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "me too"));
  std::string got;
  ASSERT_OK(ReadMsg(client.fd.get(), &got));
  EXPECT_EQ("me too", got);
  // The name is free for a new port while the old one lives on.
  UniqueFd second = CreatePort("svc");
  EXPECT_TRUE(second.valid());
}

TEST_F(ConnectTest, PortLivesAsLongAsAnyCopyOfTheServerHandle) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  struct stat st;
  // A dup keeps the port.
  UniqueFd copy(dup(srv.get()));
  ASSERT_TRUE(copy.valid());
  srv.reset();
  ASSERT_EQ(0, stat(P("svc").c_str(), &st)) << "closed with a dup still open";
  {
    Opened c = Open(P("svc"), O_RDWR);
    ASSERT_OK(c.err);
    EXPECT_EQ(uint32_t{LPC_REC_CONNECT},
              Expect(copy.get(), LPC_REC_CONNECT).h.type);
  }
  // So does a copy inherited by a child process.
  Gate release;
  pid_t holder = Spawn([&release] {
    release.Wait();
    return 0;
  });
  copy.reset();
  EXPECT_EQ(0, stat(P("svc").c_str(), &st)) << "closed with a child's copy";
  release.Open();
  EXPECT_EQ(0, WaitExit(holder));
  ASSERT_TRUE(WaitFor([&] { return stat(P("svc").c_str(), &st) != 0; }));
  EXPECT_ERR(ENOENT, errno);
}

TEST_F(ConnectTest, TooManyGroupsAreCutAndFlagged) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  constexpr int kGroups = LPC_MAX_GROUPS + 100;
  pid_t child = Spawn([path] {
    CloseOtherFds({});
    std::vector<gid_t> groups;
    for (int i = 0; i < kGroups; ++i) groups.push_back(50000 + i);
    CHILD_CHECK(setgroups(groups.size(), groups.data()) == 0);
    return Open(path, O_RDWR).err;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_TRUE(c.h.flags & LPC_CONNECT_GROUPS_TRUNCATED)
      << "flags 0x" << std::hex << c.h.flags;
  ConnectInfo ci = DecodeConnectInfo(c.payload);
  ASSERT_TRUE(ci.ok) << c.payload.size() << " payload bytes";
  EXPECT_EQ(uint32_t{LPC_MAX_GROUPS}, ci.info.ngroups);
  EXPECT_LE(c.payload.size() + sizeof(lpc_record), size_t{LPC_RECORD_MAX})
      << "a LPC_RECORD_MAX buffer holds any record";
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(child));
}

TEST_F(ConnectTest, NonblockingOpenStillWaitsForTheAnswer) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CloseOtherFds({});
    Opened o = Open(path, O_RDWR | O_NONBLOCK);
    if (o.err) return o.err;
    // The flag applies to what follows.
    std::string got;
    CHILD_CHECK_ERR(EAGAIN, ReadMsg(o.fd.get(), &got));
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(WaitUntilBlockedIn(child, OpenSyscalls())) << DescribeProc(child);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(child));
}

TEST_F(ConnectTest, AutoAcceptAlsoAcceptsRequestsNotYetRead) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] {
    CloseOtherFds({});
    return Open(path, O_RDWR).err;
  });
  ASSERT_TRUE(WaitFor([&] { return PollOnce(srv.get(), POLLIN, 0) > 0; }));
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  EXPECT_EQ(0, WaitExit(child));
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(0u, c.h.flags & LPC_CONNECT_ACCEPTED)
      << "accepted by turning auto-accept on, not at connect time";
  EXPECT_ERR(EISCONN, Accept(srv.get(), c.h.conn_id));
  Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
}

TEST_F(ConnectTest, DupAndForkShareOneConnection) {
  UniqueFd srv = CreateAutoAcceptPort("svc");
  ASSERT_TRUE(srv.valid());
  Opened client = Open(P("svc"), O_RDWR);
  ASSERT_OK(client.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  UniqueFd dup_fd(dup(client.fd.get()));
  Gate done;
  int fd = client.fd.get();
  pid_t child = Spawn([fd, &done] {
    CHILD_CHECK_ERR(0, WriteMsg(fd, "from the child"));
    done.Wait();
    return 0;
  });
  client.fd.reset();
  ASSERT_OK(WriteMsg(dup_fd.get(), "from the dup"));
  dup_fd.reset();
  // The child's copy keeps the connection.
  std::set<std::string> got;
  for (int i = 0; i < 2; ++i) {
    got.insert(Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id).payload);
  }
  EXPECT_EQ((std::set<std::string>{"from the child", "from the dup"}), got);
  EXPECT_TRUE(NoRecordQueued(srv.get())) << "no DISCONNECT yet";
  ASSERT_OK(Send(srv.get(), c.h.conn_id, "still connected"));
  done.Open();
  EXPECT_EQ(0, WaitExit(child));
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_CLIENT_CLOSED},
            Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id).h.flags);
}

class BacklogTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "backlog=2"; }
};

TEST_F(BacklogTest, FullBacklogIsEagain) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  pid_t a = SpawnConnect(P("svc"));
  pid_t b = SpawnConnect(P("svc"));
  Record ca = Expect(srv.get(), LPC_REC_CONNECT);
  Record cb = Expect(srv.get(), LPC_REC_CONNECT);
  // Both still wait for an answer (read records are still pending).
  pid_t c = SpawnConnect(P("svc"));
  EXPECT_ERR(EAGAIN, WaitExit(c));
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "a refused request leaves no record";
  ASSERT_OK(Accept(srv.get(), ca.h.conn_id));
  ASSERT_OK(Accept(srv.get(), cb.h.conn_id));
  EXPECT_EQ(0, WaitExit(a));
  EXPECT_EQ(0, WaitExit(b));
  // Room again.
  pid_t d = SpawnConnect(P("svc"));
  Record cd;
  do {
    cd = Next(srv.get());
  } while (cd.h.type == LPC_REC_DISCONNECT);
  ASSERT_EQ(uint32_t{LPC_REC_CONNECT}, cd.h.type) << Describe(cd);
  ASSERT_OK(Accept(srv.get(), cd.h.conn_id));
  EXPECT_EQ(0, WaitExit(d));
}

class ConnectTimeoutTest : public MountTest {
 protected:
  std::string DaemonOptions() const override { return "connect_timeout=1"; }
};

TEST_F(ConnectTimeoutTest, UnansweredRequestTimesOutAndIsWithdrawn) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  pid_t child = SpawnConnect(P("svc"));
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_ERR(ETIMEDOUT, WaitExit(child));
  Record d = Expect(srv.get(), LPC_REC_DISCONNECT, c.h.conn_id);
  EXPECT_EQ(uint32_t{LPC_DISCONNECT_WITHDRAWN}, d.h.flags);
  EXPECT_ERR(ENOTCONN, Accept(srv.get(), c.h.conn_id));
}

}  // namespace
}  // namespace lpctest
