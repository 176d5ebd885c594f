// The broker: named ports, connections, message queues and the requests
// waiting on them. It knows nothing of FUSE. Every request that may have to
// wait is identified by an opaque Token and is answered exactly once,
// through the BrokerDelegate, possibly later and from another call.
//
// Threading: every public method takes the broker's one lock and is safe to
// call from any thread. Delegate calls are made after that lock has been
// released, never while holding it (so a delegate may call back in).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "broker_limits.h"
#include "caller.h"
#include "errors.h"
#include "namespace.h"
#include "records.h"

namespace lpc {

using Token = uint64_t;      // a waiting request, chosen by the adapter
using PollToken = uint64_t;  // a poll notification handle; 0 = none
using HandleId = uint64_t;   // an open file of the mount
using ConnId = uint64_t;
using PortId = uint64_t;

enum class HandleKind : uint8_t {
  kServer,            // the port creator's handle: records
  kClient,            // a client's communication port: plain messages
  kServerConnection,  // .conn/ID: the server's end of one connection
  kStats,             // .stats: a text snapshot
};

// How the adapter should open the file it hands back.
struct OpenedHandle {
  HandleId handle = 0;
  bool stream = true;  // non-seekable message stream (else: .stats)
};

// Every outward effect of the broker. The FUSE adapter implements this with
// deferred fuse_reply_* calls and fuse_lowlevel_notify_poll; unit tests use
// a recording fake.
class BrokerDelegate {
 public:
  virtual ~BrokerDelegate() = default;
  // Asked under the broker lock just before a request is parked: if the
  // caller was already interrupted, the broker answers EINTR instead.
  virtual bool interrupted(Token token) = 0;
  virtual void reply_open(Token token, OpenedHandle handle) = 0;
  virtual void reply_data(Token token, std::span<const std::byte> data) = 0;
  virtual void reply_written(Token token, size_t count) = 0;
  virtual void reply_error(Token token, Error error) = 0;
  virtual void notify_poll(PollToken poll) = 0;
  // The broker no longer needs this poll handle: free it.
  virtual void drop_poll(PollToken poll) = 0;
};

struct SetAttrRequest {
  bool set_perm = false, set_uid = false, set_gid = false, set_size = false;
  bool set_atime = false, set_mtime = false;
  uint32_t perm = 0, uid = 0, gid = 0;
  uint64_t size = 0;
  Timestamp atime, mtime;
};

struct CreatedPort {
  Attr attr;
  HandleId handle;
};

class Broker {
 public:
  explicit Broker(BrokerDelegate* delegate, Limits limits = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  const Limits& limits() const { return limits_; }

  // --- Names (answer at once) ---
  Result<Attr> lookup(Ino parent, std::string_view name);
  void forget(Ino ino, uint64_t count);
  Result<Attr> getattr(Ino ino);
  Result<Attr> setattr(Ino ino, const SetAttrRequest& req);
  Result<Attr> mkdir(Ino parent, std::string_view name, uint32_t perm,
                     const Sender& caller);
  Status rmdir(Ino parent, std::string_view name);
  Status unlink(Ino parent, std::string_view name);
  // flags: 0 or RENAME_NOREPLACE; anything else is EINVAL.
  Status rename(Ino parent, std::string_view name, Ino new_parent,
                std::string_view new_name, unsigned flags);
  Result<std::vector<DirEntry>> readdir(Ino dir);

  // open(O_CREAT): creates a port and its server handle. Without O_EXCL the
  // caller did not ask for a new port, so the answer is ECONNREFUSED
  // (lpc.7: a missing port must never be created by accident).
  Result<CreatedPort> create_port(Ino parent, std::string_view name,
                                  uint32_t perm, bool exclusive,
                                  const Caller& caller);

  // --- Files (answered through the delegate, now or later) ---
  // open_flags: the open(2) access mode bits and O_NONBLOCK.
  void open(Token token, Ino ino, int open_flags, const Caller& caller);
  void read(Token token, HandleId handle, size_t size, uint64_t offset,
            bool nonblock);
  void write(Token token, HandleId handle, std::span<const std::byte> data,
             bool nonblock, const Sender& sender);
  void release(HandleId handle);
  // Current readiness (POLLIN/POLLOUT/POLLHUP bits). A nonzero `poll` is
  // kept (the previous one dropped) and notified when readiness changes.
  Result<uint32_t> poll(HandleId handle, PollToken poll);

  // A signal arrived for a waiting request. True if the broker still held
  // it and has now let go: the caller must answer EINTR itself.
  bool cancel(Token token);

  // The daemon is stopping: every waiting request is answered
  // ECONNABORTED, as the kernel answers those it has not sent yet.
  void abort_waiters();

  // Fails connection requests whose connect_timeout has passed.
  void expire(std::chrono::steady_clock::time_point now);

  // The .stats text (lpc.7 "STATS").
  std::string stats_text();

  // For tests: counts of live objects.
  size_t port_count();
  size_t connection_count();
  size_t waiter_count();
  size_t node_count();

 private:
  struct Message {
    uint64_t id = 0;
    Sender sender;
    Bytes data;
  };
  // A FIFO of whole messages; a read may take the head message in pieces.
  struct MessageQueue {
    std::deque<Message> messages;
    size_t bytes = 0;
    size_t head_offset = 0;  // bytes of the head message already read
  };
  // A record queued on a port's server handle.
  struct Record {
    uint32_t type = 0;
    ConnId conn = 0;
    uint32_t flags = 0;
    Message message;  // MESSAGE: the message; CONNECT: id 0, info payload
  };
  enum class ConnState : uint8_t { kPending, kOpen, kEnded };
  struct Connection {
    ConnId id = 0;
    PortId port = 0;
    ConnState state = ConnState::kPending;
    Caller client;
    uint32_t connect_flags = 0;
    Token open_token = 0;  // while pending
    std::chrono::steady_clock::time_point deadline{};
    bool has_deadline = false;
    bool connect_read = false;  // the server has read its CONNECT
    bool disconnect_queued = false;
    bool disconnect_read = false;
    bool client_gone = false;  // client closed, or the request was withdrawn
    bool server_gone = false;  // server disconnected, or the port closed
    HandleId client_handle = 0;
    std::vector<HandleId> server_files;  // open handles of .conn/ID
    bool bound = false;                  // .conn/ID was opened
    Ino file_ino = 0;
    uint64_t next_msg_id = 1;
    // Client -> server: counted here wherever the messages sit (the port's
    // record queue, or server_inbox once bound).
    size_t to_server_count = 0;
    size_t to_server_bytes = 0;
    MessageQueue server_inbox;
    std::deque<Token> server_readers;  // reads on .conn/ID
    std::deque<Token> client_writers;  // client writes waiting for room
    // Server -> client.
    MessageQueue client_inbox;
    std::deque<Token> client_readers;
    std::deque<Token> server_writers;  // SEND/REPLY/.conn writes waiting
    // Client message ids read by the server and not yet replied to.
    std::set<uint64_t> awaiting_reply;
    bool erased = false;  // gone from conns_, waiting in graveyard_
  };
  struct Port {
    PortId id = 0;
    Ino ino = 0;  // its node is held, so it exists while the port lives
    bool auto_accept = false;
    HandleId server_handle = 0;
    std::deque<Record> records;
    std::deque<Token> readers;
    std::map<ConnId, Connection*> connections;  // owned by conns_
    size_t pending = 0;
  };
  struct Handle {
    HandleId id = 0;
    HandleKind kind = HandleKind::kStats;
    PortId port = 0;
    ConnId conn = 0;
    PollToken poll = 0;
    std::string text;  // .stats snapshot
  };
  enum class WaitKind : uint8_t { kOpen, kRead, kWrite };
  struct Waiter {
    Token token = 0;
    WaitKind kind = WaitKind::kRead;
    ConnId conn = 0;
    size_t size = 0;        // reads: buffer size
    Message message;        // writes: the message to queue
    uint64_t reply_to = 0;  // REPLY: the client message answered
  };

  // Effects collected under the lock, delivered after it is released.
  struct ReplyOpen {
    Token token;
    OpenedHandle handle;
  };
  struct ReplyData {
    Token token;
    Bytes data;
  };
  struct ReplyWritten {
    Token token;
    size_t count;
  };
  struct ReplyError {
    Token token;
    Error error;
  };
  struct NotifyPoll {
    PollToken poll;
  };
  struct DropPoll {
    PollToken poll;
  };
  using Effect = std::variant<ReplyOpen, ReplyData, ReplyWritten, ReplyError,
                              NotifyPoll, DropPoll>;

  // Holds the lock for one public call; on destruction releases it and then
  // delivers the effects the call produced.
  class Transaction;

  // All private helpers run under mu_.
  Handle* find_handle(HandleId id);
  Connection* find_conn(ConnId id);
  Port* find_port(PortId id);
  HandleId new_handle(HandleKind kind, PortId port, ConnId conn);

  void connect(Token token, Node* node, int open_flags, const Caller& caller);
  void accept(Connection* conn);
  void withdraw(Connection* conn);
  void open_server_file(Token token, Connection* conn);

  void read_records(Token token, Port* port, size_t size, bool nonblock);
  void read_messages(Token token, Connection* conn, bool client_side,
                     size_t size, bool nonblock);
  void write_command(Token token, Port* port, std::span<const std::byte> data,
                     bool nonblock);
  void send_to_client(Token token, Connection* conn, Message message,
                      uint64_t reply_to, size_t written, bool nonblock);
  void send_to_server(Token token, Connection* conn, Message message,
                      bool nonblock);

  // Moving messages and waking whoever waits on them.
  void deliver_to_server(Connection* conn, Message message);
  void deliver_to_client(Connection* conn, Message message);
  // The reading side's peer has gone: once its queue is drained, a read
  // returns end of file and poll reports POLLHUP.
  static bool peer_gone(const Connection& conn, bool client_side);
  void serve_port_readers(Port* port);
  void serve_messages(Connection* conn, bool client_side);
  void serve_client_writers(Connection* conn);
  void serve_server_writers(Connection* conn);
  Bytes take_bytes(MessageQueue& q, size_t size);
  bool has_room(const Connection& conn, bool to_client, size_t len) const;

  void queue_record(Port* port, Record record);
  void queue_disconnect(Connection* conn, uint32_t reason);
  void client_closed(Connection* conn);
  void server_closed(Connection* conn, uint32_t reason);
  void close_port(Port* port);
  void maybe_reap(Connection* conn);
  void erase_conn(Connection* conn);
  void drop_unread_to_server(Connection* conn);

  bool park(Waiter waiter, std::deque<Token>& queue);
  Waiter* front_waiter(std::deque<Token>& queue);
  Waiter take_waiter(std::deque<Token>& queue);
  void fail_all(std::deque<Token>& queue, Error error);

  void notify_handle(HandleId id);
  void notify_conn(Connection* conn);
  void notify_port(Port* port);
  uint32_t readiness(const Handle& h);
  std::string stats_text_locked();

  BrokerDelegate* delegate_;
  Limits limits_;
  std::mutex mu_;
  std::vector<Effect> effects_;
  Namespace names_;
  std::unordered_map<PortId, std::unique_ptr<Port>> ports_;
  std::unordered_map<ConnId, std::unique_ptr<Connection>> conns_;
  // Connections erased during the current public call. A helper may erase
  // a connection its caller still points to (closing a port reaps, then
  // looks again), so memory is released only when the call ends.
  std::vector<std::unique_ptr<Connection>> graveyard_;
  std::unordered_map<HandleId, Handle> handles_;
  std::unordered_map<Token, Waiter> waiters_;
  uint64_t next_id_ = 0;  // ports, connections and handles share it
};

}  // namespace lpc
