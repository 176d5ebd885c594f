// Views with real users (lpc.7 "VIEWS"): alice calls bob's port with a
// view of her section; bob opens /lpc/.views/ID, maps it, reads the data
// and writes a result that alice sees in her own mapping; carol can open
// neither the view nor the section; the view's name and the access lent to
// bob go with the reply. A reply carries a view back; the errors.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ioctl_buffer.h"
#include "test_users.h"

namespace lpctest {
namespace {

constexpr size_t kSize = size_t{1} << 20;

std::string WithView(const lpc_view& view, std::string_view message) {
  std::string payload(sizeof view, '\0');
  std::memcpy(payload.data(), &view, sizeof view);
  payload += message;
  return payload;
}

bool ViewOf(const Record& r, lpc_view* out) {
  if (!(r.h.flags & LPC_MESSAGE_VIEW) || r.payload.size() < sizeof *out) {
    return false;
  }
  std::memcpy(out, r.payload.data(), sizeof *out);
  return true;
}

lpc_view MakeView(uint64_t section, uint64_t offset, uint64_t length,
                  uint32_t access) {
  lpc_view v{};
  v.section = section;
  v.offset = offset;
  v.length = length;
  v.access = access;
  return v;
}

// A MESSAGE record carrying `view`, as LPC_IOC_CALL sends it.
lpc_record ViewMessage() {
  lpc_record h{};
  h.type = LPC_REC_MESSAGE;
  h.flags = LPC_MESSAGE_VIEW;
  return h;
}

uint64_t InodeOf(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// A word both processes of a test see (ids, no file needed).
uint64_t* SharedWord() {
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<uint64_t*>(p);
}

// The named-user entries of an access ACL xattr: uid -> perm.
std::vector<std::pair<uint32_t, uint16_t>> NamedUsers(const std::string& path) {
  std::vector<std::pair<uint32_t, uint16_t>> out;
  char buf[1024];
  ssize_t n =
      getxattr(path.c_str(), "system.posix_acl_access", buf, sizeof buf);
  for (ssize_t at = 4; n > 0 && at + 8 <= n; at += 8) {
    uint16_t tag, perm;
    uint32_t id;
    std::memcpy(&tag, buf + at, 2);
    std::memcpy(&perm, buf + at + 2, 2);
    std::memcpy(&id, buf + at + 4, 4);
    if (tag == 0x02) out.emplace_back(id, perm);
  }
  return out;
}

// Names in a folder, as `u` lists it (readdir without . and ..).
int CountEntriesAs(const User& u, const std::string& dir) {
  return WaitExit(RunAs(u, [dir] {
    DIR* d = opendir(dir.c_str());
    if (!d) return 200;
    int n = 0;
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) ++n;
    }
    closedir(d);
    return n;
  }));
}

class ViewTest : public ThreeUsersTest {
 protected:
  std::string DaemonOptions() const override {
    return "views_per_connection=2";
  }
  std::string S(const std::string& name) const {
    return P(std::string(LPC_SECTIONS_DIR) + "/" + name);
  }
  std::string V(uint64_t id) const {
    return P(std::string(LPC_VIEWS_DIR) + "/" + std::to_string(id));
  }
  // bob's auto-accepting port "svc", its server handle kept by the test.
  UniqueFd BobsPort() {
    UniqueFd srv = OpenedAs(bob_, P("svc"), O_CREAT | O_EXCL | O_RDWR, 0666);
    if (srv.valid()) {
      EXPECT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
    }
    return srv;
  }
  // The next MESSAGE record of the server handle, past CONNECT records.
  static int NextMessage(int srv, Record* r) {
    for (;;) {
      int err = ReadRecord(srv, r);
      if (err || r->h.type == LPC_REC_MESSAGE) return err;
    }
  }
};

TEST_F(ViewTest, TheServerReadsAndWritesTheCallersSectionThroughAView) {
  UniqueFd srv = BobsPort();
  ASSERT_TRUE(srv.valid());
  uint64_t* view_id = SharedWord();
  ASSERT_NE(view_id, nullptr);
  Gate viewed, checked, replied_and_checked;
  const std::string img = S("img");
  const std::string views_dir = P(LPC_VIEWS_DIR);
  const int srv_fd = srv.get();
  const User alice = alice_, bob = bob_;
  auto view_path = [this](uint64_t id) { return V(id); };

  pid_t server = Spawn([&] {
    CHILD_CHECK_ERR(0, BecomeUser(bob.uid, bob.gid, {bob.gid}));
    Record r;
    CHILD_CHECK_ERR(0, NextMessage(srv_fd, &r));
    CHILD_CHECK(r.h.flags & LPC_MESSAGE_CALL);
    lpc_view v;
    CHILD_CHECK(ViewOf(r, &v));
    CHILD_CHECK(v.id != 0 && v.length == kSize && v.offset == 0);
    CHILD_CHECK(r.payload.substr(sizeof v) == "please");
    *view_id = v.id;
    const std::string path = view_path(v.id);
    Opened o = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK(InodeOf(o.fd.get()) == v.section);  // the section itself
    auto* m = static_cast<char*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                                      MAP_SHARED, o.fd.get(), 0));
    CHILD_CHECK(m != MAP_FAILED);
    CHILD_CHECK(std::strcmp(m + 4096, "request data") == 0);
    std::strcpy(m + 8192, "result data");
    // Writing is lent, resizing is not: that is the owner's.
    CHILD_CHECK_ERR(EPERM, ftruncate(o.fd.get(), 4096) == 0 ? 0 : errno);
    viewed.Open();
    CHILD_CHECK(checked.Wait());
    munmap(m, kSize);
    o.fd.reset();
    CHILD_CHECK_ERR(0, Reply(srv_fd, r.h.conn_id, r.h.msg_id, "done"));
    // The reply ended the view: its name and the access lent are gone.
    CHILD_CHECK_ERR(ENOENT, Open(path, O_RDONLY).err);
    CHILD_CHECK_ERR(EACCES, Open(img, O_RDONLY).err);
    replied_and_checked.Open();
    return 0;
  });
  pid_t client = Spawn([&] {
    CHILD_CHECK_ERR(0, BecomeUser(alice.uid, alice.gid, {alice.gid}));
    Opened s = Open(img, O_CREAT | O_EXCL | O_RDWR, 0600);
    CHILD_CHECK_ERR(0, s.err);
    CHILD_CHECK(ftruncate(s.fd.get(), kSize) == 0);
    auto* m = static_cast<char*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                                      MAP_SHARED, s.fd.get(), 0));
    CHILD_CHECK(m != MAP_FAILED);
    std::strcpy(m + 4096, "request data");
    Opened c = Open(P("svc"), O_RDWR);
    CHILD_CHECK_ERR(0, c.err);
    IoctlBuffer call;
    CHILD_CHECK(call.Add(ViewMessage(),
                         WithView(MakeView(InodeOf(s.fd.get()), 0, kSize,
                                           LPC_VIEW_READ | LPC_VIEW_WRITE),
                                  "please")));
    CHILD_CHECK_ERR(0, call.Call(c.fd.get()));
    std::vector<Record> got;
    CHILD_CHECK(call.Parse(&got) && got.size() == 1);
    CHILD_CHECK(got[0].payload == "done");
    // What bob stored through his mapping of the view, in alice's own.
    CHILD_CHECK(std::strcmp(m + 8192, "result data") == 0);
    CHILD_CHECK(replied_and_checked.Wait());
    return 0;
  });
  ASSERT_TRUE(viewed.Wait());
  // While the view lives: bob is lent rw on alice's 0600 section, and
  // getfacl shows it; carol can open neither the view nor the section,
  // and .views lists the view to bob alone.
  auto named = NamedUsers(img);
  ASSERT_EQ(1u, named.size());
  EXPECT_EQ(bob_.uid, named[0].first);
  EXPECT_EQ(6, named[0].second);
  EXPECT_ERR(
      ENOENT,
      WaitExit(RunAs(carol_, [&] { return Open(V(*view_id), O_RDONLY).err; })));
  EXPECT_ERR(EACCES,
             WaitExit(RunAs(carol_, [&] { return Open(img, O_RDONLY).err; })));
  EXPECT_EQ(0, CountEntriesAs(carol_, views_dir));
  EXPECT_EQ(1, CountEntriesAs(bob_, views_dir));
  checked.Open();
  EXPECT_EQ(0, WaitExit(server));
  EXPECT_EQ(0, WaitExit(client));
}

TEST_F(ViewTest, AReplyCarriesAViewBackToTheClient) {
  UniqueFd srv = BobsPort();
  ASSERT_TRUE(srv.valid());
  // bob's own section, 0600, with his answer in it.
  UniqueFd answer =
      OpenedAs(bob_, S("answer"), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_TRUE(answer.valid());
  ASSERT_EQ(0, ftruncate(answer.get(), 4096));
  ASSERT_EQ(9, pwrite(answer.get(), "from bob", 9, 100));
  const uint64_t ino = InodeOf(answer.get());
  const std::string answer_path = S("answer");
  const User alice = alice_;
  auto view_path = [this](uint64_t id) { return V(id); };
  pid_t client = Spawn([&] {
    CHILD_CHECK_ERR(0, BecomeUser(alice.uid, alice.gid, {alice.gid}));
    CHILD_CHECK_ERR(EACCES, Open(answer_path, O_RDONLY).err);
    Opened c = Open(P("svc"), O_RDWR);
    CHILD_CHECK_ERR(0, c.err);
    CallResult r = CallOnce(c.fd.get(), "where is it?");
    CHILD_CHECK_ERR(0, r.err);
    lpc_view v;
    CHILD_CHECK(ViewOf(r.reply, &v));
    CHILD_CHECK(v.section == ino && v.access == LPC_VIEW_READ);
    CHILD_CHECK(r.reply.payload.substr(sizeof v) == "here");
    Opened o = Open(view_path(v.id), O_RDONLY);
    CHILD_CHECK_ERR(0, o.err);
    char buf[9] = {};
    CHILD_CHECK(pread(o.fd.get(), buf, 9, 100) == 9);
    CHILD_CHECK(std::strcmp(buf, "from bob") == 0);
    // Read only: the view lends no more.
    CHILD_CHECK_ERR(EACCES, Open(view_path(v.id), O_RDWR).err);
    // The names in .views are the daemon's: nothing else changes there.
    const std::string other = view_path(v.id) + "0";
    CHILD_CHECK_ERR(
        EPERM, rename(view_path(v.id).c_str(), other.c_str()) == 0 ? 0 : errno);
    CHILD_CHECK_ERR(EPERM, Open(other, O_CREAT | O_EXCL | O_RDWR, 0600).err);
    CHILD_CHECK_ERR(EPERM, mkdir(other.c_str(), 0700) == 0 ? 0 : errno);
    // The receiver ends it by unlinking its name.
    CHILD_CHECK(unlink(view_path(v.id).c_str()) == 0);
    CHILD_CHECK_ERR(ENOENT, Open(view_path(v.id), O_RDONLY).err);
    CHILD_CHECK_ERR(EACCES, Open(answer_path, O_RDONLY).err);
    // The handle opened while it lived still reads: the kernel cannot
    // revoke it (lpc.7 "VIEWS").
    CHILD_CHECK(pread(o.fd.get(), buf, 9, 100) == 9);
    return 0;
  });
  Record m;
  ASSERT_OK(NextMessage(srv.get(), &m));
  IoctlBuffer reply;
  lpc_record h{};
  h.type = LPC_REC_REPLY;
  h.conn_id = m.h.conn_id;
  h.msg_id = m.h.msg_id;
  h.flags = LPC_MESSAGE_VIEW;
  ASSERT_TRUE(
      reply.Add(h, WithView(MakeView(ino, 0, 4096, LPC_VIEW_READ), "here")));
  reply.header().flags = LPC_TRANSFER_NO_RECEIVE;
  // Sent by bob: he owns the section he shares.
  ASSERT_EQ(0, WaitExit(RunAs(bob_, {srv.get()}, [&] {
              int err = reply.Transfer(srv.get());
              if (err) return err;
              return reply.header().send_error;
            })));
  EXPECT_EQ(0, WaitExit(client));
}

TEST_F(ViewTest, ViewsThatCannotBeSentFailAndChangeNothing) {
  UniqueFd srv = BobsPort();
  ASSERT_TRUE(srv.valid());
  UniqueFd bobs = OpenedAs(bob_, S("bobs"), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_TRUE(bobs.valid());
  ASSERT_EQ(0, ftruncate(bobs.get(), 4096));
  const uint64_t bobs_ino = InodeOf(bobs.get());
  Gate sent, disconnected;
  uint64_t* conn = SharedWord();
  ASSERT_NE(conn, nullptr);
  const User alice = alice_;
  const std::string own = S("own");
  pid_t client = Spawn([&] {
    CHILD_CHECK_ERR(0, BecomeUser(alice.uid, alice.gid, {alice.gid}));
    Opened s = Open(own, O_CREAT | O_EXCL | O_RDWR, 0600);
    CHILD_CHECK_ERR(0, s.err);
    CHILD_CHECK(ftruncate(s.fd.get(), 8192) == 0);
    const uint64_t ino = InodeOf(s.fd.get());
    Opened c = Open(P("svc"), O_RDWR);
    CHILD_CHECK_ERR(0, c.err);
    auto send = [&](const lpc_view& v) {
      IoctlBuffer b;
      b.header().flags = LPC_TRANSFER_NO_RECEIVE;
      if (!b.Add(ViewMessage(), WithView(v, "x"))) return -1;
      return b.Transfer(c.fd.get());
    };
    constexpr uint32_t kRead = LPC_VIEW_READ;
    CHILD_CHECK_ERR(EINVAL, send(MakeView(ino, 4096, 4097, kRead)));
    CHILD_CHECK_ERR(EINVAL, send(MakeView(ino, 8192, 1, kRead)));
    CHILD_CHECK_ERR(EINVAL, send(MakeView(ino, 0, 0, kRead)));
    CHILD_CHECK_ERR(EINVAL, send(MakeView(ino, 0, 1, 4)));
    CHILD_CHECK_ERR(EACCES, send(MakeView(bobs_ino, 0, 1, kRead)));
    CHILD_CHECK_ERR(ENOENT, send(MakeView(ino + 1000, 0, 1, kRead)));
    // views_per_connection=2: two queued views, and the third is refused.
    CHILD_CHECK_ERR(0, send(MakeView(ino, 0, 1, kRead)));
    CHILD_CHECK_ERR(0, send(MakeView(ino, 1, 1, kRead)));
    CHILD_CHECK_ERR(ENOBUFS, send(MakeView(ino, 2, 1, kRead)));
    sent.Open();
    CHILD_CHECK(disconnected.Wait());
    CHILD_CHECK_ERR(EPIPE, send(MakeView(ino, 0, 1, kRead)));
    return 0;
  });
  ASSERT_TRUE(sent.Wait());
  Record r;
  ASSERT_OK(NextMessage(srv.get(), &r));
  *conn = r.h.conn_id;
  EXPECT_EQ(LPC_MESSAGE_VIEW, r.h.flags & LPC_MESSAGE_VIEW);
  ASSERT_OK(Disconnect(srv.get(), *conn));
  disconnected.Open();
  EXPECT_EQ(0, WaitExit(client));
  // Only the failed sends' sections are left: nothing was lent on bob's.
  EXPECT_TRUE(NamedUsers(S("bobs")).empty());
}

}  // namespace
}  // namespace lpctest
