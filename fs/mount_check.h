// Before mounting: is the folder already an lpcfs mount? A second daemon
// would stack its mount on the first one's and hide its ports (lpcfs.8
// "EXIT STATUS"), so main.cc refuses.
#pragma once

#include <string>
#include <string_view>

namespace lpc {

// The file system type ("fuse.lpcfs", "ext4", ...) of the topmost mount
// on `path` (as /proc/self/mountinfo spells it, octal escapes undone) in
// the text of a mountinfo file; empty if nothing is mounted there.
std::string TopMountType(std::string_view mountinfo, std::string_view path);

// Whether `dir` is an lpcfs mount now: statfs(2) says FUSE (0x65735546)
// and /proc/self/mountinfo says fuse.lpcfs.
bool IsLpcfsMount(const char* dir);

}  // namespace lpc
