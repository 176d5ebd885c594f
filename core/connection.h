// A connection: from a client's open(2) of a port until both of its ends
// have gone and the server has heard the last of it. It owns both of its
// channels, the client's waiting open, and its place in the record
// protocol; the Broker drives its transitions and reaps it once Finished().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "broker_limits.h"
#include "call_table.h"
#include "caller.h"
#include "channel.h"
#include "ids.h"
#include "quota.h"
#include "records.h"
#include "reply_window.h"
#include "requests.h"

namespace lpc {

// The connection's life, one stage after another.
enum class Stage : uint8_t {
  kRequested,   // the client's open(2) waits for the server's answer
  kRefused,     // the request ended unaccepted: rejected, withdrawn, or
                // its port closed
  kOpen,        // accepted; both ends are there
  kClientGone,  // accepted; the client has closed its last descriptor
  kServerGone,  // accepted; the server side has ended the connection
  kClosed,      // accepted; both ends have gone
};

// Which ends of a connection in `stage` have gone. Both have for a request
// that was refused.
bool ClientGone(Stage stage);
bool ServerGone(Stage stage);

// Where the server handle is in the records of this connection (lpc.7
// "Records": one CONNECT, then at most one DISCONNECT). Only advances.
enum class Notice : uint8_t {
  kConnectUnread,     // its CONNECT record is queued, not yet read
  kConnectRead,       // the server knows of the connection
  kDisconnectQueued,  // its DISCONNECT record is queued
  kDone,              // no record of it is queued or will be
};

class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  // `quota`, if given, is charged for the bytes its channels queue.
  Connection(ConnId id, PortId port, Caller client, uint32_t connect_flags,
             const Limits& limits, WaitContext context,
             QuotaLedger* quota = nullptr);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ConnId id() const { return id_; }
  PortId port() const { return port_; }
  const Caller& client() const { return client_; }
  uint32_t connect_flags() const { return connect_flags_; }
  // The payload of its CONNECT record.
  const Bytes& connect_info() const { return connect_info_; }

  Stage stage() const { return stage_; }
  bool pending() const { return stage_ == Stage::kRequested; }
  bool refused() const { return stage_ == Stage::kRefused; }
  bool client_gone() const { return ClientGone(stage_); }
  bool server_gone() const { return ServerGone(stage_); }
  // Messages flow only while both ends are there. Otherwise readers of
  // either direction get end of file once it is drained, and writers EPIPE.
  bool carrying() const { return stage_ == Stage::kOpen; }

  // What the connection costs its users (lpc.7 "QUOTAS"), held until it
  // is destroyed; `pending` only until it is accepted or refused.
  void HoldCharges(QuotaCharge client, QuotaCharge served, QuotaCharge pending);

  // kRequested -> kOpen.
  void Accept();
  // kRequested -> kRefused.
  void Refuse();
  // The client closed: -> kClientGone or kClosed.
  void EndClient();
  // The server side ended it: -> kServerGone or kClosed. False if it had
  // already.
  bool EndServer();

  Notice notice() const { return notice_; }
  void Advance(Notice notice) {
    if (notice > notice_) notice_ = notice;
  }

  // Nothing refers to it any more: no open request, no handle, and the
  // server expects no more records of it.
  bool Finished() const;

  Channel& channel(Direction d) {
    return d == Direction::kToServer ? to_server_ : to_client_;
  }
  const Channel& channel(Direction d) const {
    return d == Direction::kToServer ? to_server_ : to_client_;
  }
  WaitQueue<OpenRequest>& open_request() { return open_request_; }
  ReplyWindow& replies() { return replies_; }
  CallTable& calls() { return calls_; }
  const CallTable& calls() const { return calls_; }

  // The handles that read `d` (and want POLLIN when it gets a message),
  // and those that write it (and want POLLOUT when it gets room).
  std::vector<HandleId> Readers(Direction d) const;
  std::vector<HandleId> Writers(Direction d) const;
  std::vector<HandleId> Handles() const;

  // poll(2) bits of a handle that reads `in` and writes the other way
  // (lpc.7 "POLL").
  uint32_t Readiness(Direction in) const;

  HandleId client_handle() const { return client_handle_; }
  void set_client_handle(HandleId h) { client_handle_ = h; }
  // The open descriptions of .conn/ID.
  const std::vector<HandleId>& server_files() const { return server_files_; }
  void AddServerFile(HandleId h) { server_files_.push_back(h); }
  void RemoveServerFile(HandleId h);

  // Bound: .conn/ID has been opened, so the client's messages are read
  // there instead of as records (lpc.7 "SERVER COMMUNICATION PORT").
  bool bound() const { return bound_; }
  void Bind() { bound_ = true; }
  NodeId file_node() const { return file_node_; }
  void set_file_node(NodeId n) { file_node_ = n; }

  // What delivered messages attached (views, memory windows) while it
  // lives: a client message's until the call it came with is answered or
  // ends (by its msg_id), the server's (msg_id 0) until the connection
  // ends. Dropped with the connection (lpc.7 "VIEWS").
  void KeepDelivered(uint64_t msg_id, Attachments attachments);
  void ReleaseDelivered(uint64_t msg_id) { delivered_.erase(msg_id); }
  size_t delivered_count() const { return delivered_.size(); }

  // The client's messages are numbered 1, 2, 3... as they are queued.
  uint64_t NextMessageId() { return next_message_id_++; }

  // When the client asked to connect: seconds since the Epoch
  // (CLOCK_REALTIME, as the namespace's timestamps; lpc.7 "STATS").
  int64_t since() const { return since_; }
  void set_since(int64_t seconds) { since_ = seconds; }

  // When a pending request times out (connect_timeout), if it does.
  std::optional<Clock::time_point> deadline() const { return deadline_; }
  void set_deadline(Clock::time_point t) { deadline_ = t; }

 private:
  ConnId id_;
  PortId port_;
  Caller client_;
  uint32_t connect_flags_;
  Bytes connect_info_;
  Stage stage_ = Stage::kRequested;
  Notice notice_ = Notice::kConnectUnread;
  Channel to_server_;
  Channel to_client_;
  WaitQueue<OpenRequest> open_request_;  // at most one, while kRequested
  ReplyWindow replies_;
  CallTable calls_;
  HandleId client_handle_;
  std::vector<HandleId> server_files_;
  bool bound_ = false;
  NodeId file_node_;
  uint64_t next_message_id_ = 1;
  std::optional<Clock::time_point> deadline_;
  int64_t since_ = 0;
  std::multimap<uint64_t, Attachment> delivered_;
  QuotaCharge client_charge_;
  QuotaCharge served_charge_;
  QuotaCharge pending_charge_;
};

}  // namespace lpc
