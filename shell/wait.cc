// lpc wait: until a port exists and a server holds it. A script starts
// `lpc serve PORT -- CMD &` and then `lpc wait PORT` before its first
// connect, which would otherwise race the server's create (a shell's `<>`
// on a missing name fails "Connection refused", lpc.7 "CONNECTING").
#include <lpc.h>
#include <sys/xattr.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "help.h"

namespace lpc::shell {

namespace {

// Between two looks at the port. One look is one getxattr(), one request to
// the daemon, so 5 ms costs it nothing noticeable and a waiting script
// hardly any latency.
constexpr long kPollIntervalNs = 5'000'000;

enum class PortState { kServed, kNotYet, kFailed };

// Whether `path` is served now: its LPC_SERVER_XATTR exists only while a
// server handle of the port is open (lpc.7 "WHO SERVES A NAME"). *err is
// the errno when kFailed.
PortState LookAt(const std::string& path, int* err) {
  char value[128];
  if (getxattr(path.c_str(), LPC_SERVER_XATTR, value, sizeof value) >= 0) {
    return PortState::kServed;
  }
  *err = errno;
  // ENOENT: not created yet. ENODATA: a port whose server handle is closed,
  // which a new server cannot reuse either, but the name may be unlinked and
  // created again. ERANGE cannot happen (the value is short) but means it
  // exists.
  if (*err == ERANGE) return PortState::kServed;
  if (*err == ENOENT || *err == ENODATA || *err == EINTR) {
    return PortState::kNotYet;
  }
  return PortState::kFailed;
}

}  // namespace

int RunWait(std::vector<std::string> args) {
  ArgReader reader("wait", std::move(args));
  std::optional<std::string> mount_option;
  std::optional<double> timeout;
  std::string timeout_text;
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("wait");
    } else if (*option == "-m" || *option == "--mount") {
      mount_option = reader.Value();
    } else if (*option == "-t" || *option == "--timeout") {
      timeout_text = reader.Value();
      timeout = ParseSeconds(timeout_text);
      if (!timeout) {
        reader.Fail("invalid timeout '" + timeout_text +
                    "' (seconds, like 2 or 0.5)");
      }
    } else {
      reader.Fail("unknown option " + *option);
    }
  }
  if (reader.AtEnd()) reader.Fail("missing PORT");
  std::string port = reader.Take();
  if (port.empty()) reader.Fail("empty PORT");
  if (!reader.AtEnd()) {
    reader.Fail("unexpected argument '" + reader.Peek() + "'");
  }
  std::string mount = MountDir(mount_option);
  std::string path = PortPath(mount, port);

  // A port can only appear in an existing folder of a live mount: say so
  // now rather than wait for ever.
  if (auto problem = MountProblem("wait for", path, mount)) {
    Die(kExitFailure, *problem);
  }
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> deadline;
  if (timeout) {
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(*timeout));
  }
  for (;;) {
    int err = 0;
    PortState state = LookAt(path, &err);
    if (state == PortState::kServed) return kExitOk;
    if (state == PortState::kFailed) {
      Die(kExitFailure, FailureText("wait for", path, err, mount));
    }
    if (deadline && Clock::now() >= *deadline) {
      Die(kExitTimeout,
          "wait for " + path + ": not served within " + timeout_text + " s");
    }
    timespec pause = {0, kPollIntervalNs};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace lpc::shell
