// POSIX ACLs on ports and folders (lpc.7 "ACCESS CONTROL"), tested against
// the kernel's own ACL engine: every case applies the same chown, chmod and
// setfacl commands to a file on a tmpfs and to a port (or to a folder on
// both and then creates inside it), and then requires the same mode, the
// same getfacl output and, for each of two real users and each open mode,
// the same access decision. tmpfs is the reference because its ACLs are
// the kernel's generic code with nothing of a daemon in between.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_users.h"

namespace lpctest {
namespace {

// Who runs a command or owns a file.
enum class Who { kRoot, kAlice, kBob };

// A command applied to both twins: `%f` is the file's path. Run by `who`.
struct Step {
  Who who;
  const char* command;
};

struct FileCase {
  const char* name;
  mode_t mode;  // before the steps
  Who owner;
  Who group;  // the group of this user
  std::vector<Step> steps;
};

constexpr Step Root(const char* c) { return {Who::kRoot, c}; }
constexpr Step Alice(const char* c) { return {Who::kAlice, c}; }

const std::vector<FileCase>& FileCases() {
  static const std::vector<FileCase> cases = {
      {"mode only 0600", 0600, Who::kAlice, Who::kAlice, {}},
      {"mode only 0644", 0644, Who::kAlice, Who::kAlice, {}},
      {"mode only 0666", 0666, Who::kRoot, Who::kRoot, {}},
      {"group class 0660", 0660, Who::kAlice, Who::kBob, {}},
      {"named user rw",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:rw %f")}},
      {"named user r",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:r %f")}},
      {"named user w",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:w %f")}},
      {"named user none",
       0666,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:- %f")}},
      {"named user set by the owner",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Alice("setfacl -m u:lpct_bob:rw %f")}},
      {"named group rw",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m g:lpct_bob:rw %f")}},
      {"named group r",
       0600,
       Who::kRoot,
       Who::kRoot,
       {Root("setfacl -m g:lpct_bob:r,g:lpct_alice:w %f")}},
      {"both users named",
       0600,
       Who::kRoot,
       Who::kRoot,
       {Root("setfacl -m u:lpct_alice:r,u:lpct_bob:w %f")}},
      {"mask limits a named user",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:rw,m:r %f")}},
      {"mask limits a named group",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m g:lpct_bob:rw,m:w %f")}},
      {"mask limits the owning group",
       0660,
       Who::kAlice,
       Who::kBob,
       {Root("setfacl -m u:lpct_alice:rw,m:r %f")}},
      {"empty mask",
       0666,
       Who::kRoot,
       Who::kRoot,
       {Root("setfacl -m u:lpct_bob:rw,m:- %f")}},
      {"other entry",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m o:r %f")}},
      {"other rw with a named user denied",
       0600,
       Who::kRoot,
       Who::kRoot,
       {Root("setfacl -m o:rw,u:lpct_bob:- %f")}},
      {"group entry denies although other grants",
       0606,
       Who::kAlice,
       Who::kBob,
       {Root("setfacl -m g::- %f")}},
      {"named group denies although other grants",
       0606,
       Who::kRoot,
       Who::kRoot,
       {Root("setfacl -m g:lpct_bob:- %f")}},
      {"owner entry narrower than a named entry",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u::r,u:lpct_alice:rw %f")}},
      {"remove one entry",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:rw,g:lpct_alice:r %f"),
        Root("setfacl -x u:lpct_bob %f")}},
      {"remove every named entry",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:rw %f"), Root("setfacl -x u:lpct_bob %f")}},
      {"setfacl -b",
       0640,
       Who::kAlice,
       Who::kBob,
       {Root("setfacl -m u:lpct_bob:rw,g::rw %f"), Root("setfacl -b %f")}},
      {"setfacl -b after a narrow mask",
       0660,
       Who::kAlice,
       Who::kBob,
       {Root("setfacl -m u:lpct_bob:rw,m:r %f"), Root("setfacl -b %f")}},
      {"setfacl --set",
       0777,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl --set u::rw,g::-,o::-,u:lpct_bob:r,m:rw %f")}},
      {"chmod after setfacl narrows the mask",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:rw %f"), Root("chmod 640 %f")}},
      {"chmod after setfacl widens the mask",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:rw,m:- %f"), Root("chmod 660 %f")}},
      {"chmod 000 after setfacl",
       0666,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:rw %f"), Root("chmod 000 %f")}},
      {"chmod by the owner after setfacl",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m g:lpct_bob:rw %f"), Alice("chmod 604 %f")}},
      {"setfacl after chmod",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("chmod 666 %f"), Root("setfacl -m u:lpct_bob:- %f")}},
      {"equivalent list keeps no ACL",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u::rw,g::r,o::r %f")}},
      {"a non-owner may not set an ACL",
       0666,
       Who::kAlice,
       Who::kAlice,
       {{Who::kBob, "setfacl -m u:lpct_bob:rw %f"}}},
      {"chown keeps the list",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:lpct_bob:r %f"), Root("chown lpct_bob %f")}},
      {"set-group-ID kept by a member",
       02660,
       Who::kAlice,
       Who::kAlice,
       {Alice("setfacl -m u:lpct_bob:rw %f")}},
      {"set-group-ID cleared for a non-member",
       02660,
       Who::kAlice,
       Who::kBob,
       {Alice("setfacl -m u:lpct_bob:rw %f")}},
      {"set-group-ID kept by root",
       02660,
       Who::kAlice,
       Who::kBob,
       {Root("setfacl -m u:lpct_bob:rw %f")}},
      {"a default ACL on a file is refused",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -d -m u:lpct_bob:rw %f")}},
      {"invalid entry is refused",
       0600,
       Who::kAlice,
       Who::kAlice,
       {Root("setfacl -m u:nosuchuser_lpct:rw %f")}},
  };
  return cases;
}

struct DirCase {
  const char* name;
  mode_t mode;  // of the folder, before the steps
  Who owner;
  std::vector<Step> steps;  // on the folder
  Who creator;              // who creates inside it
  mode_t create_mode;       // of the new port/file
  mode_t umask;             // of the creator
};

const std::vector<DirCase>& DirCases() {
  static const std::vector<DirCase> cases = {
      {"no default ACL, umask 022",
       0777,
       Who::kRoot,
       {},
       Who::kAlice,
       0666,
       022},
      {"no default ACL, umask 077",
       0777,
       Who::kRoot,
       {},
       Who::kAlice,
       0666,
       077},
      {"default named user, umask ignored",
       0777,
       Who::kRoot,
       {Root("setfacl -d -m u:lpct_bob:rw %f")},
       Who::kAlice,
       0666,
       077},
      {"default named group narrowed by the mode",
       0777,
       Who::kRoot,
       {Root("setfacl -d -m g:lpct_bob:rwx %f")},
       Who::kAlice,
       0640,
       022},
      {"default with a mask",
       0777,
       Who::kRoot,
       {Root("setfacl -d -m u:lpct_bob:rw,m:r %f")},
       Who::kAlice,
       0666,
       0},
      {"default other none",
       0777,
       Who::kRoot,
       {Root("setfacl -d -m o::-,u::rw,g::r %f")},
       Who::kAlice,
       0666,
       0},
      {"default equivalent to a mode",
       0777,
       Who::kRoot,
       {Root("setfacl -d -m u::rw,g::-,o::- %f")},
       Who::kAlice,
       0666,
       0},
      {"folder searchable by a named user only",
       0700,
       Who::kAlice,
       {Alice("setfacl -m u:lpct_bob:x %f")},
       Who::kAlice,
       0666,
       0},
      {"folder search denied to a named user",
       0711,
       Who::kAlice,
       {Alice("setfacl -m u:lpct_bob:- %f")},
       Who::kAlice,
       0666,
       0},
      {"folder searchable by a named group",
       0700,
       Who::kAlice,
       {Alice("setfacl -m g:lpct_bob:x %f")},
       Who::kAlice,
       0666,
       0},
      {"folder search limited by its mask",
       0700,
       Who::kAlice,
       {Alice("setfacl -m u:lpct_bob:rwx %f"), Alice("chmod 700 %f")},
       Who::kAlice,
       0666,
       0},
      {"default and access together",
       0700,
       Who::kAlice,
       {Alice("setfacl -m u:lpct_bob:x %f"),
        Alice("setfacl -d -m u:lpct_bob:r %f")},
       Who::kAlice,
       0600,
       022},
      {"default removed with -k",
       0777,
       Who::kRoot,
       {Root("setfacl -d -m u:lpct_bob:rw %f"), Root("setfacl -k %f")},
       Who::kAlice,
       0666,
       022},
      {"setfacl -b on the folder",
       0777,
       Who::kRoot,
       {Root("setfacl -m u:lpct_bob:- %f"),
        Root("setfacl -d -m u:lpct_bob:rw %f"), Root("setfacl -b %f")},
       Who::kAlice,
       0666,
       022},
      {"writable through a named entry",
       0755,
       Who::kRoot,
       {Root("setfacl -m u:lpct_alice:rwx %f")},
       Who::kAlice,
       0644,
       022},
  };
  return cases;
}

const int kOpenModes[] = {O_RDONLY, O_WRONLY, O_RDWR};

const char* OpenModeName(int mode) {
  switch (mode) {
    case O_RDONLY:
      return "O_RDONLY";
    case O_WRONLY:
      return "O_WRONLY";
    default:
      return "O_RDWR";
  }
}

class AclTest : public TwoUsersTest {
 protected:
  unsigned WatchdogSeconds() const override { return 50; }

  void SetUp() override {
    TwoUsersTest::SetUp();
    char dir[] = "/tmp/lpct-acl-XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(dir)) << ErrName(errno);
    tmpfs_ = dir;
    ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", 0, "mode=0777"))
        << ErrName(errno);
    mounted_tmpfs_ = true;
    // The creators' umask must not leak in from the test's environment.
    old_umask_ = umask(022);
  }

  void TearDown() override {
    umask(old_umask_);
    if (mounted_tmpfs_) umount2(tmpfs_.c_str(), MNT_DETACH);
    if (!tmpfs_.empty()) rmdir(tmpfs_.c_str());
    TwoUsersTest::TearDown();
  }

  User UserOf(Who who) const {
    switch (who) {
      case Who::kAlice:
        return alice_;
      case Who::kBob:
        return bob_;
      case Who::kRoot:
        break;
    }
    return User{0, 0};
  }

  // Runs a step's command on `path`; its exit status.
  int RunStep(const Step& step, const std::string& path) {
    std::string cmd = step.command;
    std::string quoted = "'" + path + "'";
    for (size_t at; (at = cmd.find("%f")) != std::string::npos;) {
      cmd.replace(at, 2, quoted);
    }
    cmd += " 2>/dev/null";
    auto run = [cmd] {
      int s = std::system(cmd.c_str());
      return WIFEXITED(s) ? WEXITSTATUS(s) : 128;
    };
    if (step.who == Who::kRoot) return WaitExit(Spawn(run));
    return WaitExit(RunAs(UserOf(step.who), run));
  }

  // getfacl's listing of `path`, without its header and with numeric ids;
  // "" if getfacl failed.
  static std::string AclText(const std::string& path) {
    std::string cmd = "getfacl -cn -- '" + path + "' 2>/dev/null";
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) return "";
    std::string out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    return pclose(f) == 0 ? out : "";
  }

  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
  }

  // open() as `u`: 0 if it worked (and was closed), else the errno.
  int OpenAs(const User& u, const std::string& path, int flags) {
    return WaitExit(RunAs(u, [path, flags] { return Open(path, flags).err; }));
  }

  // The same state on both twins: mode and ACL.
  void ExpectSameState(const std::string& what, const std::string& file,
                       const std::string& port) {
    ++cells_;
    EXPECT_EQ(ModeOf(file), ModeOf(port)) << what << ": mode differs";
    ++cells_;
    std::string file_acl = AclText(file);
    EXPECT_FALSE(file_acl.empty()) << what;
    EXPECT_EQ(file_acl, AclText(port)) << what << ": getfacl differs";
  }

  // Every user and open mode gets the same answer from both twins.
  void ExpectSameAccess(const std::string& what, const std::string& file,
                        const std::string& port) {
    for (Who who : {Who::kAlice, Who::kBob}) {
      for (int mode : kOpenModes) {
        ++cells_;
        int want = OpenAs(UserOf(who), file, mode);
        int got = OpenAs(UserOf(who), port, mode);
        ++(want == 0 ? granted_ : denied_);
        EXPECT_EQ(ErrName(want), ErrName(got))
            << what << ": " << (who == Who::kAlice ? "alice" : "bob") << " "
            << OpenModeName(mode) << " on tmpfs vs lpcfs";
      }
    }
  }

  void Chown(const std::string& path, Who owner, Who group) {
    ASSERT_EQ(0, chown(path.c_str(), UserOf(owner).uid, UserOf(group).gid))
        << path << ": " << ErrName(errno);
  }

  std::string tmpfs_;
  bool mounted_tmpfs_ = false;
  mode_t old_umask_ = 022;
  int cells_ = 0;
  int granted_ = 0, denied_ = 0;  // access cells, by the kernel's answer
};

TEST_F(AclTest, FileAclsDecideLikeTheKernelsOwn) {
  for (const FileCase& c : FileCases()) {
    SCOPED_TRACE(c.name);
    std::string file = tmpfs_ + "/f";
    std::string port = P("svc");
    UniqueFd f(open(file.c_str(), O_CREAT | O_EXCL | O_RDWR, 0));
    ASSERT_TRUE(f.valid()) << ErrName(errno);
    f.reset();
    UniqueFd srv = CreateAutoAcceptPort("svc", 0);
    ASSERT_TRUE(srv.valid());
    // chown first: it clears set-id bits, which the mode then sets.
    Chown(file, c.owner, c.group);
    Chown(port, c.owner, c.group);
    ASSERT_EQ(0, chmod(file.c_str(), c.mode)) << ErrName(errno);
    ASSERT_EQ(0, chmod(port.c_str(), c.mode)) << ErrName(errno);
    for (const Step& step : c.steps) {
      ++cells_;
      EXPECT_EQ(RunStep(step, file), RunStep(step, port))
          << c.name << ": `" << step.command << "` exit status differs";
    }
    ExpectSameState(c.name, file, port);
    ExpectSameAccess(c.name, file, port);
    srv.reset();
    ASSERT_EQ(0, unlink(file.c_str()));
    ASSERT_TRUE(WaitFor([&] { return access(port.c_str(), F_OK) != 0; }));
  }
  // A matrix of one answer would not test the decisions.
  EXPECT_GT(granted_, 0);
  EXPECT_GT(denied_, 0);
  std::printf(
      "AclTest: %d cells (%d opens granted, %d denied) for %zu file "
      "cases\n",
      cells_, granted_, denied_, FileCases().size());
}

TEST_F(AclTest, FolderAclsSearchAndInheritLikeTheKernelsOwn) {
  for (const DirCase& c : DirCases()) {
    SCOPED_TRACE(c.name);
    std::string tdir = tmpfs_ + "/d";
    std::string ldir = P("d");
    for (const std::string& d : {tdir, ldir}) {
      ASSERT_EQ(0, mkdir(d.c_str(), 0)) << d << ": " << ErrName(errno);
      Chown(d, c.owner, c.owner);
      ASSERT_EQ(0, chmod(d.c_str(), c.mode)) << ErrName(errno);
    }
    for (const Step& step : c.steps) {
      ++cells_;
      EXPECT_EQ(RunStep(step, tdir), RunStep(step, ldir))
          << c.name << ": `" << step.command << "` exit status differs";
    }
    ExpectSameState(std::string(c.name) + " (folder)", tdir, ldir);

    // A port and a file created inside by the creator, with its umask.
    mode_t saved = umask(c.umask);
    std::string file = tdir + "/f";
    mode_t create_mode = c.create_mode;
    pid_t p = RunAs(UserOf(c.creator), [file, create_mode] {
      int fd = open(file.c_str(), O_CREAT | O_EXCL | O_RDWR, create_mode);
      return fd < 0 ? errno : 0;
    });
    int made = WaitExit(p);
    UniqueFd srv = OpenedAs(UserOf(c.creator), ldir + "/svc",
                            O_CREAT | O_EXCL | O_RDWR, create_mode);
    umask(saved);
    ASSERT_EQ(0, made) << "creating the tmpfs twin: " << ErrName(made);
    ASSERT_TRUE(srv.valid());
    ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
    ExpectSameState(std::string(c.name) + " (created)", file, ldir + "/svc");
    ExpectSameAccess(c.name, file, ldir + "/svc");

    // A folder created inside inherits the default list as its own.
    std::string tsub = tdir + "/sub", lsub = ldir + "/sub";
    for (const std::string& d : {tsub, lsub}) {
      pid_t p = RunAs(UserOf(c.creator), [d] {
        umask(022);
        return mkdir(d.c_str(), 0777) == 0 ? 0 : errno;
      });
      ASSERT_EQ(0, WaitExit(p)) << d;
    }
    ExpectSameState(std::string(c.name) + " (subfolder)", tsub, lsub);

    srv.reset();
    ASSERT_EQ(0, unlink(file.c_str()));
    ASSERT_EQ(0, rmdir(tsub.c_str()));
    ASSERT_EQ(0, rmdir(tdir.c_str()));
    ASSERT_EQ(0, rmdir(lsub.c_str()));
    ASSERT_TRUE(WaitFor([&] { return rmdir(ldir.c_str()) == 0; }))
        << ErrName(errno);
  }
  // A matrix of one answer would not test the decisions.
  EXPECT_GT(granted_, 0);
  EXPECT_GT(denied_, 0);
  std::printf(
      "AclTest: %d cells (%d opens granted, %d denied) for %zu folder "
      "cases\n",
      cells_, granted_, denied_, DirCases().size());
}

TEST_F(AclTest, AclShowsInLsAndGetfacl) {
  UniqueFd srv = CreatePort("svc", 0640);
  ASSERT_TRUE(srv.valid());
  ASSERT_EQ(0, RunStep(Root("setfacl -m u:lpct_bob:rw %f"), P("svc")));
  FILE* f = popen(("ls -l '" + P("svc") + "'").c_str(), "r");
  ASSERT_NE(nullptr, f);
  char line[512] = {};
  ASSERT_NE(nullptr, fgets(line, sizeof line, f));
  pclose(f);
  EXPECT_EQ(std::string("-rw-rw----+"), std::string(line, 11)) << line;
  std::string acl = AclText(P("svc"));
  EXPECT_NE(std::string::npos,
            acl.find("user:" + std::to_string(bob_.uid) + ":rw-"))
      << acl;
  char names[256];
  ssize_t n = listxattr(P("svc").c_str(), names, sizeof names);
  ASSERT_GT(n, 0) << ErrName(errno);
  // A live port also has the read-only user.lpc.server (lpc.7 "WHO SERVES
  // A NAME").
  EXPECT_EQ(std::string("system.posix_acl_access\0user.lpc.server", 40),
            std::string(names, n));
  // Removing the list leaves the mode and shows no "+".
  ASSERT_EQ(0, RunStep(Root("setfacl -b %f"), P("svc")));
  n = listxattr(P("svc").c_str(), names, sizeof names);
  EXPECT_EQ(std::string("user.lpc.server", 16),
            std::string(names, static_cast<size_t>(std::max<ssize_t>(n, 0))));
  EXPECT_EQ(-1, getxattr(P("svc").c_str(), "system.posix_acl_access", names,
                         sizeof names));
  EXPECT_EQ(ENODATA, errno);
}

TEST_F(AclTest, OtherExtendedAttributesAreNotKept) {
  UniqueFd srv = CreatePort("svc", 0600);
  ASSERT_TRUE(srv.valid());
  EXPECT_EQ(-1, setxattr(P("svc").c_str(), "user.note", "x", 1, 0));
  EXPECT_EQ(EOPNOTSUPP, errno);
  char buf[16];
  EXPECT_EQ(-1, getxattr(P("svc").c_str(), "user.note", buf, sizeof buf));
  EXPECT_EQ(ENODATA, errno);
  // A value too small for its buffer is ERANGE, as for any xattr.
  ASSERT_EQ(0, RunStep(Root("setfacl -m u:lpct_bob:r %f"), P("svc")));
  EXPECT_EQ(-1, getxattr(P("svc").c_str(), "system.posix_acl_access", buf, 8));
  EXPECT_EQ(ERANGE, errno);
  ssize_t size =
      getxattr(P("svc").c_str(), "system.posix_acl_access", nullptr, 0);
  EXPECT_EQ(4 + 5 * 8, size) << "header and five entries";
}

TEST_F(AclTest, ConnFilesStayPrivateToThePortOwner) {
  // The port is opened to bob by an ACL, and its folder hands a default
  // ACL down; the connection's .conn file still belongs to alice alone.
  ASSERT_EQ(0, mkdir(P("d").c_str(), 0777));
  ASSERT_EQ(0, chmod(P("d").c_str(), 0777));  // past the umask
  ASSERT_EQ(0, RunStep(Root("setfacl -d -m u:lpct_bob:rw %f"), P("d")));
  UniqueFd srv = OpenedAs(alice_, P("d/svc"), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  ASSERT_EQ(0, RunStep(Alice("setfacl -m u:lpct_bob:rw %f"), P("d/svc")));
  UniqueFd client = OpenedAs(bob_, P("d/svc"), O_RDWR);
  ASSERT_TRUE(client.valid());
  Record c = Expect(srv.get(), LPC_REC_CONNECT);
  std::string conn =
      P(std::string(LPC_CONN_DIR) + "/" + std::to_string(c.h.conn_id));
  struct stat st;
  ASSERT_EQ(0, stat(conn.c_str(), &st)) << ErrName(errno);
  EXPECT_EQ(alice_.uid, st.st_uid);
  EXPECT_EQ(0600u, st.st_mode & 07777);
  char buf[64];
  EXPECT_EQ(-1,
            getxattr(conn.c_str(), "system.posix_acl_access", buf, sizeof buf));
  EXPECT_EQ(ENODATA, errno);
  for (int mode : kOpenModes) {
    EXPECT_ERR(EACCES, OpenAs(bob_, conn, mode)) << OpenModeName(mode);
  }
  // The owner may open it up on purpose (the open binds the connection to
  // the file, and its last close ends it); .conn itself takes no ACL.
  EXPECT_EQ(0, RunStep(Alice("setfacl -m u:lpct_bob:r %f"), conn));
  EXPECT_OK(OpenAs(bob_, conn, O_RDONLY));
  EXPECT_NE(0, RunStep(Root("setfacl -m u:lpct_bob:rwx %f"), P(LPC_CONN_DIR)));
}

TEST_F(AclTest, ExecuteAloneDoesNotConnect) {
  UniqueFd srv = OpenedAs(alice_, P("svc"), O_CREAT | O_EXCL | O_RDWR, 0711);
  ASSERT_TRUE(srv.valid());
  ASSERT_OK(SetPortOptions(srv.get(), LPC_PORT_AUTO_ACCEPT));
  std::string path = P("svc");
  for (const User& u : {bob_, alice_}) {
    int err = WaitExit(RunAs(u, [path] {
      char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
      char* envp[] = {nullptr};
      execve(path.c_str(), argv, envp);
      return errno;
    }));
    EXPECT_ERR(EACCES, err);
  }
  EXPECT_TRUE(NoRecordQueued(srv.get()))
      << "an exec reached the server as a connection";
  // Opening it for reading still needs r, which bob lacks.
  EXPECT_ERR(EACCES, OpenAs(bob_, path, O_RDONLY));
}

TEST_F(AclTest, UnlinkedPortRefusesConnectionsThroughProc) {
  UniqueFd srv = CreateAutoAcceptPort("svc", 0666);
  ASSERT_TRUE(srv.valid());
  std::string again = "/proc/self/fd/" + std::to_string(srv.get());
  {
    Opened before = Open(again, O_RDWR);
    ASSERT_OK(before.err) << "a linked port connects through /proc";
    Expect(srv.get(), LPC_REC_CONNECT);
  }
  Expect(srv.get(), LPC_REC_DISCONNECT);
  ASSERT_EQ(0, unlink(P("svc").c_str()));
  Opened after = Open(again, O_RDWR);
  EXPECT_ERR(ECONNREFUSED, after.err);
  EXPECT_TRUE(NoRecordQueued(srv.get()));
}

}  // namespace
}  // namespace lpctest
