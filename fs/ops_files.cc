// Operations on open files: create, open, read, write, poll, release.
// Open, read and write may wait: the broker answers them through the
// Daemon, now or later, and a signal cancels them (Daemon::Defer).
#include <fcntl.h>

#include "attributes.h"
#include "kernel_replies.h"
#include "operations.h"

namespace lpc::ops {
namespace {

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  Guarded(req, [&] {
    Daemon& d = Daemon::Of(req);
    bool exclusive = fi->flags & O_EXCL;
    const fuse_ctx& ctx = *fuse_req_ctx(req);
    auto created =
        d.broker().CreatePort(NodeId(parent), name, mode & 07777, ctx.umask,
                              exclusive, d.identities().CallerOf(ctx));
    if (!created) return ReplyError(req, created.error());
    fuse_entry_param e = ToEntry(created->attr);
    if (ReplyCreateRaw(req, e, created->handle.value()) != -ENOENT) return;
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
  GuardedDeferred(req, [&](Daemon& d, Token token) {
    d.broker().Open(token, NodeId(ino), flags,
                    d.identities().CallerOf(*fuse_req_ctx(req)));
  });
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
          fuse_file_info* fi) {
  HandleId handle(fi->fh);
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

void Write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t,
           fuse_file_info* fi) {
  HandleId handle(fi->fh);
  bool nonblock = !MayWait(fi->flags);
  GuardedDeferred(req, [&](Daemon& d, Token token) {
    d.broker().Write(token, handle,
                     {reinterpret_cast<const std::byte*>(buf), size}, nonblock,
                     d.identities().WriterOf(*fuse_req_ctx(req)));
  });
}

void Poll(fuse_req_t req, fuse_ino_t, fuse_file_info* fi, fuse_pollhandle* ph) {
  Guarded(req, [&] {
    PollToken poll(reinterpret_cast<uint64_t>(ph));
    Result<uint32_t> mask = [&] {
      try {
        return Daemon::Of(req).broker().Poll(HandleId(fi->fh), poll);
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

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guarded(req, [&] {
    Daemon::Of(req).broker().Release(HandleId(fi->fh));
    fuse_reply_err(req, 0);
  });
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void Fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

// lpc.7 "Unsupported operations": no ioctl interface in this version.
void Ioctl(fuse_req_t req, fuse_ino_t, unsigned int, void*, fuse_file_info*,
           unsigned, const void*, size_t, size_t) {
  fuse_reply_err(req, ENOTTY);
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
