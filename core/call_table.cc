#include "call_table.h"

#include <utility>

namespace lpc {

void CallTable::Park(std::unique_ptr<CallRequest> call) {
  by_id_.emplace(call->message.id, call.get());
  waiting_.PushBack(std::move(call));
}

CallRequest* CallTable::Find(uint64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::unique_ptr<CallRequest> CallTable::Take(uint64_t id) {
  CallRequest* call = by_id_.at(id);
  by_id_.erase(id);
  return Downcast<CallRequest>(waiting_.Remove(call));
}

std::vector<uint64_t> CallTable::FailAll(Outbox& out, Error error) {
  std::vector<uint64_t> ids;
  for (const auto& [id, call] : by_id_) ids.push_back(id);
  by_id_.clear();
  while (!waiting_.empty()) out.Fail(waiting_.PopFront(), error);
  return ids;
}

void CallTable::Abandon(uint64_t id) {
  abandoned_.insert(id);
  if (abandoned_.size() > limit_) abandoned_.erase(abandoned_.begin());
}

bool CallTable::DropReply(uint64_t id) {
  if (!abandoned_.erase(id)) return false;
  ++replies_dropped_;
  return true;
}

}  // namespace lpc
