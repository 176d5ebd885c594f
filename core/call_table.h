// The calls of one connection (LPC_IOC_CALL, lpc.7 "IOCTLS") that wait for
// their replies, by the message id they sent, and the ids of calls that
// ended unanswered after the server had read their message: a reply to
// one of those is accepted, dropped and counted, never delivered to a
// later call or read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include "outbox.h"
#include "requests.h"

namespace lpc {

class CallTable {
 public:
  // `limit`: how many abandoned ids it remembers, the oldest forgotten
  // first (as the reply window forgets unanswered ids).
  CallTable(WaitContext context, WaitSite site, size_t limit)
      : waiting_(context, site), limit_(limit) {}

  size_t size() const { return waiting_.size(); }
  bool empty() const { return waiting_.empty(); }
  // Parks a call whose message went out as message `id`.
  void Park(std::unique_ptr<CallRequest> call);
  bool Waits(uint64_t id) const { return by_id_.count(id) != 0; }
  CallRequest* Find(uint64_t id) const;
  // The call waiting for `id`'s reply, taken out; it must wait.
  std::unique_ptr<CallRequest> Take(uint64_t id);
  // A call left the list by other means (cancelled: WaitList::Remove).
  void Forget(const CallRequest& call) { by_id_.erase(call.message.id); }
  // Fails every waiting call with `error`; returns their message ids.
  std::vector<uint64_t> FailAll(Outbox& out, Error error);

  // The call of message `id` ended while the server had its message.
  void Abandon(uint64_t id);
  // A reply for `id` came: true if its call had ended, so the reply is
  // dropped (and counted).
  bool DropReply(uint64_t id);
  uint64_t replies_dropped() const { return replies_dropped_; }

 private:
  WaitQueue<CallRequest> waiting_;
  std::unordered_map<uint64_t, CallRequest*> by_id_;
  std::set<uint64_t> abandoned_;
  size_t limit_;
  uint64_t replies_dropped_ = 0;
};

}  // namespace lpc
