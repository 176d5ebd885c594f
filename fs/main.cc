// lpcfs: the LPC file system daemon. See man/lpcfs.8.
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "daemon.h"
#include "operations.h"
#include "quota_options.h"

namespace {

struct Options {
  unsigned queue_messages = 0;
  unsigned queue_bytes = 0;
  unsigned backlog = 0;
  int connect_timeout = -1;
  unsigned reply_window = 0;
  unsigned stats_handles = 0;
};

#define LPC_OPT(t, p) \
  { t, offsetof(Options, p), 1 }
const fuse_opt kOptionSpec[] = {
    LPC_OPT("queue_messages=%u", queue_messages),
    LPC_OPT("queue_bytes=%u", queue_bytes),
    LPC_OPT("backlog=%u", backlog),
    LPC_OPT("connect_timeout=%d", connect_timeout),
    LPC_OPT("reply_window=%u", reply_window),
    LPC_OPT("stats_handles=%u", stats_handles),
    FUSE_OPT_END,
};

void Usage(const char* prog) {
  std::printf(
      "usage: %s [options] MOUNTPOINT\n"
      "\n"
      "Local procedure call ports as files (see lpcfs(8), lpc(7)).\n"
      "\n"
      "lpcfs options:\n"
      "    -o queue_messages=N    messages queued per connection and "
      "direction (64)\n"
      "    -o queue_bytes=N       payload bytes queued per connection and "
      "direction (65536)\n"
      "    -o backlog=N           pending connection requests per port "
      "(128)\n"
      "    -o connect_timeout=S   seconds a connection request waits, 0 = "
      "forever (30)\n"
      "    -o reply_window=N      unreplied message ids remembered per "
      "connection (1024)\n"
      "    -o stats_handles=N     open .stats files per user (16)\n"
      "\n",
      prog);
  lpc::PrintQuotaHelp();
  fuse_cmdline_help();
  fuse_lowlevel_help();
}

// Owns what option parsing allocates, so every return path frees it.
struct ParsedArgs {
  fuse_args args;
  fuse_cmdline_opts cmd{};
  ParsedArgs(int argc, char* argv[]) : args(FUSE_ARGS_INIT(argc, argv)) {}
  ~ParsedArgs() {
    free(cmd.mountpoint);
    fuse_opt_free_args(&args);
  }
};

// Mounts, serves until unmounted or signalled, and unmounts.
int Serve(fuse_args* args, const char* mountpoint, bool foreground,
          const lpc::Limits& limits) {
  lpc::Daemon daemon(limits);
  const fuse_lowlevel_ops& ops = lpc::LpcfsOperations();
  fuse_session* se = fuse_session_new(args, &ops, sizeof ops, &daemon);
  if (!se) return 1;
  int status = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, mountpoint) == 0) {
      fuse_daemonize(foreground);
      daemon.StartExpiryTimer();
      // One thread: no handler ever blocks, every wait is a deferred
      // reply, and this loop is the fastest (fs/README.md "Threads").
      // The loop returns the number of a stopping signal (SIGTERM, SIGINT,
      // SIGHUP): being asked to stop is success.
      status = fuse_session_loop(se) < 0 ? 1 : 0;
      daemon.StopExpiryTimer();
      // Answer what still waits while the channel is open, so no caller
      // is left to the kernel and no request leaks.
      daemon.broker().AbortWaiters();
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  return status;
}

}  // namespace

int main(int argc, char* argv[]) {
  ParsedArgs parsed(argc, argv);
  fuse_args& args = parsed.args;
  fuse_cmdline_opts& cmd = parsed.cmd;
  Options opts;
  if (fuse_opt_parse(&args, &opts, kOptionSpec, nullptr) == -1) return 2;
  lpc::Limits limits;
  if (!lpc::ParseQuotaOptions(&args, &limits)) return 2;
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
  if (limits.queue_bytes < limits.max_message) {
    std::fprintf(stderr, "lpcfs: queue_bytes must be at least %zu\n",
                 limits.max_message);
    return 2;
  }

  // The kernel enforces the mode bits of ports (default_permissions); as
  // root we serve every user (allow_other), which is safe only with it.
  fuse_opt_add_arg(&args, "-odefault_permissions");
  fuse_opt_add_arg(&args, "-ofsname=lpcfs,subtype=lpcfs");
  if (geteuid() == 0) fuse_opt_add_arg(&args, "-oallow_other");

  return Serve(&args, cmd.mountpoint, cmd.foreground, limits);
}
