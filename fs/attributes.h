// How the broker's nodes look to the kernel: struct stat, entry replies
// and how long the kernel may cache them (lpc.7 "FILES").
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include "namespace.h"

namespace lpc {

// How long the kernel may trust attributes. Mode and owners change only
// through setattr, whose reply refreshes the kernel's copy, so they can be
// cached even for ports: the lookup that every open of a port makes then
// also serves the kernel's permission check, with no getattr after it.
constexpr double kAttrSeconds = 1.0;

mode_t FileType(NodeKind kind);
struct stat ToStat(const Attr& attr);
fuse_entry_param ToEntry(const Attr& attr);
Timestamp ToTimestamp(const struct timespec& ts);

}  // namespace lpc
