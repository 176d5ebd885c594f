// lpcfs: the LPC file system daemon. See man/lpcfs.8.
#include <malloc.h>
#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <chrono>
#include <string>
#include <variant>

#include "auto_unmount.h"
#include "daemon.h"
#include "log.h"
#include "lpc.h"
#include "mount_args.h"
#include "mount_check.h"
#include "operations.h"
#include "privileges.h"
#include "quota_options.h"
#include "service_notify.h"

namespace {

// spin_us given no value: the default applies.
constexpr int kSpinUnset = INT_MIN;

struct Options {
  unsigned queue_messages = 0;
  unsigned queue_bytes = 0;
  unsigned max_message = 0;
  unsigned backlog = 0;
  int connect_timeout = -1;
  unsigned reply_window = 0;
  unsigned stats_handles = 0;
  unsigned monitor_handles = 0;
  unsigned monitor_queue = 0;
  int spin_us = kSpinUnset;
  char* log_level = nullptr;  // fuse_opt allocates it; freed in ParsedArgs
};

// How long the session loop keeps polling /dev/fuse after a request before
// it sleeps (fs/kernel_channel.h; measured in bench/README.md).
constexpr int kDefaultSpinMicroseconds = 100;

#define LPC_OPT(t, p) \
  { t, offsetof(Options, p), 1 }
const fuse_opt kOptionSpec[] = {
    LPC_OPT("queue_messages=%u", queue_messages),
    LPC_OPT("queue_bytes=%u", queue_bytes),
    LPC_OPT("max_message=%u", max_message),
    LPC_OPT("backlog=%u", backlog),
    LPC_OPT("connect_timeout=%d", connect_timeout),
    LPC_OPT("reply_window=%u", reply_window),
    LPC_OPT("stats_handles=%u", stats_handles),
    LPC_OPT("monitor_handles=%u", monitor_handles),
    LPC_OPT("monitor_queue=%u", monitor_queue),
    LPC_OPT("spin_us=%d", spin_us),
    LPC_OPT("log_level=%s", log_level),
    FUSE_OPT_END,
};

// Options of libfuse's multithreaded loop. lpcfs runs one loop thread
// (fs/README.md "Threads"), so they change nothing; they are accepted, so
// that a command line or fstab line written for another FUSE file system
// still mounts, and said to be ignored (lpcfs.8 "OPTIONS").
enum { kIgnoredThreadOption = 1 };
const fuse_opt kThreadOptionSpec[] = {
    FUSE_OPT_KEY("-s", kIgnoredThreadOption),
    FUSE_OPT_KEY("clone_fd", kIgnoredThreadOption),
    FUSE_OPT_KEY("max_threads=", kIgnoredThreadOption),
    FUSE_OPT_KEY("max_idle_threads=", kIgnoredThreadOption),
    // Always subtype=lpcfs, added below; mount.fuse3 passes one too.
    FUSE_OPT_KEY("subtype=", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_END,
};

int DropThreadOption(void*, const char* arg, int key, fuse_args*) {
  if (key != kIgnoredThreadOption) return 1;
  // -s asks for what lpcfs does anyway: nothing to say.
  if (std::strcmp(arg, "-s") != 0) {
    std::fprintf(stderr,
                 "lpcfs: warning: ignoring -o %s: lpcfs serves from one "
                 "thread\n",
                 arg);
  }
  return 0;
}

void Usage(const char* prog) {
  std::printf(
      "usage: %s [options] [SOURCE] MOUNTPOINT\n"
      "\n"
      "Local procedure call ports as files (see lpcfs(8), lpc(7)).\n"
      "SOURCE, as mount(8) passes it, is ignored.\n"
      "\n"
      "lpcfs options:\n"
      "    -o queue_messages=N    messages queued per connection and "
      "direction (64)\n"
      "    -o queue_bytes=N       payload bytes queued per connection and "
      "direction (65536)\n"
      "    -o max_message=N       a port's largest message in bytes, up to "
      "1040384 (65536)\n"
      "    -o backlog=N           pending connection requests per port "
      "(128)\n"
      "    -o connect_timeout=S   seconds a connection request waits, 0 = "
      "forever (30)\n"
      "    -o reply_window=N      unreplied message ids remembered per "
      "connection (1024)\n"
      "    -o spin_us=N           microseconds to poll for the next request "
      "before\n"
      "                           sleeping, 0 = sleep at once (100)\n"
      "    -o stats_handles=N     open .stats files per user (16)\n"
      "    -o monitor_handles=N   open .monitor files per user (4)\n"
      "    -o monitor_queue=N     bytes of events queued per open .monitor "
      "before\n"
      "                           it loses events, at least 16384 (262144)\n"
      "    -o log_level=LEVEL     error, warning, notice, info or debug "
      "(notice)\n"
      "\n",
      prog);
  lpc::PrintQuotaHelp();
  lpc::PrintPrivilegeHelp();
  // Not fuse_cmdline_help() and fuse_lowlevel_help(): they describe the
  // multithreaded loop's options, which lpcfs ignores, and mount options
  // lpcfs sets itself (lpcfs.8 "OPTIONS").
  std::printf(
      "general options:\n"
      "    -h   --help            print help\n"
      "    -V   --version         print version\n"
      "    -d   -o debug          print every FUSE request (implies -f)\n"
      "    -f                     stay in the foreground\n"
      "    -o auto_unmount        unmount when the daemon ends (always on "
      "as root)\n"
      "    -o allow_other         let other users in (always on as root)\n"
      "\n"
      "accepted and ignored (lpcfs serves from one thread):\n"
      "    -s, -o clone_fd, -o max_threads=N, -o max_idle_threads=N\n");
}

// Owns what option parsing allocates, so every return path frees it.
struct ParsedArgs {
  fuse_args args;
  fuse_cmdline_opts cmd{};
  ParsedArgs(int argc, char* argv[]) : args(FUSE_ARGS_INIT(argc, argv)) {}
  char* log_level = nullptr;
  ~ParsedArgs() {
    free(log_level);
    free(cmd.mountpoint);
    fuse_opt_free_args(&args);
  }
};

// Gives up what `plan` says once mounted, before any thread starts
// (capabilities are per thread). Returns what failed; empty on success.
std::string DropAfterMount(const lpc::PrivilegePlan& plan) {
  if (plan.switch_user) return lpc::DropPrivileges(plan.account, plan.keep);
  if (plan.no_new_privs) return lpc::SetNoNewPrivs();
  return {};
}

// Mounts, gives up privilege, serves until unmounted or signalled, and
// unmounts.
int Serve(fuse_args* args, const char* mountpoint, bool foreground,
          const lpc::Limits& limits, std::chrono::microseconds spin,
          const lpc::PrivilegePlan& plan, bool memory_windows,
          lpc::LogLevel log_level) {
  lpc::Daemon daemon(limits, spin, memory_windows);
  daemon.ConfigureLog(log_level, lpc::StderrIsJournal());
  const fuse_lowlevel_ops& ops = lpc::LpcfsOperations();
  fuse_session* se = fuse_session_new(args, &ops, sizeof ops, &daemon);
  if (!se) return 1;
  int status = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    lpc::AutoUnmount auto_unmount;
    if (fuse_session_mount(se, mountpoint) == 0) {
      std::string problem;
      if (plan.switch_user) {
        problem = auto_unmount.Attach(fuse_session_fd(se), mountpoint);
      }
      if (problem.empty()) problem = daemon.AttachChannel(se);
      if (problem.empty()) problem = DropAfterMount(plan);
      if (problem.empty()) {
        // Only now: a failure above is still the exit status of `lpcfs`
        // without -f.
        fuse_daemonize(foreground);
        // systemd's Type=notify (lpcfs.service) waits for this; the mount
        // is up and the privileges are gone.
        std::string not_told = lpc::NotifyReady();
        if (!not_told.empty()) {
          fuse_log(FUSE_LOG_ERR, "lpcfs: %s\n", not_told.c_str());
        }
        daemon.log().Write(lpc::LogLevel::kNotice,
                           std::string("serving ") + mountpoint);
        daemon.StartExpiryTimer();
        // One thread: no handler ever blocks, every wait is a deferred
        // reply, and this loop is the fastest (fs/README.md "Threads").
        // The loop returns the number of a stopping signal (SIGTERM,
        // SIGINT, SIGHUP): being asked to stop is success.
        status = fuse_session_loop(se) < 0 ? 1 : 0;
        daemon.StopExpiryTimer();
        // Answer what still waits while the channel is open, so no caller
        // is left to the kernel and no request leaks.
        daemon.broker().AbortWaiters();
      } else {
        fuse_log(FUSE_LOG_ERR, "lpcfs: %s; unmounting\n", problem.c_str());
      }
      // Closes /dev/fuse; only a daemon still root unmounts here.
      fuse_session_unmount(se);
      // A daemon that is not: fusermount3 does, once told (fs/README.md
      // "Mounting and unmounting").
      if (!auto_unmount.Finish(std::chrono::seconds(5))) {
        fuse_log(FUSE_LOG_ERR, "lpcfs: %s is still mounted\n", mountpoint);
        status = 1;
      }
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  return status;
}

}  // namespace

// Large messages (up to 1016 KiB) pass through buffers the daemon
// allocates and frees per message. glibc serves blocks that large with a
// fresh mmap() and returns them with munmap() (or trims the heap), so each
// one cost the kernel a page fault and a page clear per 4 KiB: a quarter
// of the daemon's time in a 1000 KiB round trip (bench/README.md, "Large
// messages"). Kept in the heap instead, freed buffers are reused; at most
// kTrimThreshold of free heap is kept back after a burst.
void KeepLargeBuffers() {
  constexpr int kMmapThreshold = 4 << 20;   // above any message buffer
  constexpr int kTrimThreshold = 64 << 20;  // free heap kept for reuse
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
}

int main(int argc, char* argv[]) {
  KeepLargeBuffers();
  ParsedArgs parsed(argc, argv);
  fuse_args& args = parsed.args;
  fuse_cmdline_opts& cmd = parsed.cmd;
  // First, so that what mount(8) adds never reaches the other parsers.
  if (!lpc::DropMountHelperArgs(&args)) return 2;
  Options opts;
  if (fuse_opt_parse(&args, &opts, kOptionSpec, nullptr) == -1) return 2;
  parsed.log_level = opts.log_level;
  if (fuse_opt_parse(&args, nullptr, kThreadOptionSpec, DropThreadOption) ==
      -1) {
    return 2;
  }
  lpc::Limits limits;
  if (!lpc::ParseQuotaOptions(&args, &limits)) return 2;
  lpc::PrivilegeOptions privilege_opts;
  if (!lpc::ParsePrivilegeOptions(&args, &privilege_opts)) return 2;
  if (fuse_parse_cmdline(&args, &cmd) != 0) return 2;
  if (cmd.show_help) {
    Usage(argv[0]);
    return 0;
  }
  if (cmd.show_version) {
    std::printf("lpcfs version 0.1.0, protocol %d\n", LPC_PROTOCOL_VERSION);
    fuse_lowlevel_version();
    return 0;
  }
  if (!cmd.mountpoint) {
    std::fprintf(stderr, "lpcfs: no mountpoint given (try --help)\n");
    return 2;
  }

  if (opts.queue_messages) limits.queue_messages = opts.queue_messages;
  if (opts.queue_bytes) limits.queue_bytes = opts.queue_bytes;
  if (opts.backlog) limits.backlog = opts.backlog;
  if (opts.stats_handles) limits.stats_handles = opts.stats_handles;
  if (opts.monitor_handles) limits.monitor_handles = opts.monitor_handles;
  if (opts.monitor_queue) limits.monitor_queue = opts.monitor_queue;
  // One record of the largest size must fit, or a monitor could never
  // read it (lpc.7 "MONITOR").
  if (limits.monitor_queue < LPC_MONITOR_RECORD_MAX) {
    std::fprintf(stderr, "lpcfs: monitor_queue must be at least %d\n",
                 LPC_MONITOR_RECORD_MAX);
    return 2;
  }
  constexpr int kMaxConnectTimeout = 24 * 3600;  // a day: surely a mistake
  if (opts.connect_timeout > kMaxConnectTimeout) {
    std::fprintf(stderr, "lpcfs: connect_timeout is at most %d seconds\n",
                 kMaxConnectTimeout);
    return 2;
  }
  if (opts.connect_timeout >= 0) {
    limits.connect_timeout_ms =
        static_cast<uint32_t>(opts.connect_timeout) * 1000;
  }
  if (opts.reply_window) limits.reply_window = opts.reply_window;
  constexpr int kMaxSpin = 10000;  // 10 ms: past that, sleeping is cheaper
  if (opts.spin_us == kSpinUnset) opts.spin_us = kDefaultSpinMicroseconds;
  if (opts.spin_us < 0 || opts.spin_us > kMaxSpin) {
    std::fprintf(stderr, "lpcfs: spin_us must be 0 to %d microseconds\n",
                 kMaxSpin);
    return 2;
  }
  lpc::LogLevel log_level = lpc::LogLevel::kNotice;
  if (opts.log_level && !lpc::ParseLevel(opts.log_level, &log_level)) {
    std::fprintf(stderr,
                 "lpcfs: log_level must be error, warning, notice, info or "
                 "debug\n");
    return 2;
  }
  if (opts.max_message) {
    if (opts.max_message > LPC_MAX_MESSAGE_LIMIT) {
      std::fprintf(stderr, "lpcfs: max_message must be 1 to %u bytes\n",
                   LPC_MAX_MESSAGE_LIMIT);
      return 2;
    }
    limits.max_message = opts.max_message;
  }
  // A message larger than queue_bytes still goes, alone in its queue; but
  // a user's lone message must fit the user's bytes quota, or its writer
  // would wait for good (lpc.7 "QUOTAS").
  if (limits.quota[lpc::QuotaKind::kBytes] < limits.max_message) {
    std::fprintf(stderr,
                 "lpcfs: quota_bytes must be at least max_message (%zu)\n",
                 limits.max_message);
    return 2;
  }

  auto planned = lpc::PlanPrivileges(privilege_opts, geteuid());
  if (auto* why = std::get_if<std::string>(&planned)) {
    std::fprintf(stderr, "lpcfs: %s\n", why->c_str());
    return 2;
  }
  const lpc::PrivilegePlan& plan = std::get<lpc::PrivilegePlan>(planned);
  // Once it is not root, only fusermount3 can unmount for the daemon.
  if (plan.switch_user) fuse_opt_add_arg(&args, "-oauto_unmount");

  // The kernel enforces the mode bits of ports (default_permissions); as
  // root we serve every user (allow_other), which is safe only with it.
  fuse_opt_add_arg(&args, "-odefault_permissions");
  // subtype=lpcfs once: any other was dropped (kThreadOptionSpec).
  fuse_opt_add_arg(&args, "-ofsname=lpcfs,subtype=lpcfs");
  // Last, so that the dev,suid that mount.fuse3 adds for root lose: a port
  // is no device, and no one's program to run with another's rights.
  fuse_opt_add_arg(&args, "-onosuid,nodev");
  if (geteuid() == 0) fuse_opt_add_arg(&args, "-oallow_other");

  // A second mount would hide the first one's ports, and its clients
  // would connect to a daemon their servers never heard of.
  if (lpc::IsLpcfsMount(cmd.mountpoint)) {
    std::fprintf(stderr, "lpcfs: %s is already an lpcfs mount\n",
                 cmd.mountpoint);
    return 1;
  }

  return Serve(&args, cmd.mountpoint, cmd.foreground, limits,
               std::chrono::microseconds(opts.spin_us), plan,
               privilege_opts.memory_windows, log_level);
}
