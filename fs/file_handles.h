// What fi->fh holds for the mount's open files: the broker's handle id,
// with the top bit set for a section's. Section reads and writes never
// wait and are answered at once, by another path than the deferred one of
// message files; the bit lets an adapter pick its path without asking the
// broker first. The broker's ids never reach it.
#pragma once

#include <cstdint>

#include "ids.h"

namespace lpc {

inline constexpr uint64_t kSectionFileBit = uint64_t{1} << 63;

inline uint64_t FileHandleOf(HandleId handle, bool section) {
  return handle.value() | (section ? kSectionFileBit : 0);
}
inline bool IsSectionFile(uint64_t fh) { return (fh & kSectionFileBit) != 0; }
inline HandleId HandleOfFile(uint64_t fh) {
  return HandleId(fh & ~kSectionFileBit);
}

}  // namespace lpc
