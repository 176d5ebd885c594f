// The client message ids a server may still answer with LPC_REC_REPLY
// (lpc.7 "Replies"): those it has read as LPC_REC_MESSAGE records and not
// yet replied to, at most `limit` of them, the oldest forgotten first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>

namespace lpc {

class ReplyWindow {
 public:
  explicit ReplyWindow(size_t limit) : limit_(limit) {}

  // The server has read message `id`.
  void Remember(uint64_t id);
  // A reply to `id` is being sent: true if it was awaited (it no longer is).
  bool Take(uint64_t id);
  // The reply did not go out (EAGAIN, EINTR): `id` is awaited again.
  void Restore(uint64_t id) { ids_.insert(id); }
  bool Awaits(uint64_t id) const { return ids_.count(id) != 0; }
  size_t size() const { return ids_.size(); }

 private:
  size_t limit_;
  std::set<uint64_t> ids_;
};

}  // namespace lpc
