// The files of /lpc/.windows (lpc.7 "MEMORY WINDOWS"), answered at once
// from the Daemon's WindowTable: no window operation waits, since
// process_vm_readv/writev copy without blocking for long. The other
// operation families hand a request to these when its inode is a window
// file's (WindowTable::IsWindowNode), or when it looks up or lists the
// .windows folder.
#pragma once

#include <fuse_lowlevel.h>

#include <vector>

#include "namespace.h"
#include "window_table.h"

namespace lpc::ops::windows {

inline bool IsWindowFile(fuse_ino_t ino) {
  return WindowTable::IsWindowNode(NodeId(ino));
}

// A name in .windows: only the caller's own windows are there. The
// kernel may not cache the answer (entry and attribute timeouts 0): the
// next user to ask must be asked about, and a window may end any time.
void Lookup(fuse_req_t req, const char* name);
// The caller's windows, for a listing of .windows.
struct Entry {
  std::string name;
  fuse_ino_t ino;
};
std::vector<Entry> List(fuse_req_t req);

void GetAttr(fuse_req_t req, fuse_ino_t ino);
// A window's owner, mode and size are the daemon's: chmod, chown and
// truncate fail EPERM.
void SetAttr(fuse_req_t req);
void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off);
void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
           off_t off);
// Ready for reading and writing, like a regular file.
void Poll(fuse_req_t req, fuse_pollhandle* ph);
// Nothing to let go: an open window file is its window's id.
void Release(fuse_req_t req);
// Neither ACLs nor other attributes (ENODATA; setting them EPERM).
void GetXattr(fuse_req_t req);
void ListXattr(fuse_req_t req, size_t size);
void SetXattr(fuse_req_t req);

}  // namespace lpc::ops::windows
