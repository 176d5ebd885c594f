#include "operations.h"

namespace lpc {
namespace {

void Init(void*, fuse_conn_info* conn) {
  // No atomic O_TRUNC: with it the kernel sets its cached size of the port
  // to 0 after an O_TRUNC open (bash's `>`), and writes that reach past
  // that size lock the whole port (see kernel_replies.h). Without it the
  // kernel sends a truncate to size 0, a no-op for ports, and takes the
  // size from our reply, which keeps it at LPC_STREAM_SIZE.
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // The kernel enforces POSIX ACLs, which it reads from us as xattrs
  // (fs/README.md "ACLs"). It then leaves the umask to us, so that a
  // folder's default ACL can replace it: DONT_MASK passes it along.
  if (conn->capable & FUSE_CAP_POSIX_ACL) conn->want |= FUSE_CAP_POSIX_ACL;
  if (conn->capable & FUSE_CAP_DONT_MASK) conn->want |= FUSE_CAP_DONT_MASK;
}

}  // namespace

const fuse_lowlevel_ops& LpcfsOperations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = Init;
    ops::AddNameOperations(o);
    ops::AddFileOperations(o);
    ops::AddXattrOperations(o);
    return o;
  }();
  return ops;
}

}  // namespace lpc
