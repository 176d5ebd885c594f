#include "kernel_channel.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lpc {

std::string KernelChannel::Attach(fuse_session* session, int fd,
                                  const fuse_custom_io& io) {
  session_ = session;
  int flags = fcntl(fd, F_GETFL);
  // Replies and notifications never block on /dev/fuse; only reads wait,
  // and Read() waits in poll() instead.
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return std::string("cannot make /dev/fuse non-blocking: ") +
           std::strerror(errno);
  }
  if (int err = fuse_session_custom_io(session, &io, fd); err < 0) {
    return std::string("fuse_session_custom_io: ") + std::strerror(-err);
  }
  return {};
}

ssize_t KernelChannel::Read(int fd, void* buf, size_t len) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point spin_until{};
  bool spun = false;
  for (;;) {
    ssize_t n = ::read(fd, buf, len);
    if (n >= 0) {
      Inspect(buf, static_cast<size_t>(n));
      return n;
    }
    // EINTR, ENOENT (an interrupted request), ENODEV (unmounted): libfuse
    // knows what each means.
    if (errno != EAGAIN) return -1;
    // A stopping signal sets the session's exit flag: libfuse ends its
    // loop on the EINTR.
    if (fuse_session_exited(session_)) {
      errno = EINTR;
      return -1;
    }
    if (spin_.count() > 0) {
      Clock::time_point now = Clock::now();
      if (!spun) {
        spin_until = now + spin_;
        spun = true;
      }
      if (now < spin_until) {
        sched_yield();
        continue;
      }
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) return -1;
    // POLLERR (the connection was aborted): the next read says ENODEV.
    spun = false;
  }
}

void KernelChannel::Inspect(const void* buf, size_t len) {
  if (negotiated_.init_seen || len < sizeof(fuse_in_header)) return;
  fuse_in_header in;
  std::memcpy(&in, buf, sizeof in);
  if (in.opcode != FUSE_INIT) return;
  negotiated_.init_seen = true;
  init_unique_ = in.unique;
  // fuse_init_in: major, minor, max_readahead, flags.
  size_t flags_at = sizeof in + offsetof(fuse_init_in, flags);
  if (len >= flags_at + sizeof init_offered_) {
    std::memcpy(&init_offered_, static_cast<const char*>(buf) + flags_at,
                sizeof init_offered_);
  }
}

ssize_t KernelChannel::Writev(int fd, struct iovec* iov, int count) {
  if (init_unique_ != 0) AmendInitReply(iov, count);
  return ::writev(fd, iov, count);
}

void KernelChannel::AmendInitReply(struct iovec* iov, int count) {
  // libfuse writes the header, then the whole fuse_init_out.
  if (count < 2 || iov[0].iov_len < sizeof(fuse_out_header)) return;
  fuse_out_header out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique != init_unique_) return;
  init_unique_ = 0;  // one INIT per session
  constexpr size_t kFlagsAt = offsetof(fuse_init_out, flags);
  if (out.error != 0 || iov[1].iov_len < kFlagsAt + sizeof(uint32_t)) return;
  if ((init_offered_ & FUSE_PARALLEL_DIROPS) == 0) return;
  char* flags_field = static_cast<char*>(iov[1].iov_base) + kFlagsAt;
  uint32_t flags;
  std::memcpy(&flags, flags_field, sizeof flags);
  flags |= FUSE_PARALLEL_DIROPS;
  std::memcpy(flags_field, &flags, sizeof flags);
  negotiated_.parallel_dirops = true;
}

}  // namespace lpc
