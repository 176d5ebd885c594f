// Names of capability bit masks as the .stats file shows them
// (client_caps=0x...), through libcap's cap_to_text(3).
#pragma once

#include <cstdint>
#include <string>

namespace lpc {

// The capabilities in `mask` (bit N: capability N) as cap_to_text(3)
// names an effective set: "cap_chown,cap_kill=e", or "=" for none. Bits
// this libcap does not know are left out.
std::string CapabilityNames(uint64_t mask);

}  // namespace lpc
