// A named connection port as its server sees it: the records queued on its
// server handle, the reads waiting for them, its connection requests and
// its options (lpc.7 "PORTS", "SERVER HANDLE").
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "caller.h"
#include "ids.h"
#include "quota.h"
#include "requests.h"

namespace lpc {

class Connection;

// One record on its way to the server handle. Records only name their
// connection: a MESSAGE record stands for the head message of the
// connection's client-to-server channel, where the message itself waits,
// so the channel is the one place that counts the client's messages.
struct RecordEntry {
  uint32_t type = 0;  // LPC_REC_CONNECT, _MESSAGE, _DISCONNECT or _CANCEL
  ConnId conn;
  uint32_t flags = 0;
  uint64_t msg_id = 0;  // LPC_REC_CANCEL: the call that ended
};

class RecordQueue {
 public:
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const RecordEntry& front() const { return entries_.front(); }
  void Push(RecordEntry entry) { entries_.push_back(entry); }
  void PopFront() { entries_.pop_front(); }
  // The connection was bound, or its unread messages were dropped.
  void RemoveMessagesOf(ConnId conn);
  // The connection is gone: nothing of it is left to read.
  void RemoveAllOf(ConnId conn);
  // One of its messages was withdrawn: one MESSAGE record fewer stands
  // for its channel's messages (any one: they name no message).
  void RemoveOneMessageOf(ConnId conn);

 private:
  std::deque<RecordEntry> entries_;
};

// What a port has carried since it was created, for .stats (lpc.7
// "STATS"): counts only go up, so a reader takes rates from differences.
struct PortCounters {
  // Messages queued each way, and their payload bytes.
  uint64_t messages_to_server = 0, bytes_to_server = 0;
  uint64_t messages_to_client = 0, bytes_to_client = 0;
  // Connection requests that failed while the port was there: no room
  // (backlog, port_connections, quotas), rejected, or timed out.
  uint64_t refused = 0;
  // Records written to the server handle and failed with an error.
  uint64_t rejected_records = 0;
};

class ServerPort {
 public:
  ServerPort(PortId id, NodeId node, HandleId server_handle,
             WaitContext context);
  ServerPort(const ServerPort&) = delete;
  ServerPort& operator=(const ServerPort&) = delete;

  PortId id() const { return id_; }
  // Its node in the namespace, held while the port lives.
  NodeId node() const { return node_; }
  HandleId server_handle() const { return server_handle_; }

  // Its creator's kPorts charge, given back when the port is destroyed.
  void HoldCharge(QuotaCharge charge) { charge_ = std::move(charge); }

  // Who serves it: the process that created it, with its fsuid and fsgid
  // then (lpc.7 "WHO SERVES A NAME"). The server handle may since have
  // been passed on; this stays the creator.
  const Sender& server() const { return server_; }
  void set_server(const Sender& server) { server_ = server; }

  bool auto_accept() const { return auto_accept_; }
  void set_auto_accept(bool on) { auto_accept_ = on; }
  // A read() of the server handle takes as many records as fit
  // (LPC_PORT_READ_BATCHES), not one.
  bool read_batches() const { return read_batches_; }
  void set_read_batches(bool on) { read_batches_ = on; }
  // The largest message its connections carry, either way: the daemon's
  // -o max_message until the server's LPC_REC_PORT_OPTIONS says otherwise.
  size_t max_message() const { return max_message_; }
  void set_max_message(size_t bytes) { max_message_ = bytes; }

  RecordQueue& records() { return records_; }
  const RecordQueue& records() const { return records_; }
  WaitQueue<ReadRequest>& readers() { return readers_; }

  // Its connections, in increasing id. Owned by the Broker's table.
  const std::map<ConnId, Connection*>& connections() const {
    return connections_;
  }
  void AddConnection(Connection* conn);
  void RemoveConnection(ConnId id);

  // Requests waiting for accept or reject, bounded by the backlog.
  const std::set<ConnId>& requests() const { return requests_; }
  void AddRequest(ConnId id) { requests_.insert(id); }
  void RemoveRequest(ConnId id) { requests_.erase(id); }

  PortCounters& counters() { return counters_; }
  const PortCounters& counters() const { return counters_; }

 private:
  PortId id_;
  NodeId node_;
  HandleId server_handle_;
  Sender server_;
  bool auto_accept_ = false;
  bool read_batches_ = false;
  size_t max_message_ = LPC_DEFAULT_MAX_MESSAGE;
  RecordQueue records_;
  WaitQueue<ReadRequest> readers_;
  std::map<ConnId, Connection*> connections_;
  std::set<ConnId> requests_;
  PortCounters counters_;
  QuotaCharge charge_;
};

// The value of the LPC_SERVER_XATTR attribute of a port served by
// `server`: "uid=U gid=G pid=P start_time=T", one line without a newline,
// so that a shell can split it on spaces.
std::string ServerAttributeText(const Sender& server);

}  // namespace lpc
