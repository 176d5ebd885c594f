// The daemon's side of /dev/fuse: how it waits for the next request and
// what it adds to the INIT reply, given to libfuse 3.14 through
// fuse_session_custom_io() (fs/README.md "The channel").
//
// Waiting: after a request, the next one usually follows within a few
// microseconds (a server's reply-and-receive after the daemon handed it a
// message, a client's next call). Sleeping in read() between them makes
// every such request pay a wake-up of the daemon, on another CPU about 7 µs
// (shared/fuse-facts.md "Costs"). So the channel reads /dev/fuse without
// blocking for up to `spin` after the queue ran dry, yielding the CPU
// between tries so that a process woken on this CPU runs at once, and only
// then sleeps in poll(). An idle daemon sleeps: the spin follows activity.
//
// INIT: libfuse 3.14 asks for FUSE_PARALLEL_DIROPS but never sends it in
// its INIT reply (fixed in libfuse 3.17.1), so the kernel serialises every
// LOOKUP in a folder behind one mutex. The daemon handles lookups in one
// thread and keeps no per-folder state a parallel lookup could disturb, so
// the channel sets the flag in the reply when the kernel offered it.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lpc {

class KernelChannel {
 public:
  // What INIT negotiated beyond libfuse, for tests and logs.
  struct Negotiated {
    bool init_seen = false;
    bool parallel_dirops = false;  // set in our reply
  };

  explicit KernelChannel(std::chrono::microseconds spin) : spin_(spin) {}

  // Takes over the reads and writes of `fd`, the session's mounted
  // /dev/fuse descriptor, with `io`, whose callbacks find this channel
  // through the session's userdata and call Read() and Writev(). Returns
  // what failed; empty on success.
  std::string Attach(fuse_session* session, int fd, const fuse_custom_io& io);

  const Negotiated& negotiated() const { return negotiated_; }

  // What the custom I/O callbacks do.
  ssize_t Read(int fd, void* buf, size_t len);
  ssize_t Writev(int fd, struct iovec* iov, int count);

 private:
  // Notes what an INIT request offered, to answer it in Writev().
  void Inspect(const void* buf, size_t len);
  // Adds FUSE_PARALLEL_DIROPS to the INIT reply in `iov`, if offered.
  void AmendInitReply(struct iovec* iov, int count);

  std::chrono::microseconds spin_;
  fuse_session* session_ = nullptr;
  uint64_t init_unique_ = 0;   // the INIT request's id, until answered
  uint32_t init_offered_ = 0;  // the kernel's INIT flags
  Negotiated negotiated_;
};

}  // namespace lpc
