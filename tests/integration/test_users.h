// Two unprivileged users, lpct_alice and lpct_bob, for the tests that need
// more than root: access control (security_test.cc) and one user's calls
// against another's (stale_request_test.cc). The users are created with
// useradd if they are missing; children run as them with setuid.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mount_fixture.h"

namespace lpctest {

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The ids of user `name` from the user database; false if there is none.
bool LookUpUser(const char* name, User* out);

// Runs fn in a child from Spawn as `u` (uid, gid, supplementary groups =
// {gid}). The child first closes every fd from 3 up except those in
// `keep`: a copy of a handle the test closes later would keep a port or
// connection alive, and a user's process should hold only that user's
// handles.
pid_t RunAs(const User& u, std::vector<int> keep, std::function<int()> fn);
inline pid_t RunAs(const User& u, std::function<int()> fn) {
  return RunAs(u, {}, std::move(fn));
}

// A mount and both users, looked up as alice_ and bob_.
class TwoUsersTest : public MountTest {
 protected:
  // Creates the users if they are missing. Without root every test is
  // skipped anyway, so it does nothing then.
  static void SetUpTestSuite();
  // Fails the test (fatally) if a user is still missing.
  void SetUp() override;

  // open(path, flags, mode) in a child running as `u`, the fd passed back
  // to the test (SCM_RIGHTS): what the daemon records about the open (the
  // creator of a port, the ids of a connection) is `u`'s, yet the test
  // keeps the handle. `while_waiting` runs in the test while the open may
  // still wait in the daemon (for example, to accept the connection it
  // asks for). Fails the test non-fatally and returns an invalid fd if the
  // open fails.
  UniqueFd OpenedAs(const User& u, const std::string& path, int flags,
                    mode_t mode = 0,
                    const std::function<void()>& while_waiting = {});

  User alice_, bob_;
};

// TwoUsersTest and a third user, lpct_carol, looked up as carol_: one who
// is neither side of a connection (sections and views lent to the others).
class ThreeUsersTest : public TwoUsersTest {
 protected:
  static void SetUpTestSuite();
  void SetUp() override;

  User carol_;
};

}  // namespace lpctest
