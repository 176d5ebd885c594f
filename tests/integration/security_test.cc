// Access control with real users (created with useradd if missing): the
// kernel checks mode bits (default_permissions), the sticky root protects
// other users' ports, .conn files belong to the port owner, and CONNECT
// records show who connected (lpc.7 "FILES", "Connecting").
#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "test_users.h"

namespace lpctest {
namespace {

class SecurityTest : public TwoUsersTest {
 protected:
  // open() as `u`; returns the errno (0: it worked, then closed).
  int OpenAs(User u, const std::string& path, int flags) {
    return WaitExit(RunAs(u, [path, flags] { return Open(path, flags).err; }));
  }

  // A port created by `u`; the server handle is passed back to the test.
  UniqueFd CreatePortAs(User u, const std::string& name, mode_t mode) {
    return OpenedAs(u, P(name), O_CREAT | O_EXCL | O_RDWR, mode);
  }

  std::string ConnPath(uint64_t id) const {
    return P(std::string(LPC_CONN_DIR) + "/" + std::to_string(id));
  }
};

TEST_F(SecurityTest, PrivatePortIsClosedToOtherUsers) {
  UniqueFd srv = CreatePortAs(alice_, "svc", 0600);
  ASSERT_TRUE(srv.valid());
  struct stat st;
  ASSERT_EQ(0, stat(P("svc").c_str(), &st));
  EXPECT_EQ(alice_.uid, st.st_uid);
  EXPECT_EQ(alice_.gid, st.st_gid);
  EXPECT_EQ(0600u, st.st_mode & 07777);

  EXPECT_ERR(EACCES, OpenAs(bob_, P("svc"), O_RDWR));
  EXPECT_ERR(EACCES, OpenAs(bob_, P("svc"), O_RDONLY));
  EXPECT_ERR(EACCES, OpenAs(bob_, P("svc"), O_WRONLY));
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "the kernel refuses bob before the daemon sees a request";

  std::string path = P("svc");
  pid_t a = RunAs(alice_, [path] {
    Opened o = Open(path, O_RDWR);
    if (o.err) return o.err;
    return WriteMsg(o.fd.get(), "alice here");
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(alice_.uid, c.h.uid);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(a));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(alice_.uid, m.h.uid);
}

TEST_F(SecurityTest, ModeBitsDecideWhichOpenModesOthersGet) {
  UniqueFd srv = CreatePortAs(alice_, "svc", 0644);
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  EXPECT_ERR(EACCES, OpenAs(bob_, P("svc"), O_RDWR));
  EXPECT_ERR(EACCES, OpenAs(bob_, P("svc"), O_WRONLY));
  EXPECT_OK(OpenAs(bob_, P("svc"), O_RDONLY));
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(bob_.uid, c.h.uid);
  EXPECT_EQ(uint32_t{LPC_CONNECT_READ | LPC_CONNECT_ACCEPTED}, c.h.flags);
}

TEST_F(SecurityTest, OpenPortShowsTheConnectingUser) {
  UniqueFd srv = CreatePortAs(alice_, "svc", 0666);
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t b = RunAs(bob_, [path] {
    Opened o = Open(path, O_RDWR);
    if (o.err) return o.err;
    return WriteMsg(o.fd.get(), "bob here");
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(static_cast<uint32_t>(b), c.h.pid);
  EXPECT_EQ(bob_.uid, c.h.uid);
  EXPECT_EQ(bob_.gid, c.h.gid);
  ConnectInfo ci = DecodeConnectInfo(c.payload);
  ASSERT_TRUE(ci.ok);
  EXPECT_EQ(0u, ci.info.cap_effective) << "bob has no capabilities";
  EXPECT_EQ(0u, ci.info.cap_permitted);
  EXPECT_EQ((std::vector<uint32_t>{bob_.gid}), ci.groups);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(b));
  Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
  EXPECT_EQ(bob_.uid, m.h.uid);
  EXPECT_EQ(bob_.gid, m.h.gid);
}

TEST_F(SecurityTest, FilesystemIdsAreWhatCounts) {
  // A root process acting with alice's filesystem ids is alice to lpcfs.
  UniqueFd srv = CreatePort("svc", 0666);
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  User a = alice_;
  pid_t child = Spawn([path, a] {
    CloseOtherFds({});
    setfsgid(a.gid);
    setfsuid(a.uid);
    return Open(path, O_RDWR).err;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(alice_.uid, c.h.uid);
  EXPECT_EQ(alice_.gid, c.h.gid);
  ASSERT_OK(Accept(srv.get(), c.h.conn_id));
  EXPECT_EQ(0, WaitExit(child));
}

TEST_F(SecurityTest, ConnFileBelongsToThePortOwner) {
  UniqueFd srv = CreatePortAs(alice_, "svc", 0666);
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  std::string path = P("svc");
  Gate done;
  pid_t b = Spawn([&] {
    CHILD_CHECK_ERR(0, BecomeUser(bob_.uid, bob_.gid, {bob_.gid}));
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    done.Wait();
    return 0;
  });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  std::string conn = ConnPath(c.h.conn_id);
  struct stat st;
  ASSERT_EQ(0, stat(conn.c_str(), &st)) << strerror(errno);
  EXPECT_EQ(alice_.uid, st.st_uid);
  EXPECT_EQ(0600u, st.st_mode & 07777);

  EXPECT_ERR(EACCES, OpenAs(bob_, conn, O_RDWR))
      << "the client must not open the server's end";
  EXPECT_ERR(EACCES, OpenAs(bob_, conn, O_RDONLY));
  pid_t a = RunAs(alice_, [conn] {
    Opened o = Open(conn, O_RDWR);
    if (o.err) return o.err;
    return WriteMsg(o.fd.get(), "hello bob");
  });
  EXPECT_EQ(0, WaitExit(a));
  done.Open();
  EXPECT_EQ(0, WaitExit(b));
}

TEST_F(SecurityTest, StickyRootProtectsOtherUsersPorts) {
  UniqueFd srv = CreatePortAs(alice_, "svc", 0666);
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  std::string elsewhere = P("bobs");
  pid_t b = RunAs(bob_, [path, elsewhere] {
    CHILD_CHECK(unlink(path.c_str()) != 0);
    int unlink_err = errno;
    CHILD_CHECK(rename(path.c_str(), elsewhere.c_str()) != 0);
    CHILD_CHECK_ERR(EPERM, errno);
    CHILD_CHECK(chmod(path.c_str(), 0600) != 0);
    CHILD_CHECK_ERR(EPERM, errno);
    return unlink_err;
  });
  EXPECT_ERR(EPERM, WaitExit(b));
  struct stat st;
  ASSERT_EQ(0, stat(path.c_str(), &st)) << "bob removed alice's port";
  EXPECT_EQ(0666u, st.st_mode & 07777);

  // Bob can make and remove his own port in the same root.
  pid_t own = RunAs(bob_, [elsewhere] {
    Opened o = Open(elsewhere, O_CREAT | O_EXCL | O_RDWR, 0600);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK(unlink(elsewhere.c_str()) == 0);
    return 0;
  });
  EXPECT_EQ(0, WaitExit(own));

  pid_t a =
      RunAs(alice_, [path] { return unlink(path.c_str()) == 0 ? 0 : errno; });
  EXPECT_EQ(0, WaitExit(a));
}

TEST_F(SecurityTest, OnlyTheOwnerChangesTheirFolder) {
  std::string dir = P("alice");
  std::string port = P("alice/svc");
  pid_t mk = RunAs(alice_,
                   [dir] { return mkdir(dir.c_str(), 0755) == 0 ? 0 : errno; });
  ASSERT_EQ(0, WaitExit(mk));
  struct stat st;
  ASSERT_EQ(0, stat(dir.c_str(), &st));
  EXPECT_EQ(alice_.uid, st.st_uid);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  UniqueFd srv = CreatePortAs(alice_, "alice/svc", 0666);
  ASSERT_TRUE(srv.valid());

  std::string bobs_port = P("alice/bobs");
  std::string sub = P("alice/sub");
  pid_t b = RunAs(bob_, [=] {
    CHILD_CHECK_ERR(EACCES,
                    Open(bobs_port, O_CREAT | O_EXCL | O_RDWR, 0666).err);
    CHILD_CHECK(unlink(port.c_str()) != 0);
    CHILD_CHECK_ERR(EACCES, errno);
    CHILD_CHECK(mkdir(sub.c_str(), 0755) != 0);
    CHILD_CHECK_ERR(EACCES, errno);
    CHILD_CHECK(rmdir(dir.c_str()) != 0);
    // But bob may connect: the port is 0666 and the folder searchable.
    return 0;
  });
  EXPECT_EQ(0, WaitExit(b));
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  EXPECT_OK(OpenAs(bob_, port, O_RDWR));

  pid_t a = RunAs(alice_, [=] {
    Opened o = Open(sub, O_CREAT | O_EXCL | O_RDWR, 0600);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK(unlink(sub.c_str()) == 0);
    CHILD_CHECK(unlink(port.c_str()) == 0);
    CHILD_CHECK(rmdir(dir.c_str()) == 0);
    return 0;
  });
  EXPECT_EQ(0, WaitExit(a));
}

TEST_F(SecurityTest, ClosedFolderHidesItsPorts) {
  std::string dir = P("private");
  pid_t mk = RunAs(alice_,
                   [dir] { return mkdir(dir.c_str(), 0700) == 0 ? 0 : errno; });
  ASSERT_EQ(0, WaitExit(mk));
  UniqueFd srv = CreatePortAs(alice_, "private/svc", 0666);
  ASSERT_TRUE(srv.valid());
  EXPECT_ERR(EACCES, OpenAs(bob_, P("private/svc"), O_RDWR))
      << "no search permission on the folder";
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

TEST_F(SecurityTest, ChmodAndChownApplyToLaterConnections) {
  UniqueFd srv = CreatePortAs(alice_, "svc", 0666);
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  EXPECT_OK(OpenAs(bob_, P("svc"), O_RDWR));
  uint64_t first = Expect(srv.get(), LPC_REC_CONNECT).h.conn_id;
  Expect(srv.get(), LPC_REC_DISCONNECT, first);
  std::string path = P("svc");
  pid_t a = RunAs(
      alice_, [path] { return chmod(path.c_str(), 0600) == 0 ? 0 : errno; });
  ASSERT_EQ(0, WaitExit(a));
  EXPECT_ERR(EACCES, OpenAs(bob_, P("svc"), O_RDWR));

  // Given to bob: he connects, and new connection files are his; those
  // of connections accepted before stay alice's.
  Opened before = Open(path, O_RDWR);
  ASSERT_OK(before.err);
  Record cbefore = Expect(srv.get(), LPC_REC_CONNECT);
  ASSERT_EQ(0, chown(path.c_str(), bob_.uid, bob_.gid)) << strerror(errno);
  EXPECT_OK(OpenAs(bob_, P("svc"), O_RDWR));
  Record cb = Expect(srv.get(), LPC_REC_CONNECT);
  EXPECT_EQ(bob_.uid, cb.h.uid);
  Expect(srv.get(), LPC_REC_DISCONNECT, cb.h.conn_id);
  Opened mine = Open(path, O_RDWR);
  ASSERT_OK(mine.err);
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  struct stat st;
  ASSERT_EQ(0, stat(ConnPath(c.h.conn_id).c_str(), &st)) << strerror(errno);
  EXPECT_EQ(bob_.uid, st.st_uid) << ".conn files belong to the port owner";
  ASSERT_EQ(0, stat(ConnPath(cbefore.h.conn_id).c_str(), &st));
  EXPECT_EQ(alice_.uid, st.st_uid) << "owner when it was accepted";
  EXPECT_ERR(EACCES, OpenAs(alice_, P("svc"), O_RDWR));
}

TEST_F(SecurityTest, SetgidFolderGivesItsGroupToFoldersNotPorts) {
  constexpr gid_t kShared = 4321;
  std::string dir = P("shared");
  ASSERT_EQ(0, mkdir(dir.c_str(), 0777)) << strerror(errno);
  ASSERT_EQ(0, chown(dir.c_str(), 0, kShared)) << strerror(errno);
  ASSERT_EQ(0, chmod(dir.c_str(), 02777)) << strerror(errno);
  std::string sub = P("shared/sub");
  pid_t a = RunAs(alice_,
                  [sub] { return mkdir(sub.c_str(), 0755) == 0 ? 0 : errno; });
  ASSERT_EQ(0, WaitExit(a));
  struct stat st;
  ASSERT_EQ(0, stat(sub.c_str(), &st));
  EXPECT_EQ(kShared, st.st_gid) << "BSD group semantics for folders";
  EXPECT_TRUE(st.st_mode & S_ISGID);
  EXPECT_EQ(alice_.uid, st.st_uid);
  UniqueFd srv = CreatePortAs(alice_, "shared/svc", 0666);
  ASSERT_TRUE(srv.valid());
  ASSERT_EQ(0, stat(P("shared/svc").c_str(), &st));
  EXPECT_EQ(alice_.gid, st.st_gid)
      << "a port's group is its creator's filesystem group";
}

}  // namespace
}  // namespace lpctest
