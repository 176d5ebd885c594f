// /.stats with two real users (lpc.7 "STATS", "What a reader sees"): a
// reader sees the ports it could find by path, by mode bits or by ACL,
// and names are escaped so that no name forges a line.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "test_users.h"

namespace lpctest {
namespace {

class StatsUsersTest : public TwoUsersTest {
 protected:
  // The text of .stats as `u` reads it, through a pipe from the child.
  std::string StatsAs(const User& u) {
    int p[2];
    EXPECT_EQ(0, pipe2(p, O_CLOEXEC));
    UniqueFd r(p[0]), w(p[1]);
    std::string path = P(LPC_STATS_FILE);
    int wfd = w.get();
    pid_t child = RunAs(u, {wfd}, [path, wfd] {
      Opened o = Open(path, O_RDONLY);
      if (o.err) return o.err;
      char buf[4096];
      ssize_t n;
      while ((n = read(o.fd.get(), buf, sizeof buf)) > 0) {
        CHILD_CHECK(write(wfd, buf, static_cast<size_t>(n)) == n);
      }
      return n < 0 ? errno : 0;
    });
    w.reset();
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = read(r.get(), buf, sizeof buf)) > 0) {
      text.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(0, WaitExit(child));
    return text;
  }

  // As `u`: mkdir(path, mode), then chmod (the umask does not narrow it).
  int MakeFolderAs(const User& u, const std::string& path, mode_t mode) {
    return WaitExit(RunAs(u, [path, mode] {
      if (mkdir(path.c_str(), mode) != 0) return errno;
      return chmod(path.c_str(), mode) == 0 ? 0 : errno;
    }));
  }

  // Alice's auto-accepting port at `name`, with one connection of the
  // test's; both handles are kept in `held_`.
  void AlicePortWithAConnection(const std::string& name) {
    UniqueFd srv = OpenedAs(alice_, P(name), O_CREAT | O_EXCL | O_RDWR, 0666);
    ASSERT_TRUE(srv.valid());
    ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
    Opened client = Open(P(name), O_RDWR);  // root may search anything
    ASSERT_OK(client.err);
    held_.push_back(std::move(srv));
    held_.push_back(std::move(client.fd));
  }

  static size_t Count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }

  std::vector<UniqueFd> held_;
};

TEST_F(StatsUsersTest, PrivateFolderHidesItsPortsFromOthers) {
  ASSERT_EQ(0, MakeFolderAs(alice_, P("private"), 0700));
  AlicePortWithAConnection("private/svc");
  UniqueFd open_port = CreatePort("public");
  ASSERT_TRUE(open_port.valid());

  std::string bob = StatsAs(bob_);
  EXPECT_EQ(0u, Count(bob, "/private")) << bob;
  EXPECT_EQ(0u, Count(bob, "conn ")) << "its connection goes with it:\n" << bob;
  EXPECT_EQ(1u, Count(bob, "port /public ")) << bob;

  std::string alice = StatsAs(alice_);
  EXPECT_EQ(1u, Count(alice, "port /private/svc ")) << alice;
  EXPECT_EQ(1u, Count(alice, "conn ")) << alice;
  // root has CAP_DAC_READ_SEARCH: it sees everything.
  EXPECT_EQ(1u, Count(StatsText(), "port /private/svc "));
}

TEST_F(StatsUsersTest, SearchableFolderShowsItsPorts) {
  ASSERT_EQ(0, MakeFolderAs(alice_, P("shared"), 0711));
  AlicePortWithAConnection("shared/svc");
  std::string bob = StatsAs(bob_);
  EXPECT_EQ(1u, Count(bob, "port /shared/svc ")) << bob;
  EXPECT_EQ(1u, Count(bob, " port=/shared/svc ")) << bob;
}

TEST_F(StatsUsersTest, AclEntryGrantingSearchShowsItsPorts) {
  ASSERT_EQ(0, MakeFolderAs(alice_, P("acl"), 0700));
  AlicePortWithAConnection("acl/svc");
  ASSERT_EQ(0u, Count(StatsAs(bob_), "/acl"));

  // user::rwx user:bob:--x group::--- mask::--x other::---, in the
  // kernel's xattr encoding, as setfacl -m u:lpct_bob:x writes it.
  struct Entry {
    uint16_t tag, perm;
    uint32_t id;
  };
  const uint32_t bob_uid = bob_.uid;
  const Entry entries[] = {{0x01, 7, 0xffffffff},
                           {0x02, 1, bob_uid},
                           {0x04, 0, 0xffffffff},
                           {0x10, 1, 0xffffffff},
                           {0x20, 0, 0xffffffff}};
  std::string acl(4 + sizeof entries, '\0');
  const uint32_t version = 2;
  std::memcpy(acl.data(), &version, 4);
  std::memcpy(acl.data() + 4, entries, sizeof entries);
  std::string dir = P("acl");
  ASSERT_EQ(0, WaitExit(RunAs(alice_, [dir, acl] {
              return setxattr(dir.c_str(), "system.posix_acl_access",
                              acl.data(), acl.size(), 0) == 0
                         ? 0
                         : errno;
            })));
  std::string bob = StatsAs(bob_);
  EXPECT_EQ(1u, Count(bob, "port /acl/svc ")) << bob;
  EXPECT_EQ(1u, Count(bob, " port=/acl/svc ")) << bob;
}

TEST_F(StatsUsersTest, UnlinkedPortOnlyToItsOwner) {
  ASSERT_EQ(0, MakeFolderAs(alice_, P("open"), 0755));
  AlicePortWithAConnection("open/svc");
  ASSERT_EQ(0, unlink(P("open/svc").c_str()));
  EXPECT_EQ(1u, Count(StatsAs(alice_), "port (unlinked) "));
  EXPECT_EQ(0u, Count(StatsAs(bob_), "(unlinked)"));
}

// Names with a newline, a backslash, ESC, a tab, DEL and bytes that are
// not UTF-8, in folders and ports: each port is one line, the names are
// escaped as lpc.7 "Names in .stats" says, and no control character
// reaches a reader.
TEST_F(StatsUsersTest, NamesAreEscaped) {
  struct Case {
    std::string folder, port, escaped;
  };
  const Case cases[] = {
      {"nl\nport ", "victim owner=0", "/nl\\nport /victim owner=0"},
      {"back\\slash", "p", "/back\\\\slash/p"},
      {"esc", "\x1b[2J\x1b]0;title\x07", "/esc/\\033[2J\\033]0;title\\a"},
      {"tab\t", "del\x7f", "/tab\\t/del\\177"},
      {"bytes\xff\xfe", "p\xc3", "/bytes\\377\\376/p\\303"},
      {"utf8 caf\xc3\xa9", "p", "/utf8 caf\xc3\xa9/p"},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(0, MakeFolderAs(alice_, P(c.folder), 0755)) << c.escaped;
    AlicePortWithAConnection(c.folder + "/" + c.port);
  }
  std::string text = StatsAs(bob_);
  size_t lines = Count(text, "\n");
  EXPECT_EQ(2 * std::size(cases), lines) << "a port and a conn line each:\n"
                                         << text;
  for (const Case& c : cases) {
    EXPECT_EQ(1u, Count(text, "port " + c.escaped + " owner=")) << text;
    EXPECT_EQ(1u, Count(text, " port=" + c.escaped + " state=")) << text;
  }
  for (char ch : text) {
    auto u = static_cast<unsigned char>(ch);
    EXPECT_TRUE(ch == '\n' || (u >= 0x20 && u != 0x7f))
        << "control character " << int{u} << " in:\n"
        << text;
  }
}

}  // namespace
}  // namespace lpctest
