// Strong id types. Each kind of id is its own type, so a connection id
// cannot be passed where a port id is wanted: `FindConnection(port_id)`
// does not compile.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace lpc {

template <class Tag>
class Id {
 public:
  constexpr Id() = default;
  constexpr explicit Id(uint64_t value) : value_(value) {}
  constexpr uint64_t value() const { return value_; }
  // 0 is never given out: it means "none".
  constexpr explicit operator bool() const { return value_ != 0; }
  friend constexpr auto operator<=>(Id, Id) = default;

 private:
  uint64_t value_ = 0;
};

using PortId = Id<struct PortTag>;
using ConnId = Id<struct ConnTag>;
using HandleId = Id<struct HandleTag>;  // an open file of the mount
using NodeId = Id<struct NodeTag>;      // an inode number, as the kernel sees
// A request the adapter waits for the broker to answer. The adapter never
// gives the same token to two requests in one daemon's lifetime.
using Token = Id<struct TokenTag>;
// A poll notification handle of the adapter.
using PollToken = Id<struct PollTag>;

// The two directions of a connection.
enum class Direction : uint8_t {
  kToServer,  // the client's messages
  kToClient,  // the server's messages
};

}  // namespace lpc

template <class Tag>
struct std::hash<lpc::Id<Tag>> {
  size_t operator()(lpc::Id<Tag> id) const noexcept {
    return std::hash<uint64_t>{}(id.value());
  }
};
