// The "user" lines of .stats (lpc.7 "FILES", .stats): each user's usage
// of the quotas, after the port and connection lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "quota.h"

namespace lpc {

// One line per user with a nonzero usage, in increasing uid:
// "user UID ports=N connections=N served=N pending=N bytes=N folders=N".
// With `only`, just that user's line.
std::string FormatUserStats(const QuotaLedger& quota,
                            std::optional<uint32_t> only = std::nullopt);

}  // namespace lpc
