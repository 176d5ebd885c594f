// The benchmark's own lpcfs mount: a private mount namespace, the daemon in
// the foreground as a child, and a teardown that always runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace lpcbench {

// The FUSE file system magic number statfs() reports for a FUSE mount.
constexpr long kFuseSuperMagic = 0x65735546;

// ../fs/lpcfs next to this executable's directory (via /proc/self/exe).
std::string DefaultLpcfsPath();

// Moves this process into a new mount namespace whose mounts do not
// propagate back to the host (like `unshare -m --propagation private`).
// Needs CAP_SYS_ADMIN; throws with a hint otherwise.
void EnterPrivateMountNamespace();

class OwnMount {
 public:
  // Creates a temporary directory, starts `lpcfs -f [args...] DIR` (pinned
  // to `cpu` unless it is -1) and waits until DIR is a FUSE mount. Call
  // EnterPrivateMountNamespace() first.
  OwnMount(const std::string& lpcfs, const std::vector<std::string>& args,
           std::chrono::seconds ready_timeout, int cpu = -1);
  ~OwnMount() { Teardown(); }
  OwnMount(const OwnMount&) = delete;
  OwnMount& operator=(const OwnMount&) = delete;

  const std::string& dir() const { return dir_; }
  pid_t daemon_pid() const { return daemon_; }

  // Whether the daemon is still running (false after a crash).
  bool DaemonAlive();

  // Unmounts (fusermount3 -u, then umount2 MNT_DETACH), stops the daemon
  // (it exits by itself once unmounted; else SIGTERM, then SIGKILL), removes
  // the directory. Prints the daemon's log if it had died on its own.
  // Idempotent.
  void Teardown() noexcept;

  // For the SIGINT handler: detach the mount, kill the daemon, remove the
  // directory, using only async-signal-safe calls.
  static void EmergencyTeardown();

 private:
  void PrintLog(const char* why) noexcept;

  std::string dir_;
  std::string log_;
  pid_t daemon_ = -1;
  bool daemon_reaped_ = false;
  int daemon_status_ = 0;
  bool torn_down_ = false;
};

}  // namespace lpcbench
