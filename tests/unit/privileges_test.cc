// The daemon's privilege decisions (fs/privileges.h): the -o user= option,
// the account lookup, the plan for root and for an ordinary user, the check
// of what is left after dropping, and the drop itself in a child process.
#include "privileges.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fuse_args.h"

namespace lpc {
namespace {

TEST(ParsePrivilegeOptions, TakesUserAndLeavesTheRest) {
  Args args({"lpcfs", "-o", "queue_messages=4,user=alice,allow_root", "/mnt"});
  PrivilegeOptions opts;
  ASSERT_TRUE(ParsePrivilegeOptions(args.get(), &opts));
  EXPECT_EQ("alice", opts.user);
  EXPECT_EQ((std::vector<std::string>{"lpcfs", "-o",
                                      "queue_messages=4,allow_root", "/mnt"}),
            args.Left());
}

TEST(ParsePrivilegeOptions, AbsentMeansNotGiven) {
  Args args({"lpcfs", "/mnt"});
  PrivilegeOptions opts;
  ASSERT_TRUE(ParsePrivilegeOptions(args.get(), &opts));
  EXPECT_EQ("", opts.user);
  EXPECT_FALSE(opts.memory_windows);
}

TEST(ParsePrivilegeOptions, TakesMemoryWindows) {
  Args args({"lpcfs", "-o", "memory_windows,queue_messages=4", "/mnt"});
  PrivilegeOptions opts;
  ASSERT_TRUE(ParsePrivilegeOptions(args.get(), &opts));
  EXPECT_TRUE(opts.memory_windows);
  EXPECT_EQ(
      (std::vector<std::string>{"lpcfs", "-o", "queue_messages=4", "/mnt"}),
      args.Left());
}

TEST(ParsePrivilegeOptions, EmptyNameIsRefused) {
  Args args({"lpcfs", "-o", "user=", "/mnt"});
  PrivilegeOptions opts;
  EXPECT_FALSE(ParsePrivilegeOptions(args.get(), &opts));
}

TEST(LookUpAccount, FindsRootAndNobody) {
  auto root = LookUpAccount("root");
  ASSERT_TRUE(std::holds_alternative<Account>(root));
  EXPECT_EQ(0u, std::get<Account>(root).uid);
  EXPECT_EQ(0u, std::get<Account>(root).gid);
  passwd* pw = getpwnam("nobody");
  ASSERT_NE(nullptr, pw) << "this system has no user nobody";
  auto nobody = LookUpAccount("nobody");
  ASSERT_TRUE(std::holds_alternative<Account>(nobody));
  EXPECT_EQ(pw->pw_uid, std::get<Account>(nobody).uid);
  EXPECT_EQ(pw->pw_gid, std::get<Account>(nobody).gid);
  EXPECT_EQ("nobody", std::get<Account>(nobody).name);
}

TEST(LookUpAccount, UnknownUserSaysSo) {
  auto r = LookUpAccount("lpct_nosuchuser");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ("no such user: lpct_nosuchuser", std::get<std::string>(r));
}

TEST(PlanPrivileges, RootSwitchesToNobodyByDefault) {
  auto r = PlanPrivileges({}, 0);
  ASSERT_TRUE(std::holds_alternative<PrivilegePlan>(r));
  const auto& plan = std::get<PrivilegePlan>(r);
  EXPECT_TRUE(plan.switch_user);
  EXPECT_TRUE(plan.no_new_privs);
  EXPECT_EQ("nobody", plan.account.name);
  EXPECT_NE(0u, plan.account.uid);
  EXPECT_TRUE(plan.keep.empty()) << "nothing without -o memory_windows";
}

TEST(PlanPrivileges, MemoryWindowsKeepOnlyPtrace) {
  PrivilegeOptions opts;
  opts.memory_windows = true;
  auto r = PlanPrivileges(opts, 0);
  ASSERT_TRUE(std::holds_alternative<PrivilegePlan>(r));
  const auto& plan = std::get<PrivilegePlan>(r);
  EXPECT_TRUE(plan.switch_user);
  EXPECT_EQ(std::vector<cap_value_t>{CAP_SYS_PTRACE}, plan.keep);
}

TEST(PlanPrivileges, UserRootKeepsRootButNotNewPrivileges) {
  auto r = PlanPrivileges({"root"}, 0);
  ASSERT_TRUE(std::holds_alternative<PrivilegePlan>(r));
  const auto& plan = std::get<PrivilegePlan>(r);
  EXPECT_FALSE(plan.switch_user);
  EXPECT_TRUE(plan.no_new_privs);
}

TEST(PlanPrivileges, UnknownUserIsAnError) {
  auto r = PlanPrivileges({"lpct_nosuchuser"}, 0);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ("-o user: no such user: lpct_nosuchuser", std::get<std::string>(r));
}

TEST(PlanPrivileges, OrdinaryUserChangesNothing) {
  auto r = PlanPrivileges({}, 1000);
  ASSERT_TRUE(std::holds_alternative<PrivilegePlan>(r));
  const auto& plan = std::get<PrivilegePlan>(r);
  EXPECT_FALSE(plan.switch_user);
  EXPECT_FALSE(plan.no_new_privs) << "fusermount3 -u must stay set-user-ID";
}

TEST(PlanPrivileges, OrdinaryUserCannotNameAUser) {
  auto r = PlanPrivileges({"nobody"}, 1000);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ("-o user=nobody needs lpcfs to be started as root",
            std::get<std::string>(r));
}

TEST(CapabilityMask, SetsOneBitPerCapability) {
  EXPECT_EQ(0u, CapabilityMask({}));
  const cap_value_t caps[] = {CAP_SYS_PTRACE, CAP_CHOWN};
  EXPECT_EQ((uint64_t{1} << 19) | 1u, CapabilityMask(caps));
}

ThreadPrivileges Dropped(const Account& a) {
  ThreadPrivileges t;
  t.ruid = t.euid = t.suid = a.uid;
  t.rgid = t.egid = t.sgid = a.gid;
  t.no_new_privs = true;
  return t;
}

TEST(DescribeLeftoverPrivileges, NothingLeftIsEmpty) {
  const Account nobody{"nobody", 65534, 65534};
  EXPECT_EQ("", DescribeLeftoverPrivileges(Dropped(nobody), nobody, 0));
  ThreadPrivileges kept = Dropped(nobody);
  kept.effective = kept.permitted = kept.bounding = 1u << 19;
  EXPECT_EQ("", DescribeLeftoverPrivileges(kept, nobody, 1u << 19));
}

TEST(DescribeLeftoverPrivileges, NamesEachLeftover) {
  const Account nobody{"nobody", 65534, 65534};
  struct Case {
    void (*spoil)(ThreadPrivileges&);
    const char* expected;
  };
  const Case cases[] = {
      {[](ThreadPrivileges& t) { t.suid = 0; },
       "uids=65534,65534,0 (want 65534)"},
      {[](ThreadPrivileges& t) { t.egid = 0; },
       "gids=65534,0,65534 (want 65534)"},
      {[](ThreadPrivileges& t) {
         t.groups = {0, 4};
       },
       "2 supplementary groups (want none)"},
      {[](ThreadPrivileges& t) { t.effective = 1; },
       "CapEff=0000000000000001 (want 0000000000000000)"},
      {[](ThreadPrivileges& t) { t.permitted = 2; },
       "CapPrm=0000000000000002 (want 0000000000000000)"},
      {[](ThreadPrivileges& t) { t.inheritable = 4; },
       "CapInh=0000000000000004 (want 0000000000000000)"},
      {[](ThreadPrivileges& t) { t.bounding = 0x1ffffffffff; },
       "CapBnd=000001ffffffffff (want 0000000000000000)"},
      {[](ThreadPrivileges& t) { t.ambient = 8; },
       "CapAmb=0000000000000008 (want 0000000000000000)"},
      {[](ThreadPrivileges& t) { t.no_new_privs = false; },
       "NoNewPrivs=0 (want 1)"},
  };
  for (const Case& c : cases) {
    ThreadPrivileges t = Dropped(nobody);
    c.spoil(t);
    EXPECT_EQ(c.expected, DescribeLeftoverPrivileges(t, nobody, 0));
  }
  ThreadPrivileges two = Dropped(nobody);
  two.effective = 1;
  two.no_new_privs = false;
  EXPECT_EQ(
      "CapEff=0000000000000001 (want 0000000000000000) NoNewPrivs=0 "
      "(want 1)",
      DescribeLeftoverPrivileges(two, nobody, 0));
}

// The capability and id lines of this process's /proc status.
std::map<std::string, std::string> OwnStatus() {
  std::map<std::string, std::string> fields;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    auto start = value.find_first_not_of(" \t");
    fields[line.substr(0, colon)] =
        start == std::string::npos ? "" : value.substr(start);
  }
  return fields;
}

// Runs DropPrivileges in a child (it cannot be undone) and returns the
// child's /proc status lines after it, sent back through a pipe; "error"
// holds what DropPrivileges returned.
std::map<std::string, std::string> DropInChild(const Account& to,
                                               std::vector<cap_value_t> keep) {
  int p[2];
  EXPECT_EQ(0, pipe(p));
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string out = "error:" + DropPrivileges(to, keep) + "\n";
    for (auto& [k, v] : OwnStatus()) out += k + ":" + v + "\n";
    ssize_t ignored = write(p[1], out.data(), out.size());
    (void)ignored;
    _exit(0);
  }
  close(p[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) text.append(buf, n);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::map<std::string, std::string> fields;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      fields[line.substr(0, colon)] = line.substr(colon + 1);
    }
  }
  return fields;
}

TEST(DropPrivileges, LeavesNobodyWithNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto nobody = std::get<Account>(LookUpAccount("nobody"));
  auto st = DropInChild(nobody, {});
  EXPECT_EQ("", st["error"]);
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ("0000000000000000", st[set]) << set;
  }
  EXPECT_EQ("1", st["NoNewPrivs"]);
  std::string uid = std::to_string(nobody.uid);
  EXPECT_EQ(uid + "\t" + uid + "\t" + uid + "\t" + uid, st["Uid"]);
  EXPECT_EQ("", st["Groups"]);
}

// What -o memory_windows keeps: CAP_SYS_PTRACE alone.
TEST(DropPrivileges, KeepsExactlyTheCapabilitiesAskedFor) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto nobody = std::get<Account>(LookUpAccount("nobody"));
  auto st = DropInChild(nobody, {CAP_SYS_PTRACE});
  EXPECT_EQ("", st["error"]);
  EXPECT_EQ("0000000000080000", st["CapEff"]);
  EXPECT_EQ("0000000000080000", st["CapPrm"]);
  EXPECT_EQ("0000000000080000", st["CapBnd"]);
  EXPECT_EQ("0000000000000000", st["CapInh"]);
  EXPECT_EQ("0000000000000000", st["CapAmb"]);
  EXPECT_EQ("1", st["NoNewPrivs"]);
}

}  // namespace
}  // namespace lpc
