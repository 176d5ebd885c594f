#include "reply_window.h"

namespace lpc {

void ReplyWindow::Remember(uint64_t id) {
  ids_.insert(id);
  if (ids_.size() > limit_) ids_.erase(ids_.begin());
}

bool ReplyWindow::Take(uint64_t id) { return ids_.erase(id) != 0; }

}  // namespace lpc
