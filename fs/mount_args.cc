#include "mount_args.h"

#include <string>
#include <string_view>
#include <vector>

namespace lpc {

namespace {

// libfuse 3.14 knows rw, ro, [no]suid, [no]dev, [no]exec, [no]atime, sync,
// async and dirsync (lib/mount.c) and passes them to the kernel. These are
// the other flags libmount writes for mount.fuse3 (checked with
// `mount -t fuse.lpcfs -o ...` and a helper that prints its arguments):
// access times and i_version concern file data, which lpcfs has none of.
// Then the fstab words mount(8) reads itself; it drops them, but
// mount.fuse3 run directly passes some on.
const fuse_opt kIgnoredSpec[] = {
    FUSE_OPT_KEY("diratime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nodiratime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("relatime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("norelatime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("strictatime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nostrictatime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("lazytime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nolazytime", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("iversion", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("noiversion", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("mand", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nomand", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("silent", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("loud", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
    // "user" alone, as fstab has it; -o user=NAME is the daemon's own
    // (privileges.h) and does not match this template.
    FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("group", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_END,
};

// fuse_opt_parse's callback: collects the arguments that are not options
// and drops the fstab options that are prefixes rather than words.
int Collect(void* data, const char* arg, int key, fuse_args*) {
  auto* operands = static_cast<std::vector<std::string>*>(data);
  if (key == FUSE_OPT_KEY_NONOPT) {
    operands->emplace_back(arg);
    return 0;
  }
  std::string_view opt(arg);
  if (key == FUSE_OPT_KEY_OPT &&
      (opt.starts_with("x-") || opt.starts_with("comment="))) {
    return 0;
  }
  return 1;
}

}  // namespace

bool DropMountHelperArgs(fuse_args* args) {
  std::vector<std::string> operands;
  if (fuse_opt_parse(args, &operands, kIgnoredSpec, Collect) == -1) {
    return false;
  }
  // SOURCE MOUNTPOINT: the mount point is the last. One operand is the
  // mount point alone; three or more are left for fuse_parse_cmdline to
  // refuse.
  size_t first = operands.size() == 2 ? 1 : 0;
  for (size_t i = first; i < operands.size(); ++i) {
    if (fuse_opt_add_arg(args, operands[i].c_str()) != 0) return false;
  }
  return true;
}

}  // namespace lpc
