// What mount(8) hands a FUSE daemon, made acceptable to libfuse: so that
// `mount -t fuse.lpcfs lpc /lpc` and an /etc/fstab line work (lpcfs.8
// "MOUNTING WITH mount(8) AND fstab").
#pragma once

#include <fuse_lowlevel.h>

namespace lpc {

// mount.fuse3(8) runs `lpcfs SOURCE MOUNTPOINT -o OPTIONS`, the options as
// libmount rewrote them. Takes out of `args` the source (the first of two
// arguments that are not options; lpcfs has no use for it) and the mount
// options libfuse 3.14 would refuse with "unknown option(s)" although they
// ask nothing of lpcfs: the kernel's atime, lazytime, iversion, mand and
// silent flags, and the fstab words that only mount(8) reads (defaults,
// auto, nofail, _netdev, user, owner, comment=, x-*, ...). False, with a
// message on stderr, if the arguments cannot be parsed.
bool DropMountHelperArgs(fuse_args* args);

}  // namespace lpc
