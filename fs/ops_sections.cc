// The file operations of sections (lpc.7 "SECTIONS"), handed over by
// ops_files.cc: create in /lpc/.sections, read, write and poll of a
// section's handle. None of them waits, so each is answered at once.
// Opening an existing section goes through the common open (the broker
// tells it is a section, and Daemon::ReplyOpen answers with cached I/O).
#include <fcntl.h>
#include <poll.h>

#include "attributes.h"
#include "file_handles.h"
#include "kernel_replies.h"
#include "operations.h"

namespace lpc::ops {

void CreateSection(fuse_req_t req, fuse_ino_t parent, const char* name,
                   mode_t mode, fuse_file_info* fi) {
  Guarded(req, [&] {
    Daemon& d = Daemon::Of(req);
    const fuse_ctx& ctx = *fuse_req_ctx(req);
    auto created = d.broker().CreateSection(
        NodeId(parent), name, mode & 07777, ctx.umask,
        d.identities().CallerOf(ctx), fi->flags & O_ACCMODE);
    if (!created) return ReplyError(req, created.error());
    fuse_entry_param e = ToEntry(created->attr);
    if (ReplyCreateRaw(req, e, FileHandleOf(created->handle, true),
                       OpenStyle::kSection) != -ENOENT) {
      return;
    }
    // The caller is gone before it saw the handle: no release will come,
    // and the section goes with this one. Nothing may throw past here.
    try {
      d.broker().Release(created->handle);
    } catch (const std::exception& ex) {
      fuse_log(FUSE_LOG_ERR, "lpcfs: create: %s\n", ex.what());
    }
  });
}

void ReadSection(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  Guarded(req, [&] {
    auto bytes = Daemon::Of(req).broker().ReadSection(
        HandleOfFile(fi->fh), static_cast<uint64_t>(off), size);
    if (!bytes) return ReplyError(req, bytes.error());
    fuse_reply_buf(req, reinterpret_cast<const char*>(bytes->data()),
                   bytes->size());
  });
}

// fi->writepage: the kernel writes back pages of a mapping, with no
// caller (uid, gid and pid 0), through any handle of the section opened
// for writing: no writer then.
void WriteSection(fuse_req_t req, const char* buf, size_t size, off_t off,
                  fuse_file_info* fi) {
  Guarded(req, [&] {
    auto written = Daemon::Of(req).broker().WriteSection(
        HandleOfFile(fi->fh), static_cast<uint64_t>(off),
        {reinterpret_cast<const std::byte*>(buf), size},
        fi->writepage ? std::nullopt
                      : std::optional<uint32_t>(fuse_req_ctx(req)->uid));
    if (!written) return ReplyError(req, written.error());
    fuse_reply_write(req, written.value());
  });
}

// A section is always ready, as a regular file is (DEFAULT_POLLMASK).
void PollSection(fuse_req_t req, fuse_pollhandle* ph) {
  if (ph) fuse_pollhandle_destroy(ph);
  fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
}

}  // namespace lpc::ops
