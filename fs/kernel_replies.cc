#include "kernel_replies.h"

#include <linux/fuse.h>

#include <cstring>

namespace lpc {
namespace {

uint32_t OpenFlags(OpenStyle style) {
  if (style == OpenStyle::kSnapshot) return FOPEN_DIRECT_IO;
  if (style == OpenStyle::kSection) return FOPEN_KEEP_CACHE;
  // FOPEN_NOFLUSH: nothing is cached, so close() need not ask us anything.
  return FOPEN_DIRECT_IO | FOPEN_STREAM | FOPEN_NONSEEKABLE |
         FOPEN_PARALLEL_DIRECT_WRITES | FOPEN_NOFLUSH;
}

// The same conversion libfuse makes for its own entry replies.
void ToKernelAttr(const struct stat& st, fuse_attr* a) {
  a->ino = st.st_ino;
  a->mode = st.st_mode;
  a->nlink = static_cast<uint32_t>(st.st_nlink);
  a->uid = st.st_uid;
  a->gid = st.st_gid;
  a->rdev = static_cast<uint32_t>(st.st_rdev);
  a->size = static_cast<uint64_t>(st.st_size);
  a->blksize = static_cast<uint32_t>(st.st_blksize);
  a->blocks = static_cast<uint64_t>(st.st_blocks);
  a->atime = static_cast<uint64_t>(st.st_atim.tv_sec);
  a->mtime = static_cast<uint64_t>(st.st_mtim.tv_sec);
  a->ctime = static_cast<uint64_t>(st.st_ctim.tv_sec);
  a->atimensec = static_cast<uint32_t>(st.st_atim.tv_nsec);
  a->mtimensec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  a->ctimensec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
}

uint64_t WholeSeconds(double t) { return t > 0 ? static_cast<uint64_t>(t) : 0; }
uint32_t Nanoseconds(double t) {
  if (t <= 0) return 0;
  return static_cast<uint32_t>((t - static_cast<double>(WholeSeconds(t))) *
                               1e9);
}

}  // namespace

int ReplyOpenRaw(fuse_req_t req, uint64_t fh, OpenStyle style) {
  fuse_open_out out;
  std::memset(&out, 0, sizeof out);
  out.fh = fh;
  out.open_flags = OpenFlags(style);
  return fuse_reply_buf(req, reinterpret_cast<const char*>(&out), sizeof out);
}

int ReplyCreateRaw(fuse_req_t req, const fuse_entry_param& e, uint64_t fh,
                   OpenStyle style) {
  struct {
    fuse_entry_out entry;
    fuse_open_out open;
  } out;
  static_assert(sizeof out == sizeof(fuse_entry_out) + sizeof(fuse_open_out));
  std::memset(&out, 0, sizeof out);
  out.entry.nodeid = e.ino;
  out.entry.generation = e.generation;
  out.entry.entry_valid = WholeSeconds(e.entry_timeout);
  out.entry.entry_valid_nsec = Nanoseconds(e.entry_timeout);
  out.entry.attr_valid = WholeSeconds(e.attr_timeout);
  out.entry.attr_valid_nsec = Nanoseconds(e.attr_timeout);
  ToKernelAttr(e.attr, &out.entry.attr);
  out.open.fh = fh;
  out.open.open_flags = OpenFlags(style);
  return fuse_reply_buf(req, reinterpret_cast<const char*>(&out), sizeof out);
}

}  // namespace lpc
