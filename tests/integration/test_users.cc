#include "test_users.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace lpctest {

namespace {

constexpr const char* kAlice = "lpct_alice";
constexpr const char* kBob = "lpct_bob";
constexpr const char* kCarol = "lpct_carol";

// Creates user `name` unless it exists. Tests running in parallel (ctest
// -j) may race to create it: "already exists" and a locked /etc/passwd
// just mean "try again".
void CreateUserIfMissing(const char* name) {
  User u;
  for (int attempt = 0; attempt < 100 && !LookUpUser(name, &u); ++attempt) {
    std::string cmd = std::string("useradd -M -s /usr/sbin/nologin ") + name +
                      " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) usleep(50 * 1000);
  }
}

}  // namespace

bool LookUpUser(const char* name, User* out) {
  passwd* pw = getpwnam(name);
  if (!pw) return false;
  out->uid = pw->pw_uid;
  out->gid = pw->pw_gid;
  return true;
}

pid_t RunAs(const User& u, std::vector<int> keep, std::function<int()> fn) {
  return Spawn([u, keep = std::move(keep), fn = std::move(fn)] {
    CloseOtherFds(keep);
    CHILD_CHECK_ERR(0, BecomeUser(u.uid, u.gid, {u.gid}));
    return fn();
  });
}

void TwoUsersTest::SetUpTestSuite() {
  if (geteuid() != 0) return;
  for (const char* name : {kAlice, kBob}) CreateUserIfMissing(name);
}

void TwoUsersTest::SetUp() {
  MountTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_TRUE(LookUpUser(kAlice, &alice_)) << "useradd " << kAlice << " failed";
  ASSERT_TRUE(LookUpUser(kBob, &bob_)) << "useradd " << kBob << " failed";
}

void ThreeUsersTest::SetUpTestSuite() {
  TwoUsersTest::SetUpTestSuite();
  if (geteuid() == 0) CreateUserIfMissing(kCarol);
}

void ThreeUsersTest::SetUp() {
  TwoUsersTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_TRUE(LookUpUser(kCarol, &carol_)) << "useradd " << kCarol << " failed";
}

UniqueFd TwoUsersTest::OpenedAs(const User& u, const std::string& path,
                                int flags, mode_t mode,
                                const std::function<void()>& while_waiting) {
  FdChannel channel;
  // No CloseOtherFds: the child needs the channel, and it exits as soon as
  // it has sent the fd.
  pid_t child = Spawn([&] {
    CHILD_CHECK_ERR(0, BecomeUser(u.uid, u.gid, {u.gid}));
    Opened o = Open(path, flags, mode);
    CHILD_CHECK_ERR(0, o.err);
    CHILD_CHECK(channel.SendFd(o.fd.get()));
    return 0;
  });
  if (while_waiting) while_waiting();
  UniqueFd fd = channel.ReceiveFd();
  EXPECT_EQ(0, WaitExit(child)) << "opening " << path << " as uid " << u.uid;
  return fd;
}

}  // namespace lpctest
