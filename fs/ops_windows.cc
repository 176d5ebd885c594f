#include "ops_windows.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "operations.h"

namespace lpc::ops::windows {
namespace {

WindowTable& WindowsOf(fuse_req_t req) { return Daemon::Of(req).windows(); }

// The filesystem uid of the caller: the kernel's, which is what a window's
// owner is compared with (as the mode bits are).
uint32_t CallerUid(fuse_req_t req) { return fuse_req_ctx(req)->uid; }

struct stat ToStat(const WindowFile& w) {
  struct stat st {};
  st.st_ino = w.ino.value();
  st.st_mode = S_IFREG | w.perm;
  st.st_nlink = 1;
  st.st_uid = w.uid;
  st.st_gid = w.gid;
  st.st_size = static_cast<off_t>(w.size);
  st.st_blksize = 4096;
  st.st_atim = st.st_mtim = st.st_ctim = {w.since.sec, w.since.nsec};
  return st;
}

}  // namespace

void Lookup(fuse_req_t req, const char* name) {
  Guarded(req, [&] {
    auto w = WindowsOf(req).Lookup(name, CallerUid(req));
    if (!w) return ReplyError(req, w.error());
    fuse_entry_param e{};
    e.ino = w->ino.value();
    e.generation = 1;
    e.attr = ToStat(w.value());
    e.attr_timeout = 0;
    e.entry_timeout = 0;
    fuse_reply_entry(req, &e);
  });
}

std::vector<Entry> List(fuse_req_t req) {
  std::vector<Entry> out;
  for (const WindowFile& w : WindowsOf(req).List(CallerUid(req))) {
    out.push_back({std::to_string(w.id), w.ino.value()});
  }
  return out;
}

void GetAttr(fuse_req_t req, fuse_ino_t ino) {
  Guarded(req, [&] {
    auto w = WindowsOf(req).Stat(WindowTable::IdOf(NodeId(ino)));
    if (!w) return ReplyError(req, w.error());
    struct stat st = ToStat(w.value());
    fuse_reply_attr(req, &st, 0);
  });
}

void SetAttr(fuse_req_t req) { fuse_reply_err(req, EPERM); }

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, [&] {
    uint64_t id = WindowTable::IdOf(NodeId(ino));
    Status opened = WindowsOf(req).Open(id, CallerUid(req), fi->flags);
    if (!opened) return ReplyError(req, opened.error());
    // Direct I/O: every pread and pwrite comes here, none is served from
    // a page cache of the client's memory. Seekable: offsets are places
    // in the window.
    fi->direct_io = 1;
    fi->keep_cache = 0;
    fi->nonseekable = 0;
    fi->fh = ino;
    fuse_reply_open(req, fi);
  });
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
  Guarded(req, [&] {
    // Not zeroed: only the bytes the client's memory filled go out.
    std::unique_ptr<std::byte[]> buf(new std::byte[size]);
    auto n = WindowsOf(req).Read(WindowTable::IdOf(NodeId(ino)),
                                 static_cast<uint64_t>(off), {buf.get(), size});
    if (!n) return ReplyError(req, n.error());
    fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), n.value());
  });
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
           off_t off) {
  Guarded(req, [&] {
    auto n = WindowsOf(req).Write(
        WindowTable::IdOf(NodeId(ino)), static_cast<uint64_t>(off),
        {reinterpret_cast<const std::byte*>(buf), size});
    if (!n) return ReplyError(req, n.error());
    fuse_reply_write(req, n.value());
  });
}

void Poll(fuse_req_t req, fuse_pollhandle* ph) {
  // Never notified: readiness never changes.
  if (ph) fuse_pollhandle_destroy(ph);
  fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

void Release(fuse_req_t req) { fuse_reply_err(req, 0); }

void GetXattr(fuse_req_t req) { fuse_reply_err(req, ENODATA); }

void ListXattr(fuse_req_t req, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, 0);
  } else {
    fuse_reply_buf(req, nullptr, 0);
  }
}

void SetXattr(fuse_req_t req) { fuse_reply_err(req, EPERM); }

}  // namespace lpc::ops::windows
