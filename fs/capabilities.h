// A thread's capability sets as bit masks (capabilities(7)), through
// libcap rather than by parsing /proc.
#pragma once

#include <cstdint>
#include <optional>

namespace lpc {

struct CapabilitySets {
  uint64_t effective = 0;  // bit N: capability N (CAP_CHOWN is bit 0)
  uint64_t permitted = 0;
};

// The sets of thread `tid` (cap_get_pid(3)); empty if it has gone.
std::optional<CapabilitySets> ReadCapabilities(uint32_t tid);

}  // namespace lpc
