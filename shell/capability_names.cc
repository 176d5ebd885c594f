#include "capability_names.h"

#include <sys/capability.h>

#include <memory>
#include <type_traits>

namespace lpc {
namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};

}  // namespace

std::string CapabilityNames(uint64_t mask) {
  std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree> caps(cap_init());
  if (!caps) return {};
  for (int cap = 0; cap < 64; ++cap) {
    if (!(mask & (uint64_t{1} << cap)) || !CAP_IS_SUPPORTED(cap)) continue;
    cap_value_t value = static_cast<cap_value_t>(cap);
    cap_set_flag(caps.get(), CAP_EFFECTIVE, 1, &value, CAP_SET);
  }
  ssize_t length = 0;
  std::unique_ptr<char, CapFree> text(cap_to_text(caps.get(), &length));
  if (!text) return {};
  return std::string(text.get(), static_cast<size_t>(length));
}

}  // namespace lpc
