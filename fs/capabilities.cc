#include "capabilities.h"

#include <sys/capability.h>

#include <memory>
#include <type_traits>

namespace lpc {
namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapHandle = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// Capabilities the running kernel and this libcap both know, at most the
// 64 bits of the masks in lpc_connect_info.
int KnownCapabilities() {
  int n = cap_max_bits();
  return n < 64 ? n : 64;
}

uint64_t MaskOf(cap_t caps, cap_flag_t set) {
  uint64_t mask = 0;
  for (int cap = 0; cap < KnownCapabilities(); ++cap) {
    cap_flag_value_t value = CAP_CLEAR;
    if (cap_get_flag(caps, static_cast<cap_value_t>(cap), set, &value) == 0 &&
        value == CAP_SET) {
      mask |= uint64_t{1} << cap;
    }
  }
  return mask;
}

}  // namespace

std::optional<CapabilitySets> ReadCapabilities(uint32_t tid) {
  if (tid == 0) return std::nullopt;
  CapHandle caps(cap_get_pid(static_cast<pid_t>(tid)));
  if (!caps) return std::nullopt;
  return CapabilitySets{MaskOf(caps.get(), CAP_EFFECTIVE),
                        MaskOf(caps.get(), CAP_PERMITTED)};
}

}  // namespace lpc
