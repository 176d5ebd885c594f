#include "handle_table.h"

#include <utility>

namespace lpc {

Handle* HandleTable::Find(HandleId id) {
  auto it = handles_.find(id);
  return it == handles_.end() ? nullptr : &it->second;
}

Handle& HandleTable::Add(Handle handle) {
  HandleId id = handle.id;
  return handles_.insert_or_assign(id, std::move(handle)).first->second;
}

size_t HandleTable::StatsHandlesOf(uint32_t uid) const {
  size_t n = 0;
  for (const auto& [id, h] : handles_) {
    n += h.kind == HandleKind::kStats && h.reader_uid == uid;
  }
  return n;
}

std::optional<Handle> HandleTable::Take(HandleId id) {
  auto it = handles_.find(id);
  if (it == handles_.end()) return std::nullopt;
  Handle h = std::move(it->second);
  handles_.erase(it);
  return h;
}

}  // namespace lpc
