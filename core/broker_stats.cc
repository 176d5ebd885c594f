// What the Broker tells about itself: the .stats text, each user's quota
// usage, and the sizes of its tables (for tests and the fuzzer).
#include "broker.h"
#include "broker_internal.h"
#include "stats_text.h"
#include "user_stats.h"

namespace lpc {

std::string Broker::StatsText() {
  Transaction tx(this);
  Accessor everyone;
  everyone.may_search_anything = true;
  return Stats(everyone).Text();
}

std::string Broker::StatsText(const Caller& reader) {
  Transaction tx(this);
  return Stats(StatsReader(reader)).Text();
}

StatsSnapshot Broker::Stats(const Accessor& reader) {
  StatsSnapshot snapshot = RenderStats(tables_, names_, reader, folder_paths_);
  // A user's usage is its own business: others see only their own line.
  snapshot.AddText(
      FormatUserStats(quota_, reader.may_search_anything
                                  ? std::nullopt
                                  : std::optional<uint32_t>(reader.uid)));
  return snapshot;
}

// ------------------------------------------------------------ quotas

QuotaUsage Broker::UsageOf(uint32_t uid) {
  Transaction tx(this);
  return quota_.UsageOf(uid);
}

bool Broker::quota_empty() {
  Transaction tx(this);
  return quota_.empty();
}

// ------------------------------------------------------------ tables

size_t Broker::port_count() {
  Transaction tx(this);
  return tables_.ports.size();
}
size_t Broker::connection_count() {
  Transaction tx(this);
  return tables_.connections.size();
}
size_t Broker::waiter_count() {
  Transaction tx(this);
  return registry_.size();
}
size_t Broker::node_count() {
  Transaction tx(this);
  return names_.size();
}
size_t Broker::handle_count() {
  Transaction tx(this);
  return tables_.handles.size();
}

}  // namespace lpc
