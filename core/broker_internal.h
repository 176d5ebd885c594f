// What the Broker's own .cc files share (broker.cc, broker_names.cc,
// broker_stats.cc): the transaction every entry opens and how a caller
// reads .stats. Not for use outside the Broker.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

#include "acl.h"
#include "broker.h"
#include "caller.h"

namespace lpc {

// Every public entry of the Broker holds one for its whole run: it takes
// the lock, and on the way out reaps what finished, serves quota waiters
// and delivers the answers and wake-ups after the lock is released
// (lock order: broker.h).
class Broker::Transaction {
 public:
  explicit Transaction(Broker* broker) : broker_(broker), lock_(broker->mu_) {}
  ~Transaction() {
    // Reaping frees queued bytes too, which may let quota waiters in.
    do {
      broker_->ServeQuotaWaiters();
      broker_->ReapFinished();
    } while (broker_->quota_.has_ready());
    Outbox::Batch batch = broker_->outbox_.Take();
    lock_.unlock();
    std::vector<HandleId> refused =
        Outbox::Deliver(std::move(batch), *broker_->delegate_);
    // An open reply the kernel refused: its caller has gone, and no
    // release will ever come for the handle.
    for (HandleId h : refused) broker_->Release(h);
  }

 private:
  Broker* broker_;
  std::unique_lock<std::mutex> lock_;
};

// The reader of .stats as the kernel's permission check sees it: with
// CAP_DAC_OVERRIDE (capability 1) or CAP_DAC_READ_SEARCH (2) it searches
// every folder.
inline Accessor StatsReader(const Caller& caller) {
  constexpr uint64_t kCapDacOverride = uint64_t{1} << 1;
  constexpr uint64_t kCapDacReadSearch = uint64_t{1} << 2;
  Accessor who{caller.sender.uid, caller.sender.gid, caller.groups};
  who.may_search_anything =
      (caller.cap_effective & (kCapDacOverride | kCapDacReadSearch)) != 0;
  return who;
}

}  // namespace lpc
