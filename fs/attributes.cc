#include "attributes.h"

#include "lpc.h"

namespace lpc {
namespace {

// The kernel serialises direct writes that reach past its idea of the file
// size, even with FOPEN_PARALLEL_DIRECT_WRITES. Message files therefore
// report a size no single write request can pass (lpc.7 "FILES": st_size).
// A section's is its own.
uint64_t ReportedSize(const Attr& a) {
  switch (a.kind) {
    case NodeKind::kPort:
    case NodeKind::kConnectionFile:
      return LPC_STREAM_SIZE;
    case NodeKind::kSection:
      return a.size;
    case NodeKind::kDirectory:
    case NodeKind::kStatsFile:
    case NodeKind::kMonitorFile:
      return 0;
  }
  return 0;
}

// How long the kernel may trust a name. Ports and .conn files vanish when
// their server handle or connection ends, which the kernel does not see,
// so their names are never cached (lpc.7 "FILES"); sections vanish with
// their last holder, likewise. Folders and .stats
// change only through calls the kernel makes itself.
double NameSeconds(NodeKind kind) {
  switch (kind) {
    case NodeKind::kDirectory:
    case NodeKind::kStatsFile:
    case NodeKind::kMonitorFile:
      return 1.0;
    case NodeKind::kPort:
    case NodeKind::kConnectionFile:
    case NodeKind::kSection:
      return 0.0;
  }
  return 0.0;
}

}  // namespace

mode_t FileType(NodeKind kind) {
  // Ports are regular files to the VFS: an S_IFSOCK or S_IFIFO inode would
  // never reach us on open().
  return kind == NodeKind::kDirectory ? S_IFDIR : S_IFREG;
}

struct stat ToStat(const Attr& a) {
  struct stat st {};
  st.st_ino = a.ino.value();
  st.st_mode = FileType(a.kind) | a.perm;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(ReportedSize(a));
  // cat(1), cp and dd size their writes by st_blksize: a message file's
  // is the largest message a port may allow, so that `cat file > port`
  // writes a file of up to that size as one message (lpc.7 "LARGE
  // MESSAGES"). A section is a plain file of pages.
  const bool message_file =
      a.kind == NodeKind::kPort || a.kind == NodeKind::kConnectionFile;
  st.st_blksize = message_file ? 1 << 20 : 4096;
  // 512-byte blocks, as stat(2) counts: a section's size, rounded up.
  if (a.kind == NodeKind::kSection) {
    st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  }
  st.st_atim = {a.atime.sec, a.atime.nsec};
  st.st_mtim = {a.mtime.sec, a.mtime.nsec};
  st.st_ctim = {a.ctime.sec, a.ctime.nsec};
  return st;
}

fuse_entry_param ToEntry(const Attr& a) {
  fuse_entry_param e{};
  e.ino = a.ino.value();
  e.generation = 1;
  e.attr = ToStat(a);
  e.attr_timeout = kAttrSeconds;
  e.entry_timeout = NameSeconds(a.kind);
  return e;
}

Timestamp ToTimestamp(const struct timespec& ts) {
  return {ts.tv_sec, ts.tv_nsec};
}

}  // namespace lpc
