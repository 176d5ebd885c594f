// A thread's capability sets as bit masks (capabilities(7)), through
// libcap rather than by parsing /proc.
#pragma once

#include <sys/capability.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

namespace lpc {

// A libcap object, freed with cap_free(3).
struct CapFree {
  void operator()(cap_t caps) const { cap_free(caps); }
};
using UniqueCaps = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// The capabilities of `set` in `caps` as a mask: those the running kernel
// and this libcap both know, at most the 64 bits of lpc_connect_info's.
uint64_t CapabilitySetMask(cap_t caps, cap_flag_t set);

struct CapabilitySets {
  uint64_t effective = 0;  // bit N: capability N (CAP_CHOWN is bit 0)
  uint64_t permitted = 0;
};

// The sets of thread `tid` (cap_get_pid(3)); empty if it has gone.
std::optional<CapabilitySets> ReadCapabilities(uint32_t tid);

}  // namespace lpc
