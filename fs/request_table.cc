#include "request_table.h"

namespace lpc {

Token RequestTable::Add(fuse_req_t req) {
  std::lock_guard lock(mu_);
  Token token(++last_token_);
  live_.emplace(token, Entry{req, false});
  return token;
}

void RequestTable::MarkInterrupted(Token token) {
  std::lock_guard lock(mu_);
  auto it = live_.find(token);
  if (it != live_.end()) it->second.interrupted = true;
}

bool RequestTable::Interrupted(Token token) const {
  std::lock_guard lock(mu_);
  auto it = live_.find(token);
  return it != live_.end() && it->second.interrupted;
}

fuse_req_t RequestTable::Take(Token token) {
  std::lock_guard lock(mu_);
  auto it = live_.find(token);
  if (it == live_.end()) {
    ++stale_replies_;
    return nullptr;
  }
  fuse_req_t req = it->second.req;
  live_.erase(it);
  return req;
}

size_t RequestTable::size() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

uint64_t RequestTable::stale_replies() const {
  std::lock_guard lock(mu_);
  return stale_replies_;
}

}  // namespace lpc
