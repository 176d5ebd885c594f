// The FUSE requests the broker may still answer, by the Token it knows
// them under.
//
// libfuse frees a request when it is answered, and malloc hands the same
// address to the next request at once, of any user. So the broker never
// sees a fuse_req_t: it gets a Token from a counter, never reused, and a
// reply goes out only for a token still in this table. Whoever takes the
// entry first (the broker's answer, or an interrupt) replies; a late or
// repeated answer finds nothing and touches no one's request.
#pragma once

#include <fuse_lowlevel.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "ids.h"

namespace lpc {

class RequestTable {
 public:
  Token Add(fuse_req_t req);
  // FUSE_INTERRUPT arrived for the request: Interrupted() says so from now
  // on, for the broker's check before it parks the request.
  void MarkInterrupted(Token token);
  bool Interrupted(Token token) const;
  // The request, removed from the table, or null if it was answered
  // already (then the call is counted as a stale reply).
  fuse_req_t Take(Token token);

  size_t size() const;
  uint64_t stale_replies() const;

 private:
  struct Entry {
    fuse_req_t req;
    bool interrupted;
  };
  // Lock order: a leaf. Taken under the broker's lock (Interrupted) and
  // under libfuse's per-request lock (in the interrupt callback); nothing
  // is called while holding it.
  mutable std::mutex mu_;
  uint64_t last_token_ = 0;
  uint64_t stale_replies_ = 0;
  std::unordered_map<Token, Entry> live_;
};

}  // namespace lpc
