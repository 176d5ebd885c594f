// Malformed records on the server handle and unsupported file operations:
// each fails with the errno lpc.7 gives, and the daemon keeps serving
// (lpc.7 "SERVER HANDLE", "Creating a port").
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mount_fixture.h"

namespace lpctest {
namespace {

class BadInputTest : public MountTest {
 protected:
  // A port with one accepted connection whose client handle is ours.
  void SetUpConnection() {
    srv_ = CreateAutoAcceptPort("svc");
    ASSERT_TRUE(srv_.valid());
    Opened o = Open(P("svc"), O_RDWR);
    ASSERT_OK(o.err);
    client_ = std::move(o.fd);
    conn_ = Expect(srv_.get(), LPC_REC_CONNECT).h.conn_id;
    ASSERT_NE(0u, conn_);
  }

  // The daemon still works: a fresh port, a connection and a round trip.
  void ExpectStillServing() {
    UniqueFd srv = CreateAutoAcceptPort("fresh");
    ASSERT_TRUE(srv.valid());
    Opened client = Open(P("fresh"), O_RDWR);
    ASSERT_OK(client.err);
    Record c = Expect(srv.get(), LPC_REC_CONNECT);
    ASSERT_OK(WriteMsg(client.fd.get(), "ping"));
    Record m = Expect(srv.get(), LPC_REC_MESSAGE, c.h.conn_id);
    ASSERT_OK(Reply(srv.get(), c.h.conn_id, m.h.msg_id, "pong"));
    std::string got;
    ASSERT_OK(ReadMsg(client.fd.get(), &got));
    EXPECT_EQ("pong", got);
  }

  lpc_record Header(uint32_t type) const {
    lpc_record h{};
    h.type = type;
    h.conn_id = conn_;
    return h;
  }

  UniqueFd srv_;
  UniqueFd client_;
  uint64_t conn_ = 0;
};

TEST_F(BadInputTest, MalformedRecordsAreRejected) {
  ASSERT_NO_FATAL_FAILURE(SetUpConnection());
  int fd = srv_.get();

  // Shorter than a header.
  EXPECT_EQ(-1, write(fd, "short", 5));
  EXPECT_ERR(EINVAL, errno);
  lpc_record h = Header(LPC_REC_SEND);
  h.length = 4;
  EXPECT_EQ(-1, write(fd, &h, sizeof h - 1));
  EXPECT_ERR(EINVAL, errno);

  // length does not match the bytes written, either way.
  h = Header(LPC_REC_SEND);
  h.length = 10;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "abc", /*keep_length=*/true));
  h.length = 2;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "abc", true));
  h = Header(LPC_REC_ACCEPT);
  h.length = 1;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "", true));

  // Unknown types, and the types the daemon writes.
  for (uint32_t type : {0u, 4u, 15u, 21u, 0xffffffffu, 1u, 2u}) {
    SCOPED_TRACE("type " + std::to_string(type));
    EXPECT_ERR(EINVAL, WriteRawRecord(fd, Header(type), ""));
  }

  // Nonzero reserved or unused fields.
  h = Header(LPC_REC_SEND);
  h.reserved = 1;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "x"));
  h = Header(LPC_REC_SEND);
  h.pid = 1;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "x"));
  h = Header(LPC_REC_SEND);
  h.status = 5;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "x"));
  h = Header(LPC_REC_DISCONNECT);
  h.msg_id = 3;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, ""));
  h = Header(LPC_REC_PORT_OPTIONS);
  h.conn_id = 0;
  h.status = 1;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, ""));
  h = Header(LPC_REC_PORT_OPTIONS);  // conn_id must be 0 here
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, ""));
  h = Header(LPC_REC_SEND);
  h.uid = 1;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "x"));
  h = Header(LPC_REC_SEND);
  h.gid = 1;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, "x"));
  h = Header(LPC_REC_DISCONNECT);
  h.flags = LPC_DISCONNECT_SERVER_CLOSED;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, ""));
  h = Header(LPC_REC_ACCEPT);
  h.status = ECONNREFUSED;
  EXPECT_ERR(EINVAL, WriteRawRecord(fd, h, ""));
  // conn_id 0 (only PORT_OPTIONS has none); REPLY needs a msg_id.
  EXPECT_ERR(EINVAL, Send(fd, 0, "x"));
  EXPECT_ERR(EINVAL, Accept(fd, 0));
  EXPECT_ERR(EINVAL, Reply(fd, conn_, 0, "x"));

  // Payload limits: 0 bytes is invalid, over the port's limit is too long.
  EXPECT_ERR(EINVAL, Send(fd, conn_, ""));
  EXPECT_ERR(EMSGSIZE,
             Send(fd, conn_, std::string(LPC_DEFAULT_MAX_MESSAGE + 1, 'x')));
  EXPECT_ERR(EMSGSIZE,
             Send(fd, conn_, std::string(LPC_MAX_MESSAGE_LIMIT, 'x')));

  // Nothing of that reached the client; the connection is fine.
  EXPECT_EQ(0, PollOnce(client_.get(), POLLIN, 0));
  ASSERT_OK(Send(fd, conn_, "fine"));
  std::string got;
  ASSERT_OK(ReadMsg(client_.get(), &got));
  EXPECT_EQ("fine", got);
  ExpectStillServing();
}

TEST_F(BadInputTest, UnknownIdsAndMessageIds) {
  ASSERT_NO_FATAL_FAILURE(SetUpConnection());
  int fd = srv_.get();
  EXPECT_ERR(ENOTCONN, Send(fd, 999999, "who?"));
  EXPECT_ERR(ENOTCONN, Reply(fd, 999999, 1, "who?"));
  EXPECT_ERR(ENOTCONN, Disconnect(fd, 999999));

  // REPLY needs a message the server has read and not yet answered.
  EXPECT_ERR(ENOMSG, Reply(fd, conn_, 1, "nothing sent yet"));
  ASSERT_OK(WriteMsg(client_.get(), "q1"));
  ASSERT_TRUE(WaitFor([&] { return PollOnce(fd, POLLIN, 0) > 0; }));
  EXPECT_ERR(ENOMSG, Reply(fd, conn_, 1, "not read yet"));
  Record q = Expect(fd, LPC_REC_MESSAGE, conn_);
  EXPECT_ERR(ENOMSG, Reply(fd, conn_, q.h.msg_id + 1, "unknown id"));
  ASSERT_OK(Reply(fd, conn_, q.h.msg_id, "answer"));
  EXPECT_ERR(ENOMSG, Reply(fd, conn_, q.h.msg_id, "second answer"));
  std::string got;
  ASSERT_OK(ReadMsg(client_.get(), &got));
  EXPECT_EQ("answer", got);
  EXPECT_EQ(0, PollOnce(client_.get(), POLLIN, 0)) << "only one answer";
  ExpectStillServing();
}

TEST_F(BadInputTest, RejectStatusMustBeAllowed) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string path = P("svc");
  pid_t child = Spawn([path] { return Open(path, O_RDWR).err; });
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  for (int status : {ENOENT, EINVAL, EIO, -1, 100000}) {
    SCOPED_TRACE("status " + std::to_string(status));
    EXPECT_ERR(EINVAL, Reject(srv.get(), c.h.conn_id, status));
  }
  // The request is still pending and can be answered properly.
  ASSERT_OK(Reject(srv.get(), c.h.conn_id, EBUSY));
  EXPECT_ERR(EBUSY, WaitExit(child));
}

TEST_F(BadInputTest, UnsupportedOperationsOnAPort) {
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  std::string port = P("svc");

  EXPECT_NE(0, truncate(port.c_str(), 10));
  EXPECT_ERR(EINVAL, errno);
  EXPECT_EQ(0, truncate(port.c_str(), 0)) << strerror(errno);
  EXPECT_EQ(0, ftruncate(srv.get(), 0)) << strerror(errno);
  struct stat size_st;
  ASSERT_EQ(0, stat(port.c_str(), &size_st));
  EXPECT_EQ(static_cast<off_t>(LPC_STREAM_SIZE), size_st.st_size)
      << "truncating to 0 changes nothing";
  EXPECT_NE(0, ftruncate(srv.get(), 1));
  EXPECT_ERR(EINVAL, errno);

  EXPECT_NE(0, link(port.c_str(), P("hardlink").c_str()));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, symlink("svc", P("symlink").c_str()));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, mkfifo(P("fifo").c_str(), 0666));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, mknod(P("plain").c_str(), S_IFREG | 0666, 0));
  EXPECT_ERR(EPERM, errno);

  UniqueFd other = CreatePort("other");
  ASSERT_TRUE(other.valid());
  EXPECT_NE(0, rename(port.c_str(), P("other").c_str()));
  EXPECT_ERR(EEXIST, errno);
  EXPECT_NE(0, syscall(SYS_renameat2, AT_FDCWD, port.c_str(), AT_FDCWD,
                       P("other").c_str(), RENAME_EXCHANGE));
  EXPECT_ERR(EINVAL, errno);

  EXPECT_NE(0, syscall(SYS_renameat2, AT_FDCWD, port.c_str(), AT_FDCWD,
                       P("other").c_str(), RENAME_NOREPLACE));
  EXPECT_ERR(EEXIST, errno);
  EXPECT_EQ(0, syscall(SYS_renameat2, AT_FDCWD, port.c_str(), AT_FDCWD,
                       P("moved").c_str(), RENAME_NOREPLACE))
      << strerror(errno);
  EXPECT_EQ(0, rename(P("moved").c_str(), port.c_str())) << strerror(errno);

  // Nothing of that changed the names.
  struct stat st;
  EXPECT_EQ(0, stat(port.c_str(), &st));
  EXPECT_EQ(0, stat(P("other").c_str(), &st));
  for (const char* gone : {"hardlink", "symlink", "fifo", "plain"}) {
    EXPECT_NE(0, lstat(P(gone).c_str(), &st)) << gone;
  }

  // Rename to a free name works, also into a folder; clients use the new
  // name.
  ASSERT_EQ(0, mkdir(P("dir").c_str(), 0755)) << strerror(errno);
  ASSERT_EQ(0, rename(port.c_str(), P("dir/renamed").c_str()))
      << strerror(errno);
  EXPECT_NE(0, stat(port.c_str(), &st));
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  Opened client = Open(P("dir/renamed"), O_RDWR);
  ASSERT_OK(client.err);
  Expect(srv.get(), LPC_REC_CONNECT);

  // rmdir of a folder with a port in it.
  EXPECT_NE(0, rmdir(P("dir").c_str()));
  EXPECT_ERR(ENOTEMPTY, errno);
  ASSERT_EQ(0, unlink(P("dir/renamed").c_str())) << strerror(errno);
  EXPECT_EQ(0, rmdir(P("dir").c_str())) << strerror(errno);

  ExpectStillServing();
}

TEST_F(BadInputTest, ReservedEntriesCannotBeChanged) {
  struct stat st;
  EXPECT_NE(0, unlink(P(".stats").c_str()));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, rename(P(".stats").c_str(), P("stats2").c_str()));
  EXPECT_ERR(EPERM, errno);
  EXPECT_NE(0, truncate(P(".stats").c_str(), 0));
  EXPECT_ERR(EPERM, errno);
  // Root may open anything for writing as far as the mode goes; the
  // daemon still refuses.
  EXPECT_ERR(EPERM, Open(P(".stats"), O_WRONLY).err);
  EXPECT_ERR(EPERM, Open(P(".stats"), O_RDWR).err);
  EXPECT_NE(0, rmdir(P(".conn").c_str()));
  EXPECT_ERR(EBUSY, errno);
  EXPECT_ERR(EEXIST, mkdir(P(".conn").c_str(), 0755) == 0 ? 0 : errno);
  EXPECT_ERR(EEXIST, mkdir(P(".stats").c_str(), 0755) == 0 ? 0 : errno);
  ASSERT_EQ(0, stat(P(".stats").c_str(), &st));
  EXPECT_EQ(0444u, st.st_mode & 07777);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(0, st.st_size) << "read .stats to end of file";
  EXPECT_EQ(POLLIN, PollOnce(Open(P(".stats"), O_RDONLY).fd.get(), POLLIN, 0));
  // As another user the kernel refuses first.
  pid_t nobody = Spawn([this] {
    CHILD_CHECK_ERR(0, BecomeUser(65534, 65534));
    return Open(P(".stats"), O_WRONLY).err;
  });
  EXPECT_ERR(EACCES, WaitExit(nobody));
  ExpectStillServing();
}

TEST_F(BadInputTest, PortFilesAreStreamsWithoutIoctlsMapsOrXattrs) {
  ASSERT_NO_FATAL_FAILURE(SetUpConnection());
  Opened conn =
      Open(P(std::string(LPC_CONN_DIR) + "/" + std::to_string(conn_)), O_RDWR);
  ASSERT_OK(conn.err);
  char buf[8] = {};
  for (int fd : {srv_.get(), client_.get(), conn.fd.get()}) {
    SCOPED_TRACE("fd " + std::to_string(fd));
    EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
    EXPECT_ERR(ESPIPE, errno);
    EXPECT_EQ(-1, pread(fd, buf, sizeof buf, 0));
    EXPECT_ERR(ESPIPE, errno);
    EXPECT_EQ(-1, pwrite(fd, "x", 1, 0));
    EXPECT_ERR(ESPIPE, errno);
    EXPECT_EQ(-1, ioctl(fd, _IO('L', 1)));
    EXPECT_ERR(ENOTTY, errno);
    EXPECT_EQ(MAP_FAILED, mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0));
    EXPECT_ERR(ENODEV, errno);
  }
  // The only extended attributes are the ACLs (lpc.7 "ACCESS CONTROL").
  EXPECT_EQ(-1, getxattr(P("svc").c_str(), "user.x", buf, sizeof buf));
  EXPECT_ERR(ENODATA, errno);
  EXPECT_EQ(-1, setxattr(P("svc").c_str(), "user.x", "1", 1, 0));
  EXPECT_ERR(EOPNOTSUPP, errno);
  // Nothing of that disturbed the connection.
  EXPECT_EQ(0, PollOnce(client_.get(), POLLIN, 0));
  EXPECT_TRUE(NoRecordQueued(srv_.get()));
  // .stats is an ordinary seekable file.
  Opened stats = Open(P(LPC_STATS_FILE), O_RDONLY);
  ASSERT_OK(stats.err);
  EXPECT_EQ(2, lseek(stats.fd.get(), 2, SEEK_SET)) << strerror(errno);
  EXPECT_EQ(1, pread(stats.fd.get(), buf, 1, 0)) << strerror(errno);
  EXPECT_EQ('p', buf[0]);
  ExpectStillServing();
}

TEST_F(BadInputTest, FolderAndNameEdgeCases) {
  ASSERT_EQ(0, mkdir(P("a").c_str(), 0755));
  ASSERT_EQ(0, mkdir(P("a/b").c_str(), 0755));
  ASSERT_EQ(0, mkdir(P("empty").c_str(), 0755));
  UniqueFd srv = CreatePort("svc");
  ASSERT_TRUE(srv.valid());
  EXPECT_EQ(0, rename(P("svc").c_str(), P("svc").c_str())) << strerror(errno);
  EXPECT_NE(0, rename(P("a").c_str(), P("a/b/c").c_str()));
  EXPECT_ERR(EINVAL, errno);
  EXPECT_NE(0, rename(P("a").c_str(), P("empty").c_str()));
  EXPECT_ERR(EEXIST, errno) << "a rename never replaces, not even a folder";
  EXPECT_NE(0, truncate(P("a").c_str(), 0));
  EXPECT_ERR(EISDIR, errno);
  EXPECT_NE(0, unlink(P("a").c_str()));
  EXPECT_ERR(EISDIR, errno);
  EXPECT_NE(0, rmdir(P("svc").c_str()));
  EXPECT_ERR(ENOTDIR, errno);
  EXPECT_ERR(ENOTDIR, Open(P("svc/x"), O_CREAT | O_EXCL | O_RDWR, 0600).err);
  EXPECT_ERR(
      ENAMETOOLONG,
      Open(P(std::string(256, 'n')), O_CREAT | O_EXCL | O_RDWR, 0600).err);
  UniqueFd longest = CreatePort(std::string(255, 'n'));
  EXPECT_TRUE(longest.valid());
  ASSERT_EQ(0, rename(P("a").c_str(), P("empty/a").c_str())) << strerror(errno);
  struct stat st;
  EXPECT_EQ(0, stat(P("empty/a/b").c_str(), &st));
  // Timestamps can be set like on any file.
  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(0, utimensat(AT_FDCWD, P("svc").c_str(), times, 0))
      << strerror(errno);
  ASSERT_EQ(0, stat(P("svc").c_str(), &st));
  EXPECT_EQ(1000000000, st.st_mtim.tv_sec);
  struct statfs fs;
  ASSERT_EQ(0, statfs(mount_dir().c_str(), &fs));
  EXPECT_EQ(0x65735546, fs.f_type);
  EXPECT_EQ(4096, fs.f_bsize);
  EXPECT_EQ(255, fs.f_namelen);
  ExpectStillServing();
}

}  // namespace
}  // namespace lpctest
