// Requests the broker answers, and the queues they wait in.
//
// Every open, read or write the adapter hands to the broker becomes a
// Request object carrying the adapter's Token. The broker answers it exactly
// once, through the Outbox, which consumes the object; or it parks the
// object in exactly one WaitList until it can. Cancelling a parked request
// removes it from that list and nowhere else holds it: the registry that
// finds a request by token is an index the lists keep themselves, updated
// in the same step that links or unlinks a request. So a cancelled request
// leaves no trace (no stale token in a queue to match a later request) and
// the reply types follow from the request types: a read is answered with
// data, a write with a count, an open with a handle, any of them with an
// error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "errors.h"
#include "ids.h"
#include "message_queue.h"

namespace lpc {

class Outbox;
class WaitList;

// kCall and kReceive are the two ioctls (lpc.7 "IOCTLS"): a call is a
// write that then waits for its reply; a receive is a read that returns
// whole records framed in an lpc_transfer buffer.
enum class RequestKind : uint8_t { kOpen, kRead, kWrite, kCall, kReceive };

class Request {
 public:
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  // A request destroyed while parked unlinks itself from its list first.
  virtual ~Request();

  Token token() const { return token_; }
  RequestKind kind() const { return kind_; }
  // The list it waits in, or null.
  WaitList* list() const { return list_; }

 protected:
  Request(Token token, RequestKind kind) : token_(token), kind_(kind) {}

 private:
  friend class WaitList;
  Token token_;
  RequestKind kind_;
  WaitList* list_ = nullptr;
  Request* prev_ = nullptr;
  Request* next_ = nullptr;
};

// open(2) of a port, waiting for the server's accept or reject.
struct OpenRequest final : Request {
  explicit OpenRequest(Token token) : Request(token, RequestKind::kOpen) {}
};

// read(2) of at most `size` bytes. The kernel splits one read(2) whose
// buffer spans more pages than a FUSE request carries into several reads,
// each at the offset where the previous one ended, and goes on while each
// comes back full (see Broker::Read); `offset` tells those parts apart.
struct ReadRequest : Request {
  ReadRequest(Token token, size_t size, uint64_t offset, bool nonblock)
      : ReadRequest(token, RequestKind::kRead, size, offset, nonblock) {}
  size_t size;
  uint64_t offset;
  bool nonblock;

 protected:
  ReadRequest(Token token, RequestKind kind, size_t size, uint64_t offset,
              bool nonblock)
      : Request(token, kind), size(size), offset(offset), nonblock(nonblock) {}
};

// What the send part of an ioctl did, reported in its lpc_transfer header,
// and the header's input fields, handed back as they came (lpc.7 "IOCTLS").
struct TransferCounts {
  uint32_t sent = 0;                // records that took effect
  std::optional<Error> send_error;  // why record number `sent` did not
  uint64_t first_msg_id = 0;
  uint32_t flags = 0, timeout_ms = 0, send_length = 0, max_records = 0;
};

// The receive part of LPC_IOC_TRANSFER: waits in the same queues as a
// read(2) and takes whole records, as many as `size` bytes of data[] and
// `max_records` allow. `counts` is the send part, done before it waited.
struct ReceiveRequest final : ReadRequest {
  ReceiveRequest(Token token, size_t size, bool nonblock)
      : ReadRequest(token, RequestKind::kReceive, size, 0, nonblock) {}
  TransferCounts counts;  // counts.max_records: 0 is no limit
};

// write(2): a message, or a record of a server handle.
struct WriteRequest : Request {
  WriteRequest(Token token, size_t count, bool nonblock)
      : WriteRequest(token, RequestKind::kWrite, count, nonblock) {}
  size_t count;           // what the write returns once it has taken effect
  bool nonblock;          // fail with EAGAIN rather than wait for room
  Message message;        // the message to deliver
  uint64_t reply_to = 0;  // LPC_REC_REPLY: the client message answered

 protected:
  WriteRequest(Token token, RequestKind kind, size_t count, bool nonblock)
      : Request(token, kind), count(count), nonblock(nonblock) {}
};

// LPC_IOC_CALL: a client message that waits, first for room like a write,
// then in its connection's CallTable for the reply to its message id.
struct CallRequest final : WriteRequest {
  CallRequest(Token token, size_t reply_room, bool nonblock)
      : WriteRequest(token, RequestKind::kCall, 0, nonblock),
        reply_room(reply_room) {}
  size_t reply_room;      // the longest reply payload the caller can take
  TransferCounts counts;  // of its answer; first_msg_id once it is sent
};

// Finds parked requests by token. Only WaitList changes it.
class WaitRegistry {
 public:
  Request* Find(Token token) const;
  size_t size() const { return parked_.size(); }
  bool empty() const { return parked_.empty(); }
  // Some parked request, for draining; the registry must not be empty.
  Request* Any() const { return parked_.begin()->second; }

 private:
  friend class WaitList;
  std::unordered_map<Token, Request*> parked_;
};

// Where a list is, so that cancelling a request can tell the broker what
// its going changes (a withdrawn connect, room for the writer behind).
struct WaitSite {
  enum class Place : uint8_t {
    kConnect,  // a connection's pending open
    kRecords,  // readers of a server handle
    kReaders,  // readers of one direction of a connection
    kWriters,  // writers waiting for room in one direction
    kCalls,    // calls of a connection waiting for their replies
    kMonitor,  // readers of one open .monitor (core/monitor.h)
  };
  Place place;
  PortId port;
  ConnId conn;
  Direction direction = Direction::kToServer;
};

// What every list shares: the registry it indexes requests in, and the
// outbox that answers requests a list is destroyed with.
struct WaitContext {
  WaitRegistry* registry;
  Outbox* outbox;
};

// A first-in first-out list of parked requests, owning them. Intrusive: a
// request knows its list, so removal is O(1) and a request is in one list
// at most.
class WaitList {
 public:
  WaitList(WaitContext context, WaitSite site)
      : context_(context), site_(site) {}
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  // Requests still waiting are answered ECONNABORTED. The broker answers
  // every request before it drops the list; this only keeps a mistake from
  // leaving a caller blocked for good.
  ~WaitList();

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  const WaitSite& site() const { return site_; }

  // Parks a request, whose token must not already be parked.
  void PushBack(std::unique_ptr<Request> request);
  // Unparks a request of this list.
  std::unique_ptr<Request> Remove(Request* request);
  std::unique_ptr<Request> PopFront() { return Remove(head_); }

 protected:
  Request* head() const { return head_; }

 private:
  friend class Request;
  void Unlink(Request* request);

  WaitContext context_;
  WaitSite site_;
  Request* head_ = nullptr;
  Request* tail_ = nullptr;
  size_t size_ = 0;
};

// A WaitList of one kind of request.
template <class R>
class WaitQueue : public WaitList {
 public:
  using WaitList::WaitList;
  R* front() const { return static_cast<R*>(head()); }
  void PushBack(std::unique_ptr<R> request) {
    WaitList::PushBack(std::move(request));
  }
  std::unique_ptr<R> PopFront() {
    return std::unique_ptr<R>(static_cast<R*>(WaitList::PopFront().release()));
  }
};

// Narrows a request to its kind; `request` must be of that kind.
template <class R>
std::unique_ptr<R> Downcast(std::unique_ptr<Request> request) {
  return std::unique_ptr<R>(static_cast<R*>(request.release()));
}

}  // namespace lpc
