// The fixture of the lpcfs integration tests: every test gets a fresh lpcfs
// daemon (a child process, `lpcfs -f [-o OPTIONS] DIR`) mounted on a new
// temporary directory inside the test binary's private mount namespace
// (main() unshares it once), and a watchdog. TearDown checks that the
// daemon is still alive and answering, then always kills the test's child
// processes, unmounts and reaps the daemon, also after a failure.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "test_util.h"

namespace lpctest {

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Comma-separated -o options for the daemon, for example
  // "queue_messages=4". Empty: defaults.
  virtual std::string DaemonOptions() const { return {}; }
  // Seconds before the watchdog declares the test hung.
  virtual unsigned WatchdogSeconds() const { return 20; }

  // Path of `name` under the mount ("svc" or "dir/svc").
  std::string P(std::string_view name) const;
  // Path of /.conn/ID, the server communication port of connection `conn`.
  std::string ConnFile(uint64_t conn) const;
  const std::string& mount_dir() const { return mnt_; }
  pid_t daemon_pid() const { return daemon_; }
  // What the daemon wrote to stdout and stderr so far (lpcfs.8 "LOGGING").
  std::string DaemonLog() const;
  // Waits (bounded by the watchdog) until the daemon's log has a line
  // containing every one of `parts`; returns that line, or "" if it never
  // came (then the test has failed with the whole log).
  std::string WaitForLogLine(const std::vector<std::string>& parts);

  // open(O_CREAT|O_EXCL|O_RDWR, mode): a new port's server handle. Fails
  // the test (non-fatally) and returns an invalid fd on error.
  UniqueFd CreatePort(std::string_view name, mode_t mode = 0666);
  // A port in auto-accept mode (LPC_REC_PORT_OPTIONS).
  UniqueFd CreateAutoAcceptPort(std::string_view name, mode_t mode = 0666);

  // An auto-accepting port `name` with one client connected O_RDWR and its
  // CONNECT record already read. On any failure the test fails and
  // `client` is left invalid.
  struct ConnectedClient {
    UniqueFd srv;
    UniqueFd client;
    Record connect;
  };
  ConnectedClient ConnectAutoAccepted(std::string_view name);

  // Reads the next record from a server handle; fails the test and returns
  // a zeroed record (type 0) on error. Use with ASSERT_NO_FATAL_FAILURE or
  // check the type.
  Record Next(int server_fd);
  // Next record, which must be of `type` (and of connection `conn` if
  // nonzero); fails the test otherwise.
  Record Expect(int server_fd, uint32_t type, uint64_t conn = 0);

  // The text of /.stats.
  std::string StatsText();
  // The line of /.stats that describes connection `conn`, without its
  // newline; "" if there is none.
  std::string ConnStatsLine(uint64_t conn);

  // Stops the daemon with `sig` and reaps it; returns its exit status, or
  // 128 + signal if a signal ended it. TearDown then expects it gone.
  int StopDaemon(int sig);
  // Reaps the daemon after something else made it exit (for example an
  // unmount); same return value as StopDaemon.
  int WaitForDaemonExit();
  // True while the mount point shows the lpcfs mount.
  bool Mounted() const;

  // Waits (bounded by the watchdog) until .stats contains `needle`.
  bool WaitForStats(const std::string& needle);

  // True if no record is waiting on the server handle (poll, no wait).
  bool NoRecordQueued(int server_fd);

 private:
  std::string mnt_;
  std::string log_;
  pid_t daemon_ = -1;
};

// Whether main() set up the private mount namespace; false if not root.
bool InPrivateMountNamespace();

// The daemon under test: $LPCFS_TEST_DAEMON if set (to run the suite
// against another build), else the lpcfs built with the tests.
const char* DaemonBinary();

}  // namespace lpctest
