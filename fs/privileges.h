// What the daemon keeps of root once it is mounted (lpcfs.8 "PRIVILEGES"):
// the -o user= option, the account it names, and the switch to that account
// with every capability dropped, verified by reading the result back.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/capability.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace lpc {

// The user the daemon runs as after mounting when started as root. nobody
// owns nothing: the kernel checks every access (default_permissions), and
// the daemon only stores owners, modes and ACLs as data, so it needs no
// identity of its own (lpcfs.8 "PRIVILEGES").
inline constexpr const char* kDefaultDaemonUser = "nobody";

struct PrivilegeOptions {
  std::string user;  // -o user=NAME; empty: not given
  // -o memory_windows: servers may reach their callers' memory (lpc.7
  // "MEMORY WINDOWS"), which takes CAP_SYS_PTRACE.
  bool memory_windows = false;
};

// Takes -o user=NAME and -o memory_windows out of `args`. False, with a message
// on stderr, if it is given empty.
bool ParsePrivilegeOptions(fuse_args* args, PrivilegeOptions* opts);

// The lines of `lpcfs --help` for it.
void PrintPrivilegeHelp();

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // the primary group; the daemon keeps no other
};

// The account called `name` in the user database, or why there is none.
std::variant<Account, std::string> LookUpAccount(const std::string& name);

// What the daemon does about privilege, decided before mounting.
struct PrivilegePlan {
  // Switch to `account` and drop capabilities after mounting; when false
  // the daemon keeps the identity it started with.
  bool switch_user = false;
  Account account;
  // The capabilities kept after the switch: none, or with -o
  // memory_windows CAP_SYS_PTRACE, which process_vm_readv(2) and
  // process_vm_writev(2) need to reach another user's process.
  std::vector<cap_value_t> keep;
  // Set PR_SET_NO_NEW_PRIVS after mounting. Not for a daemon started by an
  // ordinary user: its unmount runs the set-user-ID fusermount3, which no
  // longer gains root under no_new_privs.
  bool no_new_privs = false;
};

// The plan for a daemon whose effective uid is `euid`, given `opts`, or
// why it cannot run so (a usage error: exit status 2).
std::variant<PrivilegePlan, std::string> PlanPrivileges(
    const PrivilegeOptions& opts, uid_t euid);

// The capabilities of one thread as bit masks (bit N is capability N), its
// ids and no_new_privs, as the kernel reports them.
struct ThreadPrivileges {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  std::vector<gid_t> groups;
  uint64_t effective = 0, permitted = 0, inheritable = 0;
  uint64_t bounding = 0, ambient = 0;
  bool no_new_privs = false;
};

// The calling thread's privileges, read back through libcap and the
// get*id calls.
ThreadPrivileges ReadThreadPrivileges();

// The mask of `keep`, as ThreadPrivileges holds capability sets.
uint64_t CapabilityMask(std::span<const cap_value_t> keep);

// What `seen` has that a daemon switched to `account`, keeping only `keep`,
// must not: empty if nothing. Every capability set must be exactly `keep`
// (permitted, effective and bounding) or empty (inheritable, ambient), the
// ids all `account`'s, no supplementary groups, no_new_privs set.
std::string DescribeLeftoverPrivileges(const ThreadPrivileges& seen,
                                       const Account& account, uint64_t keep);

// Switches the calling process to `account` and leaves it only the
// capabilities in `keep` (none, or CAP_SYS_PTRACE for memory windows),
// bounding set included, with no_new_privs set; then
// reads the result back. Capabilities are per thread: call this before any
// thread is started. Returns what failed or what is left over; empty on
// success. A failure may leave the process half switched: exit then.
std::string DropPrivileges(const Account& account,
                           std::span<const cap_value_t> keep);

// Sets no_new_privs alone (a daemon that keeps its identity).
std::string SetNoNewPrivs();

}  // namespace lpc
