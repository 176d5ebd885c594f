#include "user_stats.h"

#include <sstream>

namespace lpc {

std::string FormatUserStats(const QuotaLedger& quota,
                            std::optional<uint32_t> only) {
  std::ostringstream out;
  for (const auto& [uid, usage] : quota.Users()) {
    if (only && uid != *only) continue;
    out << "user " << uid << " ports=" << usage[QuotaKind::kPorts]
        << " connections=" << usage[QuotaKind::kClientConnections]
        << " served=" << usage[QuotaKind::kServedConnections]
        << " pending=" << usage[QuotaKind::kPending]
        << " bytes=" << usage[QuotaKind::kBytes]
        << " folders=" << usage[QuotaKind::kFolders] << "\n";
  }
  return out.str();
}

}  // namespace lpc
