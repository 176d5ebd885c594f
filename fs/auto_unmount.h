// The unmount of a daemon that gave up root after mounting (fs/README.md
// "Mounting and unmounting", lpcfs.8 "PRIVILEGES"). Such a daemon cannot
// umount(2). With -o auto_unmount, libfuse 3.14 mounts through fusermount3,
// which stays behind as root holding one end of a socket; once that socket
// closes it unmounts (lazily) if the mount answers ENOTCONN, that is if the
// daemon's /dev/fuse is closed. libfuse keeps the daemon's end of the socket
// open until exit and does not expose it, so this class finds it among the
// descriptors the mount opened, and closes it once /dev/fuse is closed:
// the mount is then gone before the daemon exits.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>

namespace lpc {

class AutoUnmount {
 public:
  // Remembers the descriptors open now: construct just before
  // fuse_session_mount.
  AutoUnmount();
  ~AutoUnmount();
  AutoUnmount(const AutoUnmount&) = delete;
  AutoUnmount& operator=(const AutoUnmount&) = delete;

  // After fuse_session_mount succeeded with auto_unmount: finds
  // fusermount3's socket (the one socket opened since construction) and
  // the mount at `mountpoint`. Moves the socket above `fuse_fd` and marks
  // it close-on-exec, so that even if the daemon dies, /dev/fuse closes
  // before it does and no child holds it. Returns what is missing; empty
  // on success.
  std::string Attach(int fuse_fd, const std::string& mountpoint);

  // After fuse_session_unmount closed /dev/fuse: closes the socket and waits
  // at most `timeout` until the mount is gone. False if it is still there.
  bool Finish(std::chrono::milliseconds timeout);

 private:
  std::set<int> fds_before_;
  int socket_ = -1;
  std::string device_;  // "major:minor" of the mount, as in mountinfo
};

// The open descriptors of this process (from /proc/self/fd).
std::set<int> OpenDescriptors();

// The device ("major:minor") of the topmost FUSE mount at `mountpoint` in
// the text of /proc/self/mountinfo (proc(5)), or nothing if there is none.
std::optional<std::string> FuseMountDevice(const std::string& mountinfo,
                                           const std::string& mountpoint);

// Whether a mount of device `device` ("major:minor") is in `mountinfo`.
bool MountinfoHasDevice(const std::string& mountinfo,
                        const std::string& device);

}  // namespace lpc
