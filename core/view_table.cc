#include "view_table.h"

namespace lpc {

void ViewTable::Add(View view) {
  ++per_connection_[view.conn];
  uint64_t id = view.id;
  views_.emplace(id, std::move(view));
}

const View* ViewTable::Find(uint64_t id) const {
  auto it = views_.find(id);
  return it == views_.end() ? nullptr : &it->second;
}

std::optional<View> ViewTable::Take(uint64_t id) {
  auto it = views_.find(id);
  if (it == views_.end()) return std::nullopt;
  View view = std::move(it->second);
  views_.erase(it);
  auto count = per_connection_.find(view.conn);
  if (--count->second == 0) per_connection_.erase(count);
  return view;
}

size_t ViewTable::CountOf(ConnId conn) const {
  auto it = per_connection_.find(conn);
  return it == per_connection_.end() ? 0 : it->second;
}

std::vector<View> ViewTable::ReceivedBy(uint32_t uid) const {
  std::vector<View> out;
  for (const auto& [id, view] : views_) {
    if (view.receiver_uid == uid) out.push_back(view);
  }
  return out;
}

}  // namespace lpc
