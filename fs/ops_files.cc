// Operations on open files: create, open, read, write, poll, release.
// Open, read and write may wait: the broker answers them through the
// Daemon, now or later, and a signal cancels them (Daemon::Defer).
#include <fcntl.h>
#include <sys/ioctl.h>

#include <cstring>
#include <span>

#include "attributes.h"
#include "file_handles.h"
#include "kernel_replies.h"
#include "lpc.h"
#include "operations.h"
#include "ops_windows.h"

namespace lpc::ops {
namespace {

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  Guarded(req, [&] {
    Daemon& d = Daemon::Of(req);
    if (NodeId(parent) == d.broker().sections_dir()) {
      return CreateSection(req, parent, name, mode, fi);
    }
    bool exclusive = fi->flags & O_EXCL;
    const fuse_ctx& ctx = *fuse_req_ctx(req);
    auto created = d.broker().CreatePort(
        NodeId(parent), name, mode & 07777, ctx.umask, exclusive,
        d.identities().CallerOf(ctx), fi->flags & O_ACCMODE);
    if (!created) return ReplyError(req, created.error());
    fuse_entry_param e = ToEntry(created->attr);
    if (ReplyCreateRaw(req, e, FileHandleOf(created->handle, false),
                       OpenStyle::kMessageStream) != -ENOENT) {
      return;
    }
    // The caller is gone before it saw the handle: no release will come.
    // The request is answered; nothing may throw past here.
    try {
      d.broker().Release(created->handle);
    } catch (const std::exception& ex) {
      fuse_log(FUSE_LOG_ERR, "lpcfs: create: %s\n", ex.what());
    }
  });
}

// The kernel's open flag of execve(2) (__FMODE_EXEC, not in the uapi
// headers). An exec checks only the execute bit, so it must not connect
// (lpc.7 "ACCESS CONTROL").
constexpr int kExecOpenFlag = 0x20;

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  int flags = fi->flags;
  if (flags & kExecOpenFlag) return (void)fuse_reply_err(req, EACCES);
  if (windows::IsWindowFile(ino)) return windows::Open(req, ino, fi);
  GuardedDeferred(req, [&](Daemon& d, Token token) {
    d.broker().Open(token, NodeId(ino), flags,
                    d.identities().CallerOf(*fuse_req_ctx(req)));
  });
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          fuse_file_info* fi) {
  if (IsSectionFile(fi->fh)) return ReadSection(req, size, off, fi);
  if (windows::IsWindowFile(ino)) return windows::Read(req, ino, size, off);
  HandleId handle = HandleOfFile(fi->fh);
  bool nonblock = fi->flags & O_NONBLOCK;
  GuardedDeferred(req, [&](Daemon& d, Token token) {
    d.broker().Read(token, handle, size, static_cast<uint64_t>(off), nonblock);
  });
}

// Whether a write may wait in the daemon for queue room. The kernel holds
// the port's inode lock exclusively for the whole of an append-mode direct
// write, whatever the open flags say; such a write waiting for room would
// stop every other write to the port, the server's replies included, and
// with them the reads that would make room. So writes on an O_APPEND
// descriptor never wait: a full queue answers EAGAIN (lpc.7
// "BACK-PRESSURE").
bool MayWait(int flags) { return !(flags & (O_NONBLOCK | O_APPEND)); }

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
           off_t off, fuse_file_info* fi) {
  if (IsSectionFile(fi->fh)) return WriteSection(req, buf, size, off, fi);
  if (windows::IsWindowFile(ino)) {
    return windows::Write(req, ino, buf, size, off);
  }
  HandleId handle = HandleOfFile(fi->fh);
  bool nonblock = !MayWait(fi->flags);
  GuardedDeferred(req, [&](Daemon& d, Token token) {
    d.broker().Write(token, handle,
                     {reinterpret_cast<const std::byte*>(buf), size}, nonblock,
                     d.identities().WriterOf(*fuse_req_ctx(req)));
  });
}

void Poll(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
          fuse_pollhandle* ph) {
  if (IsSectionFile(fi->fh)) return PollSection(req, ph);
  if (windows::IsWindowFile(ino)) return windows::Poll(req, ph);
  Guarded(req, [&] {
    PollToken poll(reinterpret_cast<uint64_t>(ph));
    Result<uint32_t> mask = [&] {
      try {
        return Daemon::Of(req).broker().Poll(HandleOfFile(fi->fh), poll);
      } catch (...) {
        // The broker did not take the poll handle: it is ours to free.
        if (ph) fuse_pollhandle_destroy(ph);
        throw;
      }
    }();
    if (!mask) return ReplyError(req, mask.error());
    fuse_reply_poll(req, mask.value());
  });
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (windows::IsWindowFile(ino)) return windows::Release(req);
  Guarded(req, [&] {
    Daemon::Of(req).broker().Release(HandleOfFile(fi->fh));
    fuse_reply_err(req, 0);
  });
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void Fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

// The call and transfer ioctls (lpc.7 "IOCTLS"). The kernel passes only
// restricted ioctls to FUSE: it has copied in the buffer the command's
// size field names, and copies out as much of our answer. Its request
// carries no file flags, so O_NONBLOCK cannot reach here: the buffer's
// LPC_TRANSFER_NO_WAIT says it instead.
// Whether an ioctl's lpc_transfer asks for a timeout.
bool HasTimeout(std::span<const std::byte> buffer) {
  lpc_transfer header;
  if (buffer.size() < sizeof header) return false;
  std::memcpy(&header, buffer.data(), sizeof header);
  return header.timeout_ms != 0;
}

// LPC_IOC_MONITOR: a monitor's options, answered at once (lpc.7 "MONITOR").
void MonitorIoctl(fuse_req_t req, fuse_file_info* fi, const void* in_buf,
                  size_t in_bufsz, size_t out_bufsz) {
  Guarded(req, [&] {
    if (in_bufsz != sizeof(lpc_monitor_options) ||
        out_bufsz != sizeof(lpc_monitor_options)) {
      return (void)fuse_reply_err(req, EINVAL);
    }
    auto options = Daemon::Of(req).broker().SetMonitorOptions(
        HandleId(fi->fh), {static_cast<const std::byte*>(in_buf), in_bufsz});
    if (!options) return ReplyError(req, options.error());
    fuse_reply_ioctl(req, 0, &options.value(), sizeof options.value());
  });
}

void Ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void*,
           fuse_file_info* fi, unsigned flags, const void* in_buf,
           size_t in_bufsz, size_t out_bufsz) {
  if (windows::IsWindowFile(ino)) return (void)fuse_reply_err(req, ENOTTY);
  if (cmd == LPC_IOC_MONITOR && !(flags & FUSE_IOCTL_DIR)) {
    return MonitorIoctl(req, fi, in_buf, in_bufsz, out_bufsz);
  }
  const unsigned nr = _IOC_NR(cmd);
  const size_t size = _IOC_SIZE(cmd);
  bool ours =
      _IOC_TYPE(cmd) == LPC_IOC_MAGIC &&
      _IOC_DIR(cmd) == (_IOC_READ | _IOC_WRITE) &&
      (nr == _IOC_NR(LPC_IOC_CALL(0)) || nr == _IOC_NR(LPC_IOC_TRANSFER(0))) &&
      !(flags & FUSE_IOCTL_DIR);
  if (!ours || IsSectionFile(fi->fh)) return (void)fuse_reply_err(req, ENOTTY);
  if (in_bufsz != size || out_bufsz != size) {
    return (void)fuse_reply_err(req, EINVAL);
  }
  HandleId handle = HandleOfFile(fi->fh);
  std::span<const std::byte> buffer(static_cast<const std::byte*>(in_buf),
                                    in_bufsz);
  GuardedDeferred(req, [&](Daemon& d, Token token) {
    Writer writer = d.identities().WriterOf(*fuse_req_ctx(req));
    if (nr == _IOC_NR(LPC_IOC_CALL(0))) {
      d.broker().Call(token, handle, buffer, writer);
    } else {
      d.broker().Transfer(token, handle, buffer, writer);
    }
    if (HasTimeout(buffer)) d.DeadlineAdded();
  });
}

}  // namespace

void AddFileOperations(fuse_lowlevel_ops& o) {
  o.create = Create;
  o.open = Open;
  o.read = Read;
  o.write = Write;
  o.poll = Poll;
  o.release = Release;
  o.flush = Flush;
  o.fsync = Fsync;
  o.ioctl = Ioctl;
}

}  // namespace lpc::ops
