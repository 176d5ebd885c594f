#include "capabilities.h"

#include <sys/capability.h>

namespace lpc {

uint64_t CapabilitySetMask(cap_t caps, cap_flag_t set) {
  uint64_t mask = 0;
  for (cap_value_t cap = 0; cap < cap_max_bits() && cap < 64; ++cap) {
    cap_flag_value_t value = CAP_CLEAR;
    if (cap_get_flag(caps, cap, set, &value) == 0 && value == CAP_SET) {
      mask |= uint64_t{1} << cap;
    }
  }
  return mask;
}

std::optional<CapabilitySets> ReadCapabilities(uint32_t tid) {
  if (tid == 0) return std::nullopt;
  UniqueCaps caps(cap_get_pid(static_cast<pid_t>(tid)));
  if (!caps) return std::nullopt;
  return CapabilitySets{CapabilitySetMask(caps.get(), CAP_EFFECTIVE),
                        CapabilitySetMask(caps.get(), CAP_PERMITTED)};
}

}  // namespace lpc
