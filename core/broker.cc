#include "broker.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace lpc {

namespace {

std::span<const std::byte> as_span(const Bytes& b) {
  return {b.data(), b.size()};
}

}  // namespace

class Broker::Transaction {
 public:
  explicit Transaction(Broker* broker) : broker_(broker), lock_(broker->mu_) {}
  ~Transaction() {
    broker_->graveyard_.clear();
    std::vector<Effect> effects;
    effects.swap(broker_->effects_);
    lock_.unlock();
    BrokerDelegate* d = broker_->delegate_;
    for (auto& effect : effects) {
      std::visit(
          [d](auto& e) {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, ReplyOpen>) {
              d->reply_open(e.token, e.handle);
            } else if constexpr (std::is_same_v<E, ReplyData>) {
              d->reply_data(e.token, as_span(e.data));
            } else if constexpr (std::is_same_v<E, ReplyWritten>) {
              d->reply_written(e.token, e.count);
            } else if constexpr (std::is_same_v<E, ReplyError>) {
              d->reply_error(e.token, e.error);
            } else if constexpr (std::is_same_v<E, NotifyPoll>) {
              d->notify_poll(e.poll);
            } else {
              d->drop_poll(e.poll);
            }
          },
          effect);
    }
  }

 private:
  Broker* broker_;
  std::unique_lock<std::mutex> lock_;
};

Broker::Broker(BrokerDelegate* delegate, Limits limits)
    : delegate_(delegate), limits_(limits) {}

Broker::~Broker() {
  // Poll handles belong to the delegate: give them back.
  for (auto& [id, h] : handles_) {
    if (h.poll) delegate_->drop_poll(h.poll);
  }
}

// ---------------------------------------------------------------- names

Result<Attr> Broker::lookup(Ino parent, std::string_view name) {
  Transaction tx(this);
  auto node = names_.child(parent, name);
  if (!node) return node.error();
  names_.remember_lookup(node.value());
  return node.value()->attr;
}

void Broker::forget(Ino ino, uint64_t count) {
  Transaction tx(this);
  names_.forget(ino, count);
}

Result<Attr> Broker::getattr(Ino ino) {
  Transaction tx(this);
  Node* node = names_.find(ino);
  if (!node) return Error::kNotFound;
  return node->attr;
}

Result<Attr> Broker::setattr(Ino ino, const SetAttrRequest& req) {
  Transaction tx(this);
  Node* node = names_.find(ino);
  if (!node) return Error::kNotFound;
  if (req.set_size) {
    switch (node->attr.kind) {
      case NodeKind::kDirectory:
        return Error::kIsDirectory;
      case NodeKind::kStatsFile:
        return Error::kNotPermitted;
      default:
        // A port holds no bytes: truncating to 0 (bash's `>`) is a no-op,
        // anything else cannot be honoured.
        if (req.size != 0) return Error::kInvalid;
    }
  }
  if (req.set_perm) node->attr.perm = req.perm & 07777;
  if (req.set_uid) node->attr.uid = req.uid;
  if (req.set_gid) node->attr.gid = req.gid;
  if (req.set_atime) node->attr.atime = req.atime;
  if (req.set_mtime) node->attr.mtime = req.mtime;
  node->attr.ctime = now_timestamp();
  return node->attr;
}

Result<Attr> Broker::mkdir(Ino parent, std::string_view name, uint32_t perm,
                           const Sender& caller) {
  Transaction tx(this);
  if (parent == names_.conn_dir_ino()) return Error::kNotPermitted;
  Node* dir = names_.find(parent);
  if (!dir) return Error::kNotFound;
  uint32_t gid = caller.gid;
  perm &= 07777;
  if (dir->attr.perm & S_ISGID) {  // BSD group semantics, as ext4 does
    gid = dir->attr.gid;
    perm |= S_ISGID;
  }
  auto node =
      names_.add(parent, name, NodeKind::kDirectory, perm, caller.uid, gid);
  if (!node) return node.error();
  names_.remember_lookup(node.value());
  return node.value()->attr;
}

Status Broker::rmdir(Ino parent, std::string_view name) {
  Transaction tx(this);
  auto node = names_.child(parent, name);
  if (!node) return node.error();
  Node* n = node.value();
  if (n->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (n->attr.ino == Namespace::kRootIno ||
      n->attr.ino == names_.conn_dir_ino()) {
    return Error::kBusy;
  }
  if (!n->children.empty()) return Error::kNotEmpty;
  names_.detach(n);
  return Ok{};
}

Status Broker::unlink(Ino parent, std::string_view name) {
  Transaction tx(this);
  auto node = names_.child(parent, name);
  if (!node) return node.error();
  Node* n = node.value();
  switch (n->attr.kind) {
    case NodeKind::kDirectory:
      return Error::kIsDirectory;
    case NodeKind::kPort:
      // The port keeps working through its handles; only the name goes.
      names_.detach(n);
      return Ok{};
    default:
      return Error::kNotPermitted;
  }
}

Status Broker::rename(Ino parent, std::string_view name, Ino new_parent,
                      std::string_view new_name, unsigned flags) {
  Transaction tx(this);
  if (flags & ~unsigned{RENAME_NOREPLACE}) return Error::kInvalid;
  auto src = names_.child(parent, name);
  if (!src) return src.error();
  Node* n = src.value();
  bool reserved = n->attr.ino == names_.conn_dir_ino() ||
                  n->attr.ino == names_.stats_ino() ||
                  n->attr.kind == NodeKind::kConnectionFile;
  if (reserved || parent == names_.conn_dir_ino() ||
      new_parent == names_.conn_dir_ino()) {
    return Error::kNotPermitted;
  }
  Node* dst_dir = names_.find(new_parent);
  if (!dst_dir) return Error::kNotFound;
  if (dst_dir->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (new_name.size() > Namespace::kMaxName) return Error::kNameTooLong;
  auto existing = names_.child(new_parent, new_name);
  if (existing) {
    if (existing.value() == n) return Ok{};
    // Ports are never replaced by a rename: the server owning the target
    // would silently lose its name.
    return Error::kExists;
  }
  if (n->attr.kind == NodeKind::kDirectory &&
      names_.is_within(new_parent, n->attr.ino)) {
    return Error::kInvalid;
  }
  names_.move(n, new_parent, new_name);
  return Ok{};
}

Result<std::vector<DirEntry>> Broker::readdir(Ino dir) {
  Transaction tx(this);
  Node* node = names_.find(dir);
  if (!node) return Error::kNotFound;
  if (node->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  return names_.list(*node);
}

Result<CreatedPort> Broker::create_port(Ino parent, std::string_view name,
                                        uint32_t perm, bool exclusive,
                                        const Caller& caller) {
  Transaction tx(this);
  if (parent == names_.conn_dir_ino()) return Error::kNotPermitted;
  auto existing = names_.child(parent, name);
  if (existing) return Error::kExists;
  if (existing.error() != Error::kNotFound) return existing.error();
  if (!exclusive) return Error::kConnectionRefused;
  auto node = names_.add(parent, name, NodeKind::kPort, perm, caller.sender.uid,
                         caller.sender.gid);
  if (!node) return node.error();
  Node* n = node.value();
  auto port = std::make_unique<Port>();
  port->id = ++next_id_;
  port->ino = n->attr.ino;
  n->held = true;
  n->object = port->id;
  names_.remember_lookup(n);
  HandleId h = new_handle(HandleKind::kServer, port->id, 0);
  port->server_handle = h;
  ports_.emplace(port->id, std::move(port));
  return CreatedPort{n->attr, h};
}

// ---------------------------------------------------------------- files

void Broker::open(Token token, Ino ino, int open_flags, const Caller& caller) {
  Transaction tx(this);
  Node* node = names_.find(ino);
  if (!node) {
    effects_.push_back(ReplyError{token, Error::kNotFound});
    return;
  }
  switch (node->attr.kind) {
    case NodeKind::kPort:
      connect(token, node, open_flags, caller);
      return;
    case NodeKind::kConnectionFile: {
      Connection* conn = find_conn(node->object);
      if (!conn) {
        effects_.push_back(ReplyError{token, Error::kNotConnected});
        return;
      }
      open_server_file(token, conn);
      return;
    }
    case NodeKind::kStatsFile: {
      if ((open_flags & O_ACCMODE) != O_RDONLY) {
        effects_.push_back(ReplyError{token, Error::kNotPermitted});
        return;
      }
      HandleId h = new_handle(HandleKind::kStats, 0, 0);
      find_handle(h)->text = stats_text_locked();
      effects_.push_back(ReplyOpen{token, {h, false}});
      return;
    }
    case NodeKind::kDirectory:
      effects_.push_back(ReplyError{token, Error::kIsDirectory});
      return;
  }
}

void Broker::connect(Token token, Node* node, int open_flags,
                     const Caller& caller) {
  Port* port = find_port(node->object);
  if (!port) {
    effects_.push_back(ReplyError{token, Error::kConnectionRefused});
    return;
  }
  if (port->pending >= limits_.backlog) {
    effects_.push_back(ReplyError{token, Error::kWouldBlock});
    return;
  }
  if (!port->auto_accept && delegate_->interrupted(token)) {
    effects_.push_back(ReplyError{token, Error::kInterrupted});
    return;
  }
  auto owned = std::make_unique<Connection>();
  Connection* conn = owned.get();
  conn->id = ++next_id_;
  conn->port = port->id;
  conn->client = caller;
  int mode = open_flags & O_ACCMODE;
  if (mode == O_RDONLY || mode == O_RDWR)
    conn->connect_flags |= LPC_CONNECT_READ;
  if (mode == O_WRONLY || mode == O_RDWR)
    conn->connect_flags |= LPC_CONNECT_WRITE;
  if (caller.groups_truncated)
    conn->connect_flags |= LPC_CONNECT_GROUPS_TRUNCATED;
  conn->open_token = token;
  conns_.emplace(conn->id, std::move(owned));
  port->connections.emplace(conn->id, conn);
  ++port->pending;

  Record record;
  record.type = LPC_REC_CONNECT;
  record.conn = conn->id;
  record.flags = conn->connect_flags;
  record.message.sender = caller.sender;
  record.message.data = encode_connect_info(caller);
  if (port->auto_accept) {
    record.flags |= LPC_CONNECT_ACCEPTED;
    queue_record(port, std::move(record));
    accept(conn);
    return;
  }
  Waiter w;
  w.token = token;
  w.kind = WaitKind::kOpen;
  w.conn = conn->id;
  waiters_.emplace(token, std::move(w));
  if (limits_.connect_timeout_ms) {
    conn->has_deadline = true;
    conn->deadline = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(limits_.connect_timeout_ms);
  }
  queue_record(port, std::move(record));
}

void Broker::accept(Connection* conn) {
  Port* port = find_port(conn->port);
  conn->state = ConnState::kOpen;
  --port->pending;
  // The connection file belongs to whoever owns the port now.
  const Attr& owner = names_.find(port->ino)->attr;
  auto file = names_.add(names_.conn_dir_ino(), std::to_string(conn->id),
                         NodeKind::kConnectionFile, 0600, owner.uid, owner.gid);
  if (file) {
    file.value()->held = true;
    file.value()->object = conn->id;
    conn->file_ino = file.value()->attr.ino;
  }
  conn->client_handle = new_handle(HandleKind::kClient, port->id, conn->id);
  waiters_.erase(conn->open_token);
  effects_.push_back(ReplyOpen{conn->open_token, {conn->client_handle, true}});
  conn->open_token = 0;
}

// The request ends before it was accepted: a signal, or connect_timeout.
void Broker::withdraw(Connection* conn) {
  Port* port = find_port(conn->port);
  if (port) --port->pending;
  conn->state = ConnState::kEnded;
  conn->client_gone = conn->server_gone = true;
  conn->open_token = 0;
  if (!conn->connect_read) {
    // The server never heard of it: it leaves no trace.
    erase_conn(conn);
    return;
  }
  queue_disconnect(conn, LPC_DISCONNECT_WITHDRAWN);
  maybe_reap(conn);
}

void Broker::open_server_file(Token token, Connection* conn) {
  if (conn->server_gone) {
    effects_.push_back(ReplyError{token, Error::kNotConnected});
    return;
  }
  if (!conn->bound) {
    // From now on the client's messages are read from .conn/ID; those
    // already queued for the server handle move there, in order.
    conn->bound = true;
    if (Port* port = find_port(conn->port)) {
      std::deque<Record> keep;
      for (auto& r : port->records) {
        if (r.type == LPC_REC_MESSAGE && r.conn == conn->id) {
          conn->server_inbox.bytes += r.message.data.size();
          conn->server_inbox.messages.push_back(std::move(r.message));
        } else {
          keep.push_back(std::move(r));
        }
      }
      port->records.swap(keep);
    }
  }
  HandleId h = new_handle(HandleKind::kServerConnection, conn->port, conn->id);
  conn->server_files.push_back(h);
  effects_.push_back(ReplyOpen{token, {h, true}});
}

void Broker::read(Token token, HandleId handle, size_t size, uint64_t offset,
                  bool nonblock) {
  Transaction tx(this);
  Handle* h = find_handle(handle);
  if (!h) {
    effects_.push_back(ReplyError{token, Error::kBadHandle});
    return;
  }
  switch (h->kind) {
    case HandleKind::kServer: {
      Port* port = find_port(h->port);
      if (!port) {
        effects_.push_back(ReplyError{token, Error::kBadHandle});
        return;
      }
      read_records(token, port, size, nonblock);
      return;
    }
    case HandleKind::kClient:
    case HandleKind::kServerConnection: {
      Connection* conn = find_conn(h->conn);
      if (!conn) {  // cannot happen while a handle is open; be safe
        effects_.push_back(ReplyData{token, {}});
        return;
      }
      read_messages(token, conn, h->kind == HandleKind::kClient, size,
                    nonblock);
      return;
    }
    case HandleKind::kStats: {
      Bytes out;
      if (offset < h->text.size()) {
        size_t n = std::min<size_t>(size, h->text.size() - offset);
        auto* p = reinterpret_cast<const std::byte*>(h->text.data()) + offset;
        out.assign(p, p + n);
      }
      effects_.push_back(ReplyData{token, std::move(out)});
      return;
    }
  }
}

void Broker::read_records(Token token, Port* port, size_t size, bool nonblock) {
  if (nonblock && (port->records.empty() || front_waiter(port->readers))) {
    effects_.push_back(ReplyError{token, Error::kWouldBlock});
    return;
  }
  Waiter w;
  w.token = token;
  w.kind = WaitKind::kRead;
  w.size = size;
  if (!park(std::move(w), port->readers)) return;
  serve_port_readers(port);
}

void Broker::read_messages(Token token, Connection* conn, bool client_side,
                           size_t size, bool nonblock) {
  MessageQueue& q = client_side ? conn->client_inbox : conn->server_inbox;
  std::deque<Token>& readers =
      client_side ? conn->client_readers : conn->server_readers;
  if (size == 0) {
    effects_.push_back(ReplyData{token, {}});
    return;
  }
  bool eof = peer_gone(*conn, client_side);
  if (nonblock && q.messages.empty() && !eof) {
    effects_.push_back(ReplyError{token, Error::kWouldBlock});
    return;
  }
  if (nonblock && front_waiter(readers)) {
    effects_.push_back(ReplyError{token, Error::kWouldBlock});
    return;
  }
  Waiter w;
  w.token = token;
  w.kind = WaitKind::kRead;
  w.conn = conn->id;
  w.size = size;
  if (!q.messages.empty() || eof) {
    // Ready now: skip the interrupt check, it could only lose data.
    waiters_.emplace(token, std::move(w));
    readers.push_back(token);
  } else if (!park(std::move(w), readers)) {
    return;
  }
  serve_messages(conn, client_side);
}

void Broker::write(Token token, HandleId handle,
                   std::span<const std::byte> data, bool nonblock,
                   const Sender& sender) {
  Transaction tx(this);
  Handle* h = find_handle(handle);
  if (!h) {
    effects_.push_back(ReplyError{token, Error::kBadHandle});
    return;
  }
  if (h->kind == HandleKind::kStats) {
    effects_.push_back(ReplyError{token, Error::kNotPermitted});
    return;
  }
  if (h->kind == HandleKind::kServer) {
    Port* port = find_port(h->port);
    if (!port) {
      effects_.push_back(ReplyError{token, Error::kBadHandle});
      return;
    }
    write_command(token, port, data, nonblock);
    return;
  }
  if (data.size() > limits_.max_message) {
    effects_.push_back(ReplyError{token, Error::kMessageTooLong});
    return;
  }
  if (data.empty()) {
    effects_.push_back(ReplyWritten{token, 0});
    return;
  }
  Connection* conn = find_conn(h->conn);
  if (!conn) {
    effects_.push_back(ReplyError{token, Error::kBrokenPipe});
    return;
  }
  Message m;
  m.sender = sender;
  m.data.assign(data.begin(), data.end());
  if (h->kind == HandleKind::kClient) {
    send_to_server(token, conn, std::move(m), nonblock);
  } else {
    if (conn->server_gone) {
      effects_.push_back(ReplyError{token, Error::kBrokenPipe});
      return;
    }
    send_to_client(token, conn, std::move(m), 0, data.size(), nonblock);
  }
}

void Broker::write_command(Token token, Port* port,
                           std::span<const std::byte> data, bool nonblock) {
  auto decoded = decode_server_command(data, limits_.max_message);
  if (!decoded) {
    effects_.push_back(ReplyError{token, decoded.error()});
    return;
  }
  const ServerCommand& cmd = decoded.value();
  auto fail = [&](Error e) { effects_.push_back(ReplyError{token, e}); };
  auto done = [&] { effects_.push_back(ReplyWritten{token, data.size()}); };

  if (cmd.type == LPC_REC_PORT_OPTIONS) {
    port->auto_accept = cmd.flags & LPC_PORT_AUTO_ACCEPT;
    if (port->auto_accept) {
      std::vector<Connection*> pending;
      for (auto& [id, conn] : port->connections) {
        if (conn->state == ConnState::kPending) pending.push_back(conn);
      }
      for (Connection* conn : pending) accept(conn);
    }
    done();
    return;
  }
  Connection* conn = find_conn(cmd.conn_id);
  if (!conn || conn->port != port->id || conn->state == ConnState::kEnded) {
    fail(Error::kNotConnected);
    return;
  }
  bool pending = conn->state == ConnState::kPending;
  switch (cmd.type) {
    case LPC_REC_ACCEPT:
      if (!pending) return fail(Error::kAlreadyConnected);
      accept(conn);
      return done();
    case LPC_REC_REJECT: {
      Error why;
      if (!reject_status_to_error(cmd.status, &why)) {
        return fail(Error::kInvalid);
      }
      if (!pending) return fail(Error::kAlreadyConnected);
      effects_.push_back(ReplyError{conn->open_token, why});
      waiters_.erase(conn->open_token);
      --port->pending;
      erase_conn(conn);
      return done();
    }
    case LPC_REC_SEND:
    case LPC_REC_REPLY: {
      if (pending || conn->server_gone) return fail(Error::kNotConnected);
      if (conn->client_gone) return fail(Error::kBrokenPipe);
      uint64_t reply_to = 0;
      if (cmd.type == LPC_REC_REPLY) {
        if (!conn->awaiting_reply.erase(cmd.msg_id)) {
          return fail(Error::kNoMessage);
        }
        reply_to = cmd.msg_id;
      }
      Message m;
      m.id = reply_to;
      m.data.assign(cmd.payload.begin(), cmd.payload.end());
      send_to_client(token, conn, std::move(m), reply_to, data.size(),
                     nonblock);
      return;
    }
    case LPC_REC_DISCONNECT:
      if (pending || conn->server_gone) return fail(Error::kNotConnected);
      server_closed(conn, LPC_DISCONNECT_SERVER_CLOSED);
      return done();
  }
  fail(Error::kInvalid);
}

void Broker::send_to_client(Token token, Connection* conn, Message message,
                            uint64_t reply_to, size_t written, bool nonblock) {
  if (conn->client_gone) {
    effects_.push_back(ReplyError{token, Error::kBrokenPipe});
    return;
  }
  if (!front_waiter(conn->server_writers) &&
      has_room(*conn, true, message.data.size())) {
    deliver_to_client(conn, std::move(message));
    effects_.push_back(ReplyWritten{token, written});
    return;
  }
  if (nonblock) {
    if (reply_to) conn->awaiting_reply.insert(reply_to);
    effects_.push_back(ReplyError{token, Error::kWouldBlock});
    return;
  }
  Waiter w;
  w.token = token;
  w.kind = WaitKind::kWrite;
  w.conn = conn->id;
  w.size = written;
  w.message = std::move(message);
  w.reply_to = reply_to;
  if (!park(std::move(w), conn->server_writers)) {
    if (reply_to) conn->awaiting_reply.insert(reply_to);
  }
}

void Broker::send_to_server(Token token, Connection* conn, Message message,
                            bool nonblock) {
  if (conn->server_gone) {
    effects_.push_back(ReplyError{token, Error::kBrokenPipe});
    return;
  }
  size_t len = message.data.size();
  if (!front_waiter(conn->client_writers) && has_room(*conn, false, len)) {
    deliver_to_server(conn, std::move(message));
    effects_.push_back(ReplyWritten{token, len});
    return;
  }
  if (nonblock) {
    effects_.push_back(ReplyError{token, Error::kWouldBlock});
    return;
  }
  Waiter w;
  w.token = token;
  w.kind = WaitKind::kWrite;
  w.conn = conn->id;
  w.size = len;
  w.message = std::move(message);
  park(std::move(w), conn->client_writers);
}

void Broker::release(HandleId handle) {
  Transaction tx(this);
  Handle* h = find_handle(handle);
  if (!h) return;
  if (h->poll) effects_.push_back(DropPoll{h->poll});
  HandleKind kind = h->kind;
  PortId port_id = h->port;
  ConnId conn_id = h->conn;
  handles_.erase(handle);
  switch (kind) {
    case HandleKind::kServer:
      if (Port* port = find_port(port_id)) close_port(port);
      break;
    case HandleKind::kClient:
      if (Connection* conn = find_conn(conn_id)) client_closed(conn);
      break;
    case HandleKind::kServerConnection:
      if (Connection* conn = find_conn(conn_id)) {
        auto& files = conn->server_files;
        files.erase(std::remove(files.begin(), files.end(), handle),
                    files.end());
        if (files.empty() && !conn->server_gone) {
          server_closed(conn, LPC_DISCONNECT_SERVER_CLOSED);
        } else {
          maybe_reap(conn);
        }
      }
      break;
    case HandleKind::kStats:
      break;
  }
}

Result<uint32_t> Broker::poll(HandleId handle, PollToken poll) {
  Transaction tx(this);
  Handle* h = find_handle(handle);
  if (!h) {
    if (poll) effects_.push_back(DropPoll{poll});
    return Error::kBadHandle;
  }
  if (poll && poll != h->poll) {
    if (h->poll) effects_.push_back(DropPoll{h->poll});
    h->poll = poll;
  }
  return readiness(*h);
}

bool Broker::cancel(Token token) {
  Transaction tx(this);
  auto it = waiters_.find(token);
  if (it == waiters_.end()) return false;
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  Connection* conn = w.conn ? find_conn(w.conn) : nullptr;
  if (w.kind == WaitKind::kOpen) {
    if (conn && conn->state == ConnState::kPending) withdraw(conn);
  } else if (w.kind == WaitKind::kWrite && conn) {
    if (w.reply_to) conn->awaiting_reply.insert(w.reply_to);
    // A writer behind the cancelled one may fit now.
    serve_client_writers(conn);
    serve_server_writers(conn);
  }
  return true;
}

void Broker::abort_waiters() {
  Transaction tx(this);
  for (auto& [token, w] : waiters_) {
    effects_.push_back(ReplyError{token, Error::kAborted});
  }
  waiters_.clear();  // queues keep stale tokens; front_waiter skips them
}

void Broker::expire(std::chrono::steady_clock::time_point now) {
  Transaction tx(this);
  std::vector<Connection*> expired;
  for (auto& [id, conn] : conns_) {
    if (conn->state == ConnState::kPending && conn->has_deadline &&
        conn->deadline <= now) {
      expired.push_back(conn.get());
    }
  }
  for (Connection* conn : expired) {
    effects_.push_back(ReplyError{conn->open_token, Error::kTimedOut});
    waiters_.erase(conn->open_token);
    withdraw(conn);
  }
}

std::string Broker::stats_text() {
  Transaction tx(this);
  return stats_text_locked();
}

std::string Broker::stats_text_locked() {
  std::ostringstream out;
  std::vector<Port*> ports;
  for (auto& [id, port] : ports_) ports.push_back(port.get());
  std::sort(ports.begin(), ports.end(),
            [](Port* a, Port* b) { return a->id < b->id; });
  for (Port* port : ports) {
    const Node& node = *names_.find(port->ino);
    std::string path = names_.path_of(node);
    char mode[8];
    snprintf(mode, sizeof mode, "0%03o", node.attr.perm);
    out << "port " << path << " owner=" << node.attr.uid
        << " group=" << node.attr.gid << " mode=" << mode
        << " auto_accept=" << (port->auto_accept ? 1 : 0)
        << " pending=" << port->pending
        << " connections=" << port->connections.size()
        << " records=" << port->records.size() << "\n";
    for (auto& [cid, conn] : port->connections) {
      const char* state = "open";
      if (conn->state == ConnState::kPending) {
        state = "pending";
      } else if (conn->state == ConnState::kEnded || conn->client_gone ||
                 conn->server_gone) {
        state = "closed";
      }
      out << "conn " << cid << " port=" << path << " state=" << state
          << " client_pid=" << conn->client.sender.pid
          << " client_uid=" << conn->client.sender.uid
          << " to_server=" << conn->to_server_count << "/"
          << conn->to_server_bytes
          << " to_client=" << conn->client_inbox.messages.size() << "/"
          << conn->client_inbox.bytes << " bound=" << (conn->bound ? 1 : 0)
          << "\n";
    }
  }
  return out.str();
}

size_t Broker::port_count() {
  Transaction tx(this);
  return ports_.size();
}
size_t Broker::connection_count() {
  Transaction tx(this);
  return conns_.size();
}
size_t Broker::waiter_count() {
  Transaction tx(this);
  return waiters_.size();
}
size_t Broker::node_count() {
  Transaction tx(this);
  return names_.size();
}

// ------------------------------------------------------ private, locked

Broker::Handle* Broker::find_handle(HandleId id) {
  auto it = handles_.find(id);
  return it == handles_.end() ? nullptr : &it->second;
}

Broker::Connection* Broker::find_conn(ConnId id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

Broker::Port* Broker::find_port(PortId id) {
  auto it = ports_.find(id);
  return it == ports_.end() ? nullptr : it->second.get();
}

HandleId Broker::new_handle(HandleKind kind, PortId port, ConnId conn) {
  Handle h;
  h.id = ++next_id_;
  h.kind = kind;
  h.port = port;
  h.conn = conn;
  handles_.emplace(h.id, std::move(h));
  return h.id;
}

bool Broker::has_room(const Connection& conn, bool to_client,
                      size_t len) const {
  size_t count =
      to_client ? conn.client_inbox.messages.size() : conn.to_server_count;
  size_t bytes = to_client ? conn.client_inbox.bytes : conn.to_server_bytes;
  if (count == 0) return true;  // a lone message always fits
  return count < limits_.queue_messages && bytes + len <= limits_.queue_bytes;
}

void Broker::deliver_to_server(Connection* conn, Message message) {
  message.id = conn->next_msg_id++;
  conn->to_server_count++;
  conn->to_server_bytes += message.data.size();
  if (conn->bound) {
    bool was_empty = conn->server_inbox.messages.empty();
    conn->server_inbox.bytes += message.data.size();
    conn->server_inbox.messages.push_back(std::move(message));
    serve_messages(conn, false);
    if (was_empty && !conn->server_inbox.messages.empty()) {
      for (HandleId h : conn->server_files) notify_handle(h);
    }
    return;
  }
  Port* port = find_port(conn->port);
  if (!port) return;  // unreachable: server_gone is set when a port closes
  Record r;
  r.type = LPC_REC_MESSAGE;
  r.conn = conn->id;
  r.message = std::move(message);
  queue_record(port, std::move(r));
}

// Wakes a waiting reader first (before the caller answers the writer: the
// reader is the one a round trip waits for), else tells poll.
void Broker::deliver_to_client(Connection* conn, Message message) {
  bool was_empty = conn->client_inbox.messages.empty();
  conn->client_inbox.bytes += message.data.size();
  conn->client_inbox.messages.push_back(std::move(message));
  serve_messages(conn, true);
  if (was_empty && !conn->client_inbox.messages.empty()) {
    notify_handle(conn->client_handle);
  }
}

bool Broker::peer_gone(const Connection& conn, bool client_side) {
  return client_side ? conn.server_gone
                     : (conn.client_gone || conn.server_gone);
}

void Broker::queue_record(Port* port, Record record) {
  bool was_empty = port->records.empty();
  port->records.push_back(std::move(record));
  serve_port_readers(port);
  if (was_empty && !port->records.empty()) notify_port(port);
}

void Broker::serve_port_readers(Port* port) {
  while (!port->records.empty() && front_waiter(port->readers)) {
    Waiter w = take_waiter(port->readers);
    Record& front = port->records.front();
    size_t need = sizeof(lpc_record) + front.message.data.size();
    if (w.size < need) {
      // No partial records: the reader learns the buffer is too small and
      // the record waits for the next read.
      effects_.push_back(ReplyError{w.token, Error::kMessageTooLong});
      continue;
    }
    Record r = std::move(front);
    port->records.pop_front();
    effects_.push_back(ReplyData{
        w.token, encode_record(r.type, r.conn, r.message.id, r.message.sender,
                               r.flags, as_span(r.message.data))});
    Connection* conn = find_conn(r.conn);
    if (!conn) continue;
    switch (r.type) {
      case LPC_REC_CONNECT:
        conn->connect_read = true;
        break;
      case LPC_REC_MESSAGE: {
        bool had_room = has_room(*conn, false, limits_.max_message);
        conn->to_server_count--;
        conn->to_server_bytes -= r.message.data.size();
        conn->awaiting_reply.insert(r.message.id);
        if (conn->awaiting_reply.size() > limits_.reply_window) {
          conn->awaiting_reply.erase(conn->awaiting_reply.begin());
        }
        serve_client_writers(conn);
        if (!had_room) notify_handle(conn->client_handle);
        break;
      }
      case LPC_REC_DISCONNECT:
        conn->disconnect_read = true;
        maybe_reap(conn);
        break;
    }
  }
}

Bytes Broker::take_bytes(MessageQueue& q, size_t size) {
  Message& head = q.messages.front();
  size_t left = head.data.size() - q.head_offset;
  size_t n = std::min(size, left);
  auto first = head.data.begin() + static_cast<ptrdiff_t>(q.head_offset);
  Bytes out(first, first + static_cast<ptrdiff_t>(n));
  q.head_offset += n;
  if (q.head_offset == head.data.size()) {
    q.bytes -= head.data.size();
    q.messages.pop_front();
    q.head_offset = 0;
  }
  return out;
}

void Broker::serve_messages(Connection* conn, bool client_side) {
  MessageQueue& q = client_side ? conn->client_inbox : conn->server_inbox;
  std::deque<Token>& readers =
      client_side ? conn->client_readers : conn->server_readers;
  bool freed = false;
  // Reading on the client side frees room towards the client.
  bool had_room = has_room(*conn, client_side, limits_.max_message);
  while (front_waiter(readers)) {
    if (q.messages.empty() && !peer_gone(*conn, client_side)) break;
    Waiter w = take_waiter(readers);
    if (q.messages.empty()) {
      effects_.push_back(ReplyData{w.token, {}});
      continue;
    }
    size_t before = q.messages.size();
    size_t head_size = q.messages.front().data.size();
    effects_.push_back(ReplyData{w.token, take_bytes(q, w.size)});
    if (q.messages.size() < before && !client_side) {
      conn->to_server_count--;
      conn->to_server_bytes -= head_size;
    }
    freed |= q.messages.size() < before;
  }
  if (!freed) return;
  if (client_side) {
    serve_server_writers(conn);
    if (!had_room) {
      for (HandleId h : conn->server_files) notify_handle(h);
    }
  } else {
    serve_client_writers(conn);
    if (!had_room) notify_handle(conn->client_handle);
  }
}

void Broker::serve_client_writers(Connection* conn) {
  while (Waiter* w = front_waiter(conn->client_writers)) {
    if (conn->server_gone) {
      fail_all(conn->client_writers, Error::kBrokenPipe);
      return;
    }
    if (!has_room(*conn, false, w->message.data.size())) return;
    Waiter taken = take_waiter(conn->client_writers);
    deliver_to_server(conn, std::move(taken.message));
    effects_.push_back(ReplyWritten{taken.token, taken.size});
  }
}

void Broker::serve_server_writers(Connection* conn) {
  while (Waiter* w = front_waiter(conn->server_writers)) {
    if (conn->client_gone || conn->server_gone) {
      fail_all(conn->server_writers, Error::kBrokenPipe);
      return;
    }
    if (!has_room(*conn, true, w->message.data.size())) return;
    Waiter taken = take_waiter(conn->server_writers);
    deliver_to_client(conn, std::move(taken.message));
    effects_.push_back(ReplyWritten{taken.token, taken.size});
  }
}

void Broker::queue_disconnect(Connection* conn, uint32_t reason) {
  if (conn->disconnect_queued) return;
  conn->disconnect_queued = true;
  Port* port = find_port(conn->port);
  if (!port) {
    conn->disconnect_read = true;  // nobody is left to read it
    return;
  }
  Record r;
  r.type = LPC_REC_DISCONNECT;
  r.conn = conn->id;
  r.flags = reason;
  queue_record(port, std::move(r));
}

void Broker::client_closed(Connection* conn) {
  conn->client_handle = 0;
  conn->client_gone = true;
  // Nobody will read what the server sent; the server learns from EPIPE.
  conn->client_inbox = MessageQueue{};
  fail_all(conn->server_writers, Error::kBrokenPipe);
  if (!conn->server_gone) queue_disconnect(conn, LPC_DISCONNECT_CLIENT_CLOSED);
  serve_messages(conn, false);  // .conn readers see EOF once drained
  for (HandleId h : conn->server_files) notify_handle(h);
  maybe_reap(conn);
}

void Broker::drop_unread_to_server(Connection* conn) {
  if (Port* port = find_port(conn->port)) {
    auto& recs = port->records;
    recs.erase(std::remove_if(recs.begin(), recs.end(),
                              [conn](const Record& r) {
                                return r.type == LPC_REC_MESSAGE &&
                                       r.conn == conn->id;
                              }),
               recs.end());
  }
  conn->server_inbox = MessageQueue{};
  conn->to_server_count = 0;
  conn->to_server_bytes = 0;
}

void Broker::server_closed(Connection* conn, uint32_t reason) {
  if (conn->server_gone) return;
  conn->server_gone = true;
  // Like unread data on a closed socket: what the server did not read when
  // it ended the connection is discarded (lpc.7 "BACK-PRESSURE").
  drop_unread_to_server(conn);
  queue_disconnect(conn, reason);
  fail_all(conn->client_writers, Error::kBrokenPipe);
  fail_all(conn->server_writers, Error::kBrokenPipe);
  serve_messages(conn, true);   // client readers: EOF once drained
  serve_messages(conn, false);  // .conn readers: EOF
  notify_conn(conn);
  maybe_reap(conn);
}

void Broker::close_port(Port* port) {
  port->auto_accept = false;
  std::vector<Connection*> conns;
  for (auto& [id, conn] : port->connections) conns.push_back(conn);
  // Mark the port gone first, so nothing is queued on it any more.
  PortId id = port->id;
  Ino ino = port->ino;
  std::unique_ptr<Port> owned = std::move(ports_[id]);
  ports_.erase(id);
  for (Connection* conn : conns) {
    if (conn->state == ConnState::kPending) {
      effects_.push_back(
          ReplyError{conn->open_token, Error::kConnectionRefused});
      waiters_.erase(conn->open_token);
      conn->open_token = 0;
      conn->state = ConnState::kEnded;
      erase_conn(conn);
      continue;
    }
    conn->disconnect_queued = conn->disconnect_read = true;
    server_closed(conn, LPC_DISCONNECT_SERVER_CLOSED);
    // The connection outlives its port while handles are open.
    maybe_reap(conn);
  }
  fail_all(owned->readers, Error::kBadHandle);
  if (Node* node = names_.find(ino)) {
    if (node->object == id) {
      // The name goes with the port; the node itself lives on while the
      // kernel still refers to it.
      names_.drop(node);
    }
  }
}

void Broker::maybe_reap(Connection* conn) {
  if (conn->erased || conn->state == ConnState::kPending) return;
  if (conn->client_handle || !conn->server_files.empty()) return;
  if (!conn->disconnect_read && find_port(conn->port)) return;
  erase_conn(conn);
}

void Broker::erase_conn(Connection* conn) {
  if (conn->erased) return;
  conn->erased = true;
  fail_all(conn->server_writers, Error::kBrokenPipe);
  fail_all(conn->client_writers, Error::kBrokenPipe);
  if (Port* port = find_port(conn->port)) {
    port->connections.erase(conn->id);
    auto& recs = port->records;
    recs.erase(
        std::remove_if(recs.begin(), recs.end(),
                       [conn](const Record& r) { return r.conn == conn->id; }),
        recs.end());
  }
  if (conn->file_ino) {
    if (Node* node = names_.find(conn->file_ino)) {
      names_.drop(node);
    }
  }
  // Unreachable from now on, but freed only when the public call ends:
  // callers up the stack may still hold the pointer.
  auto it = conns_.find(conn->id);
  graveyard_.push_back(std::move(it->second));
  conns_.erase(it);
}

bool Broker::park(Waiter waiter, std::deque<Token>& queue) {
  // Checked under our lock: an interrupt that arrives after this point
  // finds the waiter through cancel(), which also takes the lock.
  if (delegate_->interrupted(waiter.token)) {
    effects_.push_back(ReplyError{waiter.token, Error::kInterrupted});
    return false;
  }
  queue.push_back(waiter.token);
  waiters_.emplace(waiter.token, std::move(waiter));
  return true;
}

Broker::Waiter* Broker::front_waiter(std::deque<Token>& queue) {
  while (!queue.empty()) {
    auto it = waiters_.find(queue.front());
    if (it != waiters_.end()) return &it->second;
    queue.pop_front();  // cancelled: cancel() removed only the waiter
  }
  return nullptr;
}

Broker::Waiter Broker::take_waiter(std::deque<Token>& queue) {
  auto it = waiters_.find(queue.front());
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  queue.pop_front();
  return w;
}

void Broker::fail_all(std::deque<Token>& queue, Error error) {
  while (front_waiter(queue)) {
    Waiter w = take_waiter(queue);
    effects_.push_back(ReplyError{w.token, error});
  }
}

void Broker::notify_handle(HandleId id) {
  if (!id) return;
  Handle* h = find_handle(id);
  if (h && h->poll) effects_.push_back(NotifyPoll{h->poll});
}

void Broker::notify_conn(Connection* conn) {
  notify_handle(conn->client_handle);
  for (HandleId h : conn->server_files) notify_handle(h);
}

void Broker::notify_port(Port* port) { notify_handle(port->server_handle); }

uint32_t Broker::readiness(const Handle& h) {
  switch (h.kind) {
    case HandleKind::kServer: {
      Port* port = find_port(h.port);
      if (!port) return POLLHUP;
      return POLLOUT | (port->records.empty() ? 0 : POLLIN);
    }
    case HandleKind::kClient: {
      Connection* conn = find_conn(h.conn);
      if (!conn || peer_gone(*conn, true)) return POLLIN | POLLHUP;
      uint32_t mask = 0;
      if (!conn->client_inbox.messages.empty()) mask |= POLLIN;
      if (has_room(*conn, false, limits_.max_message)) mask |= POLLOUT;
      return mask;
    }
    case HandleKind::kServerConnection: {
      Connection* conn = find_conn(h.conn);
      if (!conn || peer_gone(*conn, false)) return POLLIN | POLLHUP;
      uint32_t mask = 0;
      if (!conn->server_inbox.messages.empty()) mask |= POLLIN;
      if (has_room(*conn, true, limits_.max_message)) mask |= POLLOUT;
      return mask;
    }
    case HandleKind::kStats:
      return POLLIN;
  }
  return 0;
}

}  // namespace lpc
