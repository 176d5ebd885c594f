// Views (lpc.7 "VIEWS"): a range of a section that a message carries to
// the other side of a connection, which opens the section through
// /lpc/.views/ID while the view lives. The table keeps the live views by
// id (ids are the Broker's: never reused) and counts them per
// connection; the Broker decides when one begins and ends, and what its
// end changes (the lent access, the section's life).
//
// Plain data, no locking: the Broker owns one and guards it with its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "acl.h"
#include "ids.h"

namespace lpc {

struct View {
  uint64_t id = 0;
  NodeId section;
  ConnId conn;
  uint32_t receiver_uid = 0;  // who may open /lpc/.views/ID
  uint32_t access = 0;        // LPC_VIEW_READ, | LPC_VIEW_WRITE
  // The access lent to the receiver on the section, if it lacked it.
  std::optional<AclGrant> grant;
};

class ViewTable {
 public:
  void Add(View view);
  const View* Find(uint64_t id) const;
  std::optional<View> Take(uint64_t id);
  // Live views a connection's messages carried, both ways.
  size_t CountOf(ConnId conn) const;
  // The live views `uid` received, by id.
  std::vector<View> ReceivedBy(uint32_t uid) const;
  size_t size() const { return views_.size(); }

 private:
  std::map<uint64_t, View> views_;
  std::unordered_map<ConnId, size_t> per_connection_;
};

}  // namespace lpc
