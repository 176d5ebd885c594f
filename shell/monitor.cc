// lpc monitor: the events of MOUNT/.monitor as they happen, one line (or
// one JSON object) each, like tcpdump or busctl monitor (lpc(1)).
#include <fcntl.h>
#include <lpc.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "help.h"
#include "monitor_records.h"

namespace lpc::shell {

namespace {

volatile sig_atomic_t g_stop = 0;

void OnStop(int) { g_stop = 1; }

// SIGINT and SIGTERM end the wait in read() (EINTR: installed without
// SA_RESTART, the daemon answers the interrupted read so) and then the
// loop. SIGPIPE is ignored: a closed reader shows as EPIPE on output.
void InstallSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// tcpdump's default: the local time of day to the microsecond.
std::string LocalTime(uint64_t time_ns) {
  time_t seconds = static_cast<time_t>(time_ns / 1'000'000'000u);
  tm local{};
  char text[32] = "??:??:??";
  if (localtime_r(&seconds, &local) != nullptr) {
    std::strftime(text, sizeof text, "%H:%M:%S", &local);
  }
  char out[48];
  std::snprintf(
      out, sizeof out, "%s.%06llu", text,
      static_cast<unsigned long long>(time_ns % 1'000'000'000u / 1000));
  return out;
}

// A PORT argument as a path from the mount root, the form the records
// carry; a usage error if it names something outside the mount.
std::string FilterOf(ArgReader& reader, const std::string& mount,
                     const std::string& port) {
  if (port.empty()) reader.Fail("empty PORT");
  if (port[0] != '/') return "/" + port;
  std::string root = mount;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root == "/") return port;
  if (port == root) return "/";
  if (port.compare(0, root.size() + 1, root + "/") != 0) {
    reader.Fail("'" + port + "' is not below the mount " + root);
  }
  return port.substr(root.size());
}

}  // namespace

int RunMonitor(std::vector<std::string> args) {
  ArgReader reader("monitor", std::move(args));
  std::optional<std::string> mount_option;
  bool json = false;
  PayloadMode payload = PayloadMode::kNone;
  uint64_t count = 0;  // 0: until interrupted
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("monitor");
    } else if (*option == "-m" || *option == "--mount") {
      mount_option = reader.Value();
    } else if (*option == "--json") {
      reader.NoValue();
      json = true;
    } else if (*option == "-p" || *option == "--payload") {
      std::string mode = reader.Value();
      if (mode == "text") {
        payload = PayloadMode::kText;
      } else if (mode == "hex") {
        payload = PayloadMode::kHex;
      } else {
        reader.Fail("invalid payload format '" + mode + "' (text or hex)");
      }
    } else if (*option == "-c" || *option == "--count") {
      std::string text = reader.Value();
      std::optional<uint64_t> n = ParseCount(text);
      if (!n) reader.Fail("invalid count '" + text + "'");
      count = *n;
    } else {
      reader.Fail("unknown option " + *option);
    }
  }
  std::string mount = MountDir(mount_option);
  std::vector<std::string> filters;
  for (const std::string& port : reader.TakeRest()) {
    filters.push_back(FilterOf(reader, mount, port));
  }
  std::string shown_mount = mount;
  while (shown_mount.size() > 1 && shown_mount.back() == '/') {
    shown_mount.pop_back();
  }
  if (shown_mount == "/") shown_mount.clear();

  std::string path = shown_mount + "/" + LPC_MONITOR_FILE;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == EMFILE) {
      Die(kExitFailure, "open " + path + ": " + ErrorText(err) +
                            " (each user may have only a few monitors "
                            "open: monitor_handles in lpcfs(8))");
    }
    Die(kExitFailure, FailureText("open", path, err, mount));
  }
  if (payload != PayloadMode::kNone) {
    lpc_monitor_options options{LPC_MONITOR_PAYLOADS, 0};
    if (ioctl(fd, LPC_IOC_MONITOR, &options) != 0) {
      DieErrno(kExitFailure, "ioctl LPC_IOC_MONITOR " + path, errno);
    }
  }
  InstallSignals();
  // As tcpdump says where it listens: on stderr, so stdout stays events;
  // a script may wait for this line before it makes traffic.
  std::fprintf(stderr, "lpc: monitoring %s\n", path.c_str());

  std::vector<char> buffer(65536);  // > LPC_MONITOR_RECORD_MAX
  uint64_t shown = 0;
  while (!g_stop && (count == 0 || shown < count)) {
    ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;  // g_stop says whether to go on
      Die(kExitFailure, FailureText("read", path, errno, mount));
    }
    if (n == 0) break;
    std::vector<MonitorRecord> records;
    bool whole =
        ParseMonitorRecords({buffer.data(), static_cast<size_t>(n)}, &records);
    std::string text;
    for (const MonitorRecord& record : records) {
      if (count != 0 && shown >= count) break;
      const bool lost = record.header.type == LPC_MON_LOST;
      if (!lost && !filters.empty()) {
        bool wanted = false;
        for (const std::string& f : filters) {
          wanted = wanted || PathMatches(record.path, f);
        }
        if (!wanted) continue;
      }
      if (json) {
        text += EventJson(record, shown_mount, payload)
                    .dump(-1, ' ', false,
                          nlohmann::ordered_json::error_handler_t::replace);
      } else {
        text += EventLine(record, LocalTime(record.header.time_ns), shown_mount,
                          payload);
      }
      text += '\n';
      if (!lost) ++shown;
    }
    // One write per read: live, yet one system call for a burst.
    if (int err = WriteAll(STDOUT_FILENO, text); err != 0) {
      if (err == EPIPE) break;  // the reader has gone (| head): done
      DieErrno(kExitFailure, "write", err);
    }
    if (!whole) Die(kExitFailure, "read " + path + ": a malformed record");
  }
  close(fd);
  return kExitOk;
}

}  // namespace lpc::shell
