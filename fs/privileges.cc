#include "privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "capabilities.h"

namespace lpc {

namespace {

struct RawPrivilegeOptions {
  char* user = nullptr;  // malloc'ed by fuse_opt_parse
  int memory_windows = 0;
};

const fuse_opt kPrivilegeSpec[] = {
    {"user=%s", offsetof(RawPrivilegeOptions, user), 0},
    {"memory_windows", offsetof(RawPrivilegeOptions, memory_windows), 1},
    FUSE_OPT_END,
};

std::string Failed(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

void DescribeMask(std::ostringstream& out, const char* name, uint64_t seen,
                  uint64_t want) {
  if (seen == want) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, " %s=%016llx (want %016llx)", name,
                static_cast<unsigned long long>(seen),
                static_cast<unsigned long long>(want));
  out << buf;
}

}  // namespace

bool ParsePrivilegeOptions(fuse_args* args, PrivilegeOptions* opts) {
  RawPrivilegeOptions raw;
  if (fuse_opt_parse(args, &raw, kPrivilegeSpec, nullptr) == -1) return false;
  opts->memory_windows = raw.memory_windows != 0;
  if (raw.user) {
    opts->user = raw.user;
    std::free(raw.user);
    if (opts->user.empty()) {
      std::fprintf(stderr, "lpcfs: -o user= needs a user name\n");
      return false;
    }
  }
  return true;
}

void PrintPrivilegeHelp() {
  std::printf(
      "privilege options (see PRIVILEGES in lpcfs(8)):\n"
      "    -o user=NAME           user to run as once mounted, when started "
      "as root (%s);\n"
      "                           root keeps every privilege\n"
      "    -o memory_windows      let servers read and write the memory "
      "windows\n"
      "                           their callers attach; keeps "
      "CAP_SYS_PTRACE (off)\n"
      "\n",
      kDefaultDaemonUser);
}

std::variant<Account, std::string> LookUpAccount(const std::string& name) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::string buf(size > 0 ? static_cast<size_t>(size) : 16384, '\0');
  passwd pw{};
  passwd* found = nullptr;
  int err;
  while ((err = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(),
                           &found)) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (err != 0) return "looking up user " + name + ": " + std::strerror(err);
  if (!found) return "no such user: " + name;
  return Account{name, pw.pw_uid, pw.pw_gid};
}

std::variant<PrivilegePlan, std::string> PlanPrivileges(
    const PrivilegeOptions& opts, uid_t euid) {
  PrivilegePlan plan;
  if (euid != 0) {
    // Nothing to drop, and no_new_privs would stop the set-user-ID
    // fusermount3 that unmounts for an ordinary user.
    if (!opts.user.empty()) {
      return "-o user=" + opts.user + " needs lpcfs to be started as root";
    }
    return plan;
  }
  auto looked_up =
      LookUpAccount(opts.user.empty() ? kDefaultDaemonUser : opts.user);
  if (auto* why = std::get_if<std::string>(&looked_up))
    return "-o user: " + *why;
  plan.account = std::get<Account>(looked_up);
  plan.no_new_privs = true;
  // uid 0 by any name keeps root, as before: for debugging.
  plan.switch_user = plan.account.uid != 0;
  // process_vm_readv/writev on a caller of another uid need ptrace rights
  // over it; nothing else the daemon does needs a capability.
  if (opts.memory_windows) plan.keep.push_back(CAP_SYS_PTRACE);
  return plan;
}

ThreadPrivileges ReadThreadPrivileges() {
  ThreadPrivileges t;
  getresuid(&t.ruid, &t.euid, &t.suid);
  getresgid(&t.rgid, &t.egid, &t.sgid);
  int n = getgroups(0, nullptr);
  if (n > 0) {
    t.groups.resize(static_cast<size_t>(n));
    n = getgroups(n, t.groups.data());
    t.groups.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  if (UniqueCaps caps{cap_get_proc()}) {
    t.effective = CapabilitySetMask(caps.get(), CAP_EFFECTIVE);
    t.permitted = CapabilitySetMask(caps.get(), CAP_PERMITTED);
    t.inheritable = CapabilitySetMask(caps.get(), CAP_INHERITABLE);
  } else {
    // Unreadable: report everything, so that the check refuses.
    t.effective = t.permitted = t.inheritable = ~uint64_t{0};
  }
  for (cap_value_t c = 0; c < cap_max_bits() && c < 64; ++c) {
    // cap_get_* return -1 for a capability the kernel does not know;
    // count that as held, the safe side.
    if (cap_get_bound(c) != 0) t.bounding |= uint64_t{1} << c;
    if (cap_get_ambient(c) > 0) t.ambient |= uint64_t{1} << c;
  }
  t.no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
  return t;
}

uint64_t CapabilityMask(std::span<const cap_value_t> keep) {
  uint64_t mask = 0;
  for (cap_value_t c : keep) {
    if (c >= 0 && c < 64) mask |= uint64_t{1} << c;
  }
  return mask;
}

std::string DescribeLeftoverPrivileges(const ThreadPrivileges& seen,
                                       const Account& account, uint64_t keep) {
  std::ostringstream out;
  if (seen.ruid != account.uid || seen.euid != account.uid ||
      seen.suid != account.uid) {
    out << " uids=" << seen.ruid << "," << seen.euid << "," << seen.suid
        << " (want " << account.uid << ")";
  }
  if (seen.rgid != account.gid || seen.egid != account.gid ||
      seen.sgid != account.gid) {
    out << " gids=" << seen.rgid << "," << seen.egid << "," << seen.sgid
        << " (want " << account.gid << ")";
  }
  if (!seen.groups.empty()) {
    out << " " << seen.groups.size() << " supplementary groups (want none)";
  }
  DescribeMask(out, "CapEff", seen.effective, keep);
  DescribeMask(out, "CapPrm", seen.permitted, keep);
  DescribeMask(out, "CapInh", seen.inheritable, 0);
  DescribeMask(out, "CapBnd", seen.bounding, keep);
  DescribeMask(out, "CapAmb", seen.ambient, 0);
  if (!seen.no_new_privs) out << " NoNewPrivs=0 (want 1)";
  std::string s = out.str();
  return s.empty() ? s : s.substr(1);
}

std::string DropPrivileges(const Account& account,
                           std::span<const cap_value_t> keep) {
  const uint64_t keep_mask = CapabilityMask(keep);
  // Only what the process holds can be kept: a service whose bounding set
  // lacks it (lpcfs.service) started without it.
  const uint64_t held = ReadThreadPrivileges().permitted;
  for (cap_value_t c : keep) {
    if (c < 64 && !(held >> c & 1)) {
      char* name = cap_to_name(c);
      std::string what = name ? name : std::to_string(c);
      cap_free(name);
      return "cannot keep " + what +
             ": the process was started without it (a capability bounding "
             "set that lacks it?)";
    }
  }
  // Exec can never give back what is dropped here (a set-user-ID or
  // file-capability program).
  if (std::string failed = SetNoNewPrivs(); !failed.empty()) return failed;
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes
  // with the uid switch below.
  for (cap_value_t c = 0; c < cap_max_bits(); ++c) {
    if (c < 64 && (keep_mask >> c & 1)) continue;
    if (cap_get_bound(c) > 0 && cap_drop_bound(c) != 0) {
      return Failed("cap_drop_bound", errno);
    }
  }
  if (cap_reset_ambient() != 0) return Failed("cap_reset_ambient", errno);
  // Keep the permitted set through setresuid only if something is kept;
  // the kernel clears it otherwise when every uid leaves 0.
  if (keep_mask && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    return Failed("prctl(PR_SET_KEEPCAPS)", errno);
  }
  // Groups, then gids, while the uid still allows changing them. The
  // daemon needs no supplementary group: it opens no file by permission.
  if (setgroups(0, nullptr) != 0) return Failed("setgroups", errno);
  if (setresgid(account.gid, account.gid, account.gid) != 0) {
    return Failed("setresgid", errno);
  }
  if (setresuid(account.uid, account.uid, account.uid) != 0) {
    return Failed("setresuid", errno);
  }
  if (keep_mask && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
    return Failed("prctl(PR_SET_KEEPCAPS)", errno);
  }
  UniqueCaps caps{cap_init()};  // every set empty
  if (!caps) return Failed("cap_init", errno);
  for (cap_value_t c : keep) {
    if (cap_set_flag(caps.get(), CAP_PERMITTED, 1, &c, CAP_SET) != 0 ||
        cap_set_flag(caps.get(), CAP_EFFECTIVE, 1, &c, CAP_SET) != 0) {
      return Failed("cap_set_flag", errno);
    }
  }
  if (cap_set_proc(caps.get()) != 0) return Failed("cap_set_proc", errno);
  // Changing uid made the process non-dumpable, and it stays so: no process
  // of its new uid may trace it. LeakSanitizer copes (it makes the process
  // dumpable while it stops it at exit, then restores the flag), so the
  // sanitizer build needs no exception (lpcfs.8 "PRIVILEGES").
  std::string left =
      DescribeLeftoverPrivileges(ReadThreadPrivileges(), account, keep_mask);
  if (!left.empty()) return "privileges left after dropping them: " + left;
  return {};
}

std::string SetNoNewPrivs() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Failed("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  return {};
}

}  // namespace lpc
