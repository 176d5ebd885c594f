// Open and create replies written in the kernel's own ABI (<linux/fuse.h>)
// so they can carry open flags libfuse 3.14 has no field for.
//
// FOPEN_STREAM: the kernel keeps no file position and takes no f_pos lock,
//   so one thread may write() on an fd while another is blocked in read()
//   on the same fd (fs/README.md "Stream files").
// FOPEN_PARALLEL_DIRECT_WRITES: direct writes to one inode take the inode
//   lock shared, not exclusive. Every handle of a port is the same inode;
//   without it, one write waiting for queue room would block every other
//   write to the port, the server's included.
//
// Sections are the opposite: cached I/O, so that mmap(MAP_SHARED) works
// (a direct_io file cannot be mapped shared at protocol 7.31), with
// FOPEN_KEEP_CACHE so that an open does not drop the pages another
// process has mapped (fs/README.md "Sections").
//
// The flags are plain open_flags bits that Linux honours whatever protocol
// minor was negotiated. fuse_reply_open()/fuse_reply_create() build the same
// structures but cannot set these bits.
#pragma once

#include <fuse_lowlevel.h>

#include <cstdint>

namespace lpc {

enum class OpenStyle {
  kMessageStream,  // ports and .conn files: direct I/O, stream, parallel
  kSnapshot,       // .stats: direct I/O, seekable
  kSection,        // sections: cached, pages kept across opens
};

// Like fuse_reply_open(); returns what fuse_reply_buf() returns.
int ReplyOpenRaw(fuse_req_t req, uint64_t fh, OpenStyle style);

// Like fuse_reply_create().
int ReplyCreateRaw(fuse_req_t req, const fuse_entry_param& entry, uint64_t fh,
                   OpenStyle style);

}  // namespace lpc
