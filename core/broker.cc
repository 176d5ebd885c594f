#include "broker.h"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "broker_internal.h"
#include "context_change.h"
#include "server_command.h"
#include "transfer.h"

namespace lpc {

Broker::Broker(BrokerDelegate* delegate, Limits limits, WindowTable* windows,
               SectionMemoryFactory section_memory)
    : delegate_(delegate),
      limits_(limits),
      sections_(section_memory),
      windows_(windows) {}

void Broker::SetLogLevel(LogLevel level) {
  std::lock_guard lock(mu_);
  outbox_.set_log_level(level);
}

Broker::~Broker() {
  // Poll handles belong to the delegate: give them back.
  tables_.handles.ForEach([this](const Handle& h) {
    if (h.poll) delegate_->DropPoll(h.poll);
  });
}

// ------------------------------------------------------------ open

void Broker::Open(Token token, NodeId ino, int open_flags,
                  const Caller& caller) {
  Transaction tx(this);
  auto open = std::make_unique<OpenRequest>(token);
  Node* node = names_.Find(ino);
  if (!node) return outbox_.Fail(std::move(open), Error::kNotFound);
  switch (node->attr.kind) {
    case NodeKind::kPort:
      return Connect(std::move(open), *node, open_flags, caller);
    case NodeKind::kConnectionFile: {
      Connection* conn = tables_.FindConnection(node->conn);
      if (!conn) return outbox_.Fail(std::move(open), Error::kNotConnected);
      return OpenServerFile(std::move(open), *conn, open_flags);
    }
    case NodeKind::kStatsFile: {
      if ((open_flags & O_ACCMODE) != O_RDONLY) {
        return outbox_.Fail(std::move(open), Error::kNotPermitted);
      }
      // Each open holds a snapshot until it is closed: a user may hold
      // only so many (lpc.7 "STATS").
      uint32_t uid = caller.sender.uid;
      if (tables_.handles.StatsHandlesOf(uid) >= limits_.stats_handles) {
        return outbox_.Fail(std::move(open), Error::kTooManyOpen);
      }
      HandleId h =
          tables_.NewHandle(HandleKind::kStats, PortId(), ConnId(), O_RDONLY);
      Handle* handle = tables_.handles.Find(h);
      handle->snapshot = Stats(StatsReader(caller));
      handle->reader_uid = uid;
      return outbox_.Opened(std::move(open), {h, false});
    }
    case NodeKind::kMonitorFile:
      return OpenMonitor(std::move(open), open_flags, caller);
    case NodeKind::kSection:
      return OpenSection(std::move(open), *node, open_flags);
    case NodeKind::kDirectory:
      return outbox_.Fail(std::move(open), Error::kIsDirectory);
  }
}

void Broker::Connect(std::unique_ptr<OpenRequest> open, Node& node,
                     int open_flags, const Caller& caller) {
  ServerPort* port = tables_.FindPort(node.port);
  auto refuse = [&](Error why, std::string detail) {
    MonitorRefused(node.attr.ino, caller.sender, why);
    if (port) {
      ++port->counters().refused;
      LogEvent(EventKind::kConnectRefused, *port, 0, caller.sender, why,
               std::move(detail));
    } else {
      outbox_.Log({EventKind::kConnectRefused, names_.PathOf(node), 0,
                   caller.sender, why, std::move(detail)});
    }
    outbox_.Fail(std::move(open), why);
  };
  auto over_quota = [&](Error why, uint32_t uid, QuotaKind kind) {
    MonitorRefused(node.attr.ino, caller.sender, why);
    ++port->counters().refused;
    LogQuota(PortPath(*port), uid, kind);
    outbox_.Fail(std::move(open), why);
  };
  if (!port) return refuse(Error::kConnectionRefused, "no server");
  // An unlinked port takes no new connections (lpc.7 "Unlinking and
  // renaming"), also through a name that skips the lookup, such as
  // /proc/self/fd/N of one of its handles.
  if (!node.linked) return refuse(Error::kConnectionRefused, "port unlinked");
  if (port->requests().size() >= limits_.backlog) {
    return refuse(Error::kWouldBlock,
                  "backlog of " + std::to_string(limits_.backlog) + " full");
  }
  // lpc.7 "QUOTAS": a port whose server reaps slowly holds at most
  // port_connections; beyond that it is busy, as a full backlog is.
  if (port->connections().size() >= limits_.port_connections) {
    return refuse(Error::kWouldBlock, "port_connections limit reached");
  }
  // The client is charged a connection (and a pending request until it is
  // answered), the port's owner a served connection. Each charge is
  // released when the Connection holding it is reaped, on every path.
  const uint32_t owner = names_.Find(port->node())->attr.uid;
  auto client = quota_.Charge(caller.sender.uid, QuotaKind::kClientConnections);
  if (!client) {
    return over_quota(client.error(), caller.sender.uid,
                      QuotaKind::kClientConnections);
  }
  auto served = quota_.Charge(owner, QuotaKind::kServedConnections);
  if (!served) {
    return over_quota(served.error(), owner, QuotaKind::kServedConnections);
  }
  QuotaCharge pending;
  if (!port->auto_accept()) {
    auto charged = quota_.Charge(caller.sender.uid, QuotaKind::kPending);
    if (!charged) {
      return over_quota(charged.error(), caller.sender.uid,
                        QuotaKind::kPending);
    }
    pending = std::move(charged.value());
  }
  // An auto-accepted open never waits, so a signal cannot interrupt it.
  if (!port->auto_accept() && delegate_->Interrupted(open->token())) {
    return outbox_.Fail(std::move(open), Error::kInterrupted);
  }
  uint32_t flags = 0;
  int mode = open_flags & O_ACCMODE;
  if (mode == O_RDONLY || mode == O_RDWR) flags |= LPC_CONNECT_READ;
  if (mode == O_WRONLY || mode == O_RDWR) flags |= LPC_CONNECT_WRITE;
  if (caller.groups_truncated) flags |= LPC_CONNECT_GROUPS_TRUNCATED;
  ConnId id(tables_.NextId());
  auto owned = std::make_unique<Connection>(id, port->id(), caller, flags,
                                            limits_, context_, &quota_);
  Connection& conn = *owned;
  conn.set_since(Now().sec);
  conn.HoldCharges(std::move(client.value()), std::move(served.value()),
                   std::move(pending));
  tables_.connections.emplace(id, std::move(owned));
  port->AddConnection(&conn);
  Monitor(*port, LPC_MON_CONNECT, conn, caller.sender, flags);
  if (port->auto_accept()) {
    router_.QueueRecord(*port,
                        {LPC_REC_CONNECT, id, flags | LPC_CONNECT_ACCEPTED});
    return Accept(conn, std::move(open));
  }
  port->AddRequest(id);
  if (limits_.connect_timeout_ms) {
    conn.set_deadline(Connection::Clock::now() +
                      std::chrono::milliseconds(limits_.connect_timeout_ms));
  }
  conn.open_request().PushBack(std::move(open));
  router_.QueueRecord(*port, {LPC_REC_CONNECT, id, flags});
}

void Broker::Accept(Connection& conn, std::unique_ptr<OpenRequest> open) {
  if (!open) open = conn.open_request().PopFront();
  ServerPort* port = tables_.FindPort(conn.port());
  conn.Accept();
  port->RemoveRequest(conn.id());
  Monitor(*port, LPC_MON_ACCEPT, conn, conn.client().sender,
          port->auto_accept() ? LPC_CONNECT_ACCEPTED : 0);
  // The connection file belongs to whoever owns the port now.
  const Attr& owner = names_.Find(port->node())->attr;
  auto file = names_.Add(names_.conn_dir(), std::to_string(conn.id().value()),
                         NodeKind::kConnectionFile, 0600, owner.uid, owner.gid);
  if (file) {
    file.value()->conn = conn.id();
    conn.set_file_node(file.value()->attr.ino);
  }
  HandleId client =
      tables_.NewHandle(HandleKind::kClient, port->id(), conn.id());
  conn.set_client_handle(client);
  outbox_.Opened(std::move(open), {client, true});
}

void Broker::Reject(Connection& conn, Error why) {
  outbox_.Fail(conn.open_request().PopFront(), why);
  conn.Refuse();
  ServerPort* port = tables_.FindPort(conn.port());
  ++port->counters().refused;
  Monitor(*port, LPC_MON_REJECT, conn, conn.client().sender,
          LPC_MONITOR_BY_SERVER, ToErrno(why));
  LogEvent(EventKind::kConnectRefused, *port, conn.id().value(),
           conn.client().sender, why, "rejected by the server");
  port->RemoveRequest(conn.id());
  // lpc.7: a rejected request ends there, with no DISCONNECT record.
  port->records().RemoveAllOf(conn.id());
  conn.Advance(Notice::kDone);
  tables_.Touch(conn);
}

void Broker::Withdraw(Connection& conn) {
  conn.Refuse();
  ServerPort* port = tables_.FindPort(conn.port());
  port->RemoveRequest(conn.id());
  if (conn.notice() == Notice::kConnectUnread) {
    // The server never heard of it: it leaves no trace.
    port->records().RemoveAllOf(conn.id());
    conn.Advance(Notice::kDone);
  } else {
    QueueDisconnect(conn, LPC_DISCONNECT_WITHDRAWN);
  }
  tables_.Touch(conn);
}

void Broker::OpenServerFile(std::unique_ptr<OpenRequest> open, Connection& conn,
                            int open_flags) {
  if (conn.server_gone()) {
    return outbox_.Fail(std::move(open), Error::kNotConnected);
  }
  if (!conn.bound()) {
    // From now on the client's messages are read from .conn/ID. They wait
    // in the channel already; only their records go.
    conn.Bind();
    if (ServerPort* port = tables_.FindPort(conn.port())) {
      port->records().RemoveMessagesOf(conn.id());
    }
  }
  HandleId h = tables_.NewHandle(HandleKind::kServerConnection, conn.port(),
                                 conn.id(), open_flags);
  conn.AddServerFile(h);
  outbox_.Opened(std::move(open), {h, true});
}

// ------------------------------------------------------------ read

void Broker::Read(Token token, HandleId handle, size_t size, uint64_t offset,
                  bool nonblock) {
  Transaction tx(this);
  auto read = std::make_unique<ReadRequest>(token, size, offset, nonblock);
  Handle* h = tables_.handles.Find(handle);
  if (!h) return outbox_.Fail(std::move(read), Error::kBadHandle);
  switch (h->kind) {
    case HandleKind::kServer: {
      ServerPort* port = tables_.FindPort(h->port);
      if (!port) return outbox_.Fail(std::move(read), Error::kBadHandle);
      return router_.ReadRecords(std::move(read), *port);
    }
    case HandleKind::kClient:
    case HandleKind::kServerConnection: {
      Connection* conn = tables_.FindConnection(h->conn);
      // A connection lives while one of its handles is open.
      if (!conn) return outbox_.Fail(std::move(read), Error::kBadHandle);
      Direction d = h->kind == HandleKind::kClient ? Direction::kToClient
                                                   : Direction::kToServer;
      return router_.ReadMessages(std::move(read), *conn, d);
    }
    case HandleKind::kMonitor:
      return ReadMonitor(std::move(read), handle);
    case HandleKind::kStats: {
      // Rendered here, only the bytes asked for (core/stats_snapshot.h).
      std::string text = h->snapshot.Read(offset, size);
      auto* p = reinterpret_cast<const std::byte*>(text.data());
      return outbox_.Data(std::move(read), Bytes(p, p + text.size()));
    }
  }
}

// ------------------------------------------------------------ write

void Broker::Write(Token token, HandleId handle,
                   std::span<const std::byte> data, bool nonblock,
                   const Writer& writer) {
  const Sender& sender = writer.sender;
  Transaction tx(this);
  auto write = std::make_unique<WriteRequest>(token, data.size(), nonblock);
  // Queued bytes count against the writer's quota (lpc.7 "QUOTAS").
  write->message.writer_uid = sender.uid;
  Handle* h = tables_.handles.Find(handle);
  if (!h) return outbox_.Fail(std::move(write), Error::kBadHandle);
  switch (h->kind) {
    case HandleKind::kStats:
    case HandleKind::kMonitor:
      return outbox_.Fail(std::move(write), Error::kNotPermitted);
    case HandleKind::kServer: {
      ServerPort* port = tables_.FindPort(h->port);
      if (!port) return outbox_.Fail(std::move(write), Error::kBadHandle);
      return WriteCommand(std::move(write), *port, data, sender);
    }
    case HandleKind::kClient:
    case HandleKind::kServerConnection: {
      Connection* conn = tables_.FindConnection(h->conn);
      if (data.size() > MaxMessageOf(conn)) {
        return outbox_.Fail(std::move(write), Error::kMessageTooLong);
      }
      if (data.empty()) return outbox_.Written(std::move(write));
      if (!conn) return outbox_.Fail(std::move(write), Error::kBrokenPipe);
      write->message.sender = sender;
      write->message.data.assign(data.begin(), data.end());
      Direction d = h->kind == HandleKind::kClient ? Direction::kToServer
                                                   : Direction::kToClient;
      if (d == Direction::kToServer) {
        write->message.flags = ContextChangeFlags(conn->client(), writer);
      }
      return router_.Send(std::move(write), *conn, d);
    }
  }
}

void Broker::WriteCommand(std::unique_ptr<WriteRequest> write, ServerPort& port,
                          std::span<const std::byte> data,
                          const Sender& sender) {
  RecordFault fault;
  auto decoded = DecodeServerCommand(data, port.max_message(), &fault);
  if (!decoded) {
    ++port.counters().rejected_records;
    LogRecordFault(port, data, sender, decoded.error(), fault);
    return outbox_.Fail(std::move(write), decoded.error());
  }
  const ServerCommand& cmd = decoded.value();
  auto [decision, conn] = Decide(port, cmd);
  switch (decision.action) {
    case CommandAction::kFail:
      ++port.counters().rejected_records;
      return outbox_.Fail(std::move(write), decision.error);
    case CommandAction::kSend: {
      write->message = CommandMessage(cmd, sender);
      Status attached =
          Attach(*conn, Direction::kToClient, write->message, false);
      if (!attached) {
        ++port.counters().rejected_records;
        return outbox_.Fail(std::move(write), attached.error());
      }
      if (cmd.type == LPC_REC_REPLY) {
        conn->replies().Take(cmd.msg_id);
        return router_.Reply(std::move(write), *conn);
      }
      return router_.Send(std::move(write), *conn, Direction::kToClient);
    }
    default: {
      Status applied =
          ApplyControl(port, conn, cmd, decision.action, decision.error);
      if (!applied) return outbox_.Fail(std::move(write), applied.error());
      return outbox_.Written(std::move(write));
    }
  }
}

Broker::DecidedCommand Broker::Decide(ServerPort& port,
                                      const ServerCommand& cmd) {
  Connection* conn = nullptr;
  if (cmd.type != LPC_REC_PORT_OPTIONS) {
    conn = tables_.FindConnection(ConnId(cmd.conn_id));
    if (conn && conn->port() != port.id()) conn = nullptr;
  }
  CommandTarget target;
  if (conn) {
    target = {true, conn->stage(), conn->replies().Awaits(cmd.msg_id)};
  }
  return {DecideServerCommand(cmd, target), conn};
}

Status Broker::ApplyControl(ServerPort& port, Connection* conn,
                            const ServerCommand& cmd, CommandAction action,
                            Error why) {
  switch (action) {
    case CommandAction::kSetOptions:
      if (!cmd.payload.empty()) {
        lpc_port_limits limits;
        std::memcpy(&limits, cmd.payload.data(), sizeof limits);
        if (limits.max_message != 0) {
          // A lone message must fit its writer's bytes quota, or it would
          // wait for good (lpc.7 "QUOTAS").
          if (limits.max_message > limits_.quota[QuotaKind::kBytes]) {
            return Error::kInvalid;
          }
          port.set_max_message(limits.max_message);
        }
      }
      port.set_auto_accept(cmd.flags & LPC_PORT_AUTO_ACCEPT);
      port.set_read_batches(cmd.flags & LPC_PORT_READ_BATCHES);
      if (port.auto_accept()) {
        // Accepts every request pending now (lpc.7 "Auto-accept").
        std::vector<ConnId> pending(port.requests().begin(),
                                    port.requests().end());
        for (ConnId id : pending) Accept(*tables_.FindConnection(id));
      }
      return Ok{};
    case CommandAction::kAccept:
      Accept(*conn);
      return Ok{};
    case CommandAction::kReject:
      Reject(*conn, why);
      return Ok{};
    case CommandAction::kDisconnect:
      EndServerSide(*conn, LPC_DISCONNECT_SERVER_CLOSED);
      return Ok{};
    case CommandAction::kFail:
    case CommandAction::kSend:
      return Ok{};  // not controls: the callers handle them
  }
  return Ok{};
}

Message Broker::CommandMessage(const ServerCommand& cmd, const Sender& sender) {
  Message m;
  m.sender = sender;
  m.writer_uid = sender.uid;
  if (cmd.type == LPC_REC_REPLY) m.id = cmd.msg_id;
  m.data.assign(cmd.payload.begin(), cmd.payload.end());
  m.attributes = cmd.attributes;
  return m;
}

size_t Broker::MaxMessageOf(const Connection* conn) {
  const ServerPort* port = conn ? tables_.FindPort(conn->port()) : nullptr;
  return port ? port->max_message() : limits_.max_message;
}

Status Broker::Attach(Connection& conn, Direction direction, Message& message,
                      bool call) {
  if (message.attributes.empty()) return Ok{};
  if (message.attributes.view) {
    lpc_view& view = *message.attributes.view;
    Status begun = BeginView(conn, direction, view, message.sender);
    if (!begun) return begun;
    // The message holds it while queued, then the connection (core/
    // message_attributes.h); whoever lets go last ends it.
    message.attachments.emplace_back(&view_ends_, view.id);
  }
  if (lpc_window* w =
          message.attributes.window ? &*message.attributes.window : nullptr) {
    // DecodeAttributes lets a window through in a call's message only.
    if (!call || direction != Direction::kToServer) return Error::kInvalid;
    if (!windows_) return Error::kNotSupported;
    ServerPort* port = tables_.FindPort(conn.port());
    if (!port) return Error::kBrokenPipe;
    // The window file belongs to whoever owns the port now, as .conn/ID.
    const Attr& owner = names_.Find(port->node())->attr;
    WindowSpec spec;
    spec.conn = conn.id();
    spec.client = message.sender;
    spec.address = w->address;
    spec.length = w->length;
    spec.access = w->access;
    spec.server_uid = owner.uid;
    spec.server_gid = owner.gid;
    auto id = windows_->Attach(spec);
    if (!id) return id.error();
    // The server reads the id in the record; the window lives as long as
    // this Attachment: queued with the message, then kept by the
    // connection until the call is answered or ends (EndCall,
    // MessageRouter::Reply, EndServerSide).
    w->id = id.value();
    message.attachments.emplace_back(windows_, id.value());
  }
  return Ok{};
}

Status Broker::ApplyCommand(ServerPort& port, const ServerCommand& cmd,
                            const Sender& sender) {
  auto [decision, conn] = Decide(port, cmd);
  switch (decision.action) {
    case CommandAction::kFail:
      ++port.counters().rejected_records;
      return decision.error;
    case CommandAction::kSend: {
      Message m = CommandMessage(cmd, sender);
      Status attached = Attach(*conn, Direction::kToClient, m, false);
      if (!attached) {
        ++port.counters().rejected_records;
        return attached;
      }
      if (cmd.type == LPC_REC_REPLY) {
        conn->replies().Take(cmd.msg_id);
        return router_.ReplyNow(*conn, std::move(m));
      }
      return router_.SendNow(*conn, Direction::kToClient, std::move(m));
    }
    default:
      return ApplyControl(port, conn, cmd, decision.action, decision.error);
  }
}

// ------------------------------------------------------------ ioctls

void Broker::SetDeadline(Token token, uint32_t timeout_ms) {
  if (timeout_ms == 0) return;
  // An entry outlives a request answered earlier: Expire() then finds no
  // request under its token (tokens are never reused) and drops it.
  deadlines_.emplace(
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms),
      token);
}

void Broker::Call(Token token, HandleId handle,
                  std::span<const std::byte> buffer, const Writer& writer) {
  Transaction tx(this);
  auto decoded = DecodeTransfer(buffer);
  // LPC_TRANSFER_NO_WAIT: fail EAGAIN rather than wait for queue room.
  bool nonblock = decoded && (decoded->flags() & LPC_TRANSFER_NO_WAIT);
  // The room of data[] less the reply's record header.
  size_t room = decoded ? decoded->room : 0;
  size_t reply_room = room > sizeof(lpc_record) ? room - sizeof(lpc_record) : 0;
  auto call = std::make_unique<CallRequest>(token, reply_room, nonblock);
  Handle* h = tables_.handles.Find(handle);
  if (!h) return outbox_.Fail(std::move(call), Error::kBadHandle);
  if (h->kind != HandleKind::kClient) {
    return outbox_.Fail(std::move(call), Error::kNotTty);
  }
  if (!decoded) return outbox_.Fail(std::move(call), decoded.error());
  const TransferInput& in = decoded.value();
  if ((in.flags() & ~uint32_t{LPC_TRANSFER_NO_WAIT}) ||
      in.echo.max_records > 1 || room < sizeof(lpc_record)) {
    return outbox_.Fail(std::move(call), Error::kInvalid);
  }
  Connection* conn = tables_.FindConnection(h->conn);
  if (!conn) return outbox_.Fail(std::move(call), Error::kBrokenPipe);
  constexpr uint32_t kBoth = LPC_CONNECT_READ | LPC_CONNECT_WRITE;
  if ((conn->connect_flags() & kBoth) != kBoth) {
    return outbox_.Fail(std::move(call), Error::kBadHandle);
  }
  RecordCursor cursor(in.send);
  auto record = cursor.done()
                    ? Result<std::span<const std::byte>>(Error::kInvalid)
                    : cursor.Next();
  if (!record || !cursor.done()) {
    return outbox_.Fail(std::move(call), Error::kInvalid);
  }
  auto decoded_message = DecodeClientMessage(record.value(), MaxMessageOf(conn),
                                             AttributeSite::kClientCall);
  if (!decoded_message) {
    return outbox_.Fail(std::move(call), decoded_message.error());
  }
  const DecodedAttributes& payload = decoded_message.value();
  call->counts = in.echo;
  call->message.sender = writer.sender;
  call->message.writer_uid = writer.sender.uid;
  call->message.data.assign(payload.message.begin(), payload.message.end());
  call->message.flags =
      ContextChangeFlags(conn->client(), writer) | LPC_MESSAGE_CALL;
  call->message.attributes = payload.attributes;
  if (conn->carrying()) {
    Status attached =
        Attach(*conn, Direction::kToServer, call->message, /*call=*/true);
    if (!attached) return outbox_.Fail(std::move(call), attached.error());
  }
  SetDeadline(token, in.echo.timeout_ms);
  router_.Send(std::move(call), *conn, Direction::kToServer);
}

void Broker::Transfer(Token token, HandleId handle,
                      std::span<const std::byte> buffer, const Writer& writer) {
  Transaction tx(this);
  auto decoded = DecodeTransfer(buffer);
  size_t room = decoded ? decoded->room : 0;
  bool no_wait = decoded && (decoded->flags() & LPC_TRANSFER_NO_WAIT);
  auto receive = std::make_unique<ReceiveRequest>(token, room, no_wait);
  Handle* h = tables_.handles.Find(handle);
  if (!h) return outbox_.Fail(std::move(receive), Error::kBadHandle);
  if (h->kind == HandleKind::kStats || h->kind == HandleKind::kMonitor) {
    return outbox_.Fail(std::move(receive), Error::kNotTty);
  }
  if (!decoded) return outbox_.Fail(std::move(receive), decoded.error());
  const TransferInput& in = decoded.value();
  TransferCounts& counts = receive->counts;
  counts = in.echo;
  const bool receiving = !(in.flags() & LPC_TRANSFER_NO_RECEIVE);
  // A receive needs room for one record header at least.
  if (receiving && in.room < sizeof(lpc_record)) {
    return outbox_.Fail(std::move(receive), Error::kInvalid);
  }
  // The open mode, as read(2) and write(2) have it checked by the kernel:
  // sending needs write, receiving read access.
  bool may_read = h->access != O_WRONLY, may_write = h->access != O_RDONLY;
  if (h->kind == HandleKind::kClient) {
    Connection* conn = tables_.FindConnection(h->conn);
    if (!conn) return outbox_.Fail(std::move(receive), Error::kBrokenPipe);
    may_read = conn->connect_flags() & LPC_CONNECT_READ;
    may_write = conn->connect_flags() & LPC_CONNECT_WRITE;
  }
  if ((!in.send.empty() && !may_write) || (receiving && !may_read)) {
    return outbox_.Fail(std::move(receive), Error::kBadHandle);
  }
  {
    RecordCursor cursor(in.send);
    MessageRouter::BatchScope batch(router_);
    while (!cursor.done()) {
      auto record = cursor.Next();
      Status done = record ? SendRecord(*h, record.value(), writer, counts)
                           : Status(record.error());
      if (!done) {
        counts.send_error = done.error();
        break;
      }
      ++counts.sent;
    }
  }  // what the batch made ready is served here, before this receive
  // Nothing took effect: the ioctl fails as a write(2) of it would.
  if (counts.send_error && counts.sent == 0) {
    return outbox_.Fail(std::move(receive), *counts.send_error);
  }
  if (counts.send_error || !receiving) {
    Bytes out = TransferOutput(0, 0).Finish(counts);
    return outbox_.Transferred(std::move(receive), std::move(out));
  }
  SetDeadline(token, in.echo.timeout_ms);
  switch (h->kind) {
    case HandleKind::kServer: {
      ServerPort* port = tables_.FindPort(h->port);
      if (!port) return outbox_.Fail(std::move(receive), Error::kBadHandle);
      return router_.Receive(std::move(receive), *port);
    }
    case HandleKind::kClient:
    case HandleKind::kServerConnection: {
      Connection* conn = tables_.FindConnection(h->conn);
      if (!conn) return outbox_.Fail(std::move(receive), Error::kBadHandle);
      Direction d = h->kind == HandleKind::kClient ? Direction::kToClient
                                                   : Direction::kToServer;
      return router_.Receive(std::move(receive), *conn, d);
    }
    case HandleKind::kStats:
    case HandleKind::kMonitor:
      return;  // refused above
  }
}

Status Broker::SendRecord(const Handle& h, std::span<const std::byte> record,
                          const Writer& writer, TransferCounts& counts) {
  switch (h.kind) {
    case HandleKind::kServer: {
      ServerPort* port = tables_.FindPort(h.port);
      if (!port) return Error::kBadHandle;
      RecordFault fault;
      auto cmd = DecodeServerCommand(record, port->max_message(), &fault);
      if (!cmd) {
        ++port->counters().rejected_records;
        LogRecordFault(*port, record, writer.sender, cmd.error(), fault);
        return cmd.error();
      }
      return ApplyCommand(*port, cmd.value(), writer.sender);
    }
    case HandleKind::kServerConnection: {
      // Records of this one connection: its id, or 0 for it.
      Bytes own(record.begin(), record.end());
      lpc_record header;
      std::memcpy(&header, own.data(), sizeof header);
      if (header.conn_id == 0) header.conn_id = h.conn.value();
      if (header.conn_id != h.conn.value()) return Error::kInvalid;
      if (header.type != LPC_REC_SEND && header.type != LPC_REC_REPLY &&
          header.type != LPC_REC_DISCONNECT) {
        return Error::kInvalid;
      }
      std::memcpy(own.data(), &header, sizeof header);
      Connection* conn = tables_.FindConnection(h.conn);
      ServerPort* port = conn ? tables_.FindPort(conn->port()) : nullptr;
      auto cmd = DecodeServerCommand(own, MaxMessageOf(conn));
      if (!cmd) return cmd.error();
      // Once the connection has ended, as a write(2) of the file says.
      if (!port || !conn->carrying()) return Error::kBrokenPipe;
      return ApplyCommand(*port, cmd.value(), writer.sender);
    }
    case HandleKind::kClient: {
      Connection* conn = tables_.FindConnection(h.conn);
      auto decoded = DecodeClientMessage(record, MaxMessageOf(conn),
                                         AttributeSite::kClientTransfer);
      if (!decoded) return decoded.error();
      if (!conn) return Error::kBrokenPipe;
      Message m;
      m.sender = writer.sender;
      m.writer_uid = writer.sender.uid;
      m.flags = ContextChangeFlags(conn->client(), writer);
      m.data.assign(decoded->message.begin(), decoded->message.end());
      m.attributes = decoded->attributes;
      if (!conn->carrying()) return Error::kBrokenPipe;
      Status attached = Attach(*conn, Direction::kToServer, m, false);
      if (!attached) return attached;
      uint64_t id = 0;
      Status sent =
          router_.SendNow(*conn, Direction::kToServer, std::move(m), &id);
      if (sent && counts.sent == 0) counts.first_msg_id = id;
      return sent;
    }
    case HandleKind::kStats:
    case HandleKind::kMonitor:
      return Error::kNotTty;
  }
  return Error::kInvalid;
}

// ------------------------------------------------------------ ending

void Broker::QueueDisconnect(Connection& conn, uint32_t reason) {
  if (conn.notice() >= Notice::kDisconnectQueued) return;
  ServerPort* port = tables_.FindPort(conn.port());
  if (!port) {
    conn.Advance(Notice::kDone);  // nobody is left to read it
    return;
  }
  conn.Advance(Notice::kDisconnectQueued);
  router_.QueueRecord(*port, {LPC_REC_DISCONNECT, conn.id(), reason});
}

void Broker::ClientClosed(Connection& conn) {
  bool server_there = !conn.server_gone();
  conn.set_client_handle(HandleId());
  conn.EndClient();
  if (ServerPort* port = tables_.FindPort(conn.port())) {
    Monitor(*port, LPC_MON_DISCONNECT, conn, conn.client().sender,
            LPC_DISCONNECT_CLIENT_CLOSED);
  }
  // Nobody will read what the server sent; the server learns from EPIPE.
  Channel& to_client = conn.channel(Direction::kToClient);
  to_client.queue().Clear();
  to_client.FailWriters(outbox_, Error::kBrokenPipe);
  if (server_there) QueueDisconnect(conn, LPC_DISCONNECT_CLIENT_CLOSED);
  router_.ServeReaders(conn, Direction::kToServer);  // EOF once drained
  router_.Notify(conn.server_files());
  tables_.Touch(conn);
}

void Broker::EndServerSide(Connection& conn, uint32_t reason) {
  if (!conn.EndServer()) return;
  // A closing port tells the monitors itself (ClosePort): it has left the
  // table already.
  if (ServerPort* port = tables_.FindPort(conn.port())) {
    Monitor(*port, LPC_MON_DISCONNECT, conn, port->server(), reason);
  }
  // Like unread data on a closed socket: what the server did not read when
  // it ended the connection is discarded (lpc.7 "BACK-PRESSURE").
  conn.channel(Direction::kToServer).queue().Clear();
  if (ServerPort* port = tables_.FindPort(conn.port())) {
    port->records().RemoveMessagesOf(conn.id());
  }
  QueueDisconnect(conn, reason);
  // No reply will come to a call (lpc.7 "IOCTLS": EPIPE), and what the
  // calls attached ends with them (lpc.7 "MEMORY WINDOWS").
  for (uint64_t id : conn.calls().FailAll(outbox_, Error::kBrokenPipe)) {
    conn.ReleaseDelivered(id);
  }
  for (Direction d : {Direction::kToServer, Direction::kToClient}) {
    conn.channel(d).FailWriters(outbox_, Error::kBrokenPipe);
    router_.ServeReaders(conn, d);  // EOF once drained
  }
  router_.Notify(conn.Handles());
  tables_.Touch(conn);
}

void Broker::ClosePort(PortId id) {
  auto it = tables_.ports.find(id);
  if (it == tables_.ports.end()) return;
  // Gone from the table first, so nothing is queued on it any more.
  std::unique_ptr<ServerPort> port = std::move(it->second);
  tables_.ports.erase(it);
  const std::string path = PortPath(*port);
  outbox_.Log({EventKind::kPortClosed,
               path,
               0,
               port->server(),
               Error::kConnectionRefused,
               {}});
  std::vector<Connection*> conns;
  for (auto& [conn_id, conn] : port->connections()) conns.push_back(conn);
  for (Connection* conn : conns) {
    // No one is left to read its records.
    conn->Advance(Notice::kDone);
    if (conn->pending()) {
      Monitor(*port, LPC_MON_REJECT, *conn, conn->client().sender, 0,
              ToErrno(Error::kConnectionRefused));
      outbox_.Log({EventKind::kConnectRefused, path, conn->id().value(),
                   conn->client().sender, Error::kConnectionRefused,
                   "the port closed"});
      outbox_.Fail(conn->open_request().PopFront(), Error::kConnectionRefused);
      conn->Refuse();
    } else {
      if (!conn->server_gone()) {
        Monitor(*port, LPC_MON_DISCONNECT, *conn, port->server(),
                LPC_DISCONNECT_SERVER_CLOSED);
      }
      // The connection outlives its port while its handles are open.
      EndServerSide(*conn, LPC_DISCONNECT_SERVER_CLOSED);
    }
    tables_.Touch(*conn);
  }
  while (!port->readers().empty()) {
    outbox_.Fail(port->readers().PopFront(), Error::kBadHandle);
  }
  if (Node* node = names_.Find(port->node()); node && node->port == id) {
    // The name goes with the port; the node itself lives on while the
    // kernel still refers to it.
    names_.Drop(node);
  }
}

std::string Broker::PortPath(const ServerPort& port) {
  Node* node = names_.Find(port.node());
  return node ? names_.PathOf(*node) : std::string("(unlinked)");
}

void Broker::LogEvent(EventKind kind, const ServerPort& port, uint64_t conn,
                      const Sender& who, Error error, std::string detail) {
  outbox_.Log({kind, PortPath(port), conn, who, error, std::move(detail)});
}

void Broker::LogQuota(const std::string& path, uint32_t uid, QuotaKind kind) {
  Sender who;
  who.uid = uid;
  outbox_.Log({EventKind::kQuotaExceeded, path, 0, who, Error::kQuotaExceeded,
               std::string(QuotaOptionName(kind)) + " used up"});
}

void Broker::LogRecordFault(const ServerPort& port,
                            std::span<const std::byte> data,
                            const Sender& writer, Error error,
                            const RecordFault& fault) {
  // The connection the record names, if its header is there to say.
  uint64_t conn = 0;
  lpc_record h;
  if (data.size() >= sizeof h) {
    std::memcpy(&h, data.data(), sizeof h);
    conn = h.conn_id;
  }
  LogEvent(EventKind::kRecordRejected, port, conn, writer, error,
           std::string("field ") + fault.field + " " + fault.why);
}

void Broker::ReapFinished() {
  for (ConnId id : tables_.touched) {
    Connection* conn = tables_.FindConnection(id);
    if (conn && conn->Finished()) Erase(*conn);
  }
  tables_.touched.clear();
}

void Broker::Erase(Connection& conn) {
  ConnId id = conn.id();
  if (ServerPort* port = tables_.FindPort(conn.port())) {
    port->RemoveConnection(id);
    port->records().RemoveAllOf(id);
  }
  if (conn.file_node()) {
    if (Node* node = names_.Find(conn.file_node())) names_.Drop(node);
  }
  tables_.connections.erase(id);
}

void Broker::Release(HandleId handle) {
  Transaction tx(this);
  std::optional<Handle> h = tables_.handles.Take(handle);
  if (!h) return SectionGone(sections_.Close(handle));
  outbox_.DropPoll(h->poll);
  switch (h->kind) {
    case HandleKind::kServer:
      return ClosePort(h->port);
    case HandleKind::kClient:
      if (Connection* conn = tables_.FindConnection(h->conn))
        ClientClosed(*conn);
      return;
    case HandleKind::kServerConnection:
      if (Connection* conn = tables_.FindConnection(h->conn)) {
        conn->RemoveServerFile(handle);
        // lpc.7: the last close of .conn/ID ends the server side.
        if (conn->server_files().empty()) {
          EndServerSide(*conn, LPC_DISCONNECT_SERVER_CLOSED);
        }
        tables_.Touch(*conn);
      }
      return;
    case HandleKind::kStats:
      return;
    case HandleKind::kMonitor:
      return monitors_.Close(handle);
  }
}

// ------------------------------------------------------------ waiting

Broker::Cancelled Broker::Cancel(Token token) {
  Transaction tx(this);
  Request* request = registry_.Find(token);
  if (!request) return {};
  std::unique_ptr<Request> taken = Unpark(*request, Error::kInterrupted);
  Cancelled result{true, std::nullopt};
  if (taken->kind() == RequestKind::kReceive) {
    // A receive whose batch went out reports it rather than failing.
    auto& receive = static_cast<ReceiveRequest&>(*taken);
    if (receive.counts.sent > 0) {
      result.answer = TransferOutput(0, 0).Finish(receive.counts);
    }
  }
  return result;
}

std::unique_ptr<Request> Broker::Unpark(Request& request, Error why) {
  WaitSite site = request.list()->site();
  std::unique_ptr<Request> taken = request.list()->Remove(&request);
  AfterUnpark(site, *taken, why);
  return taken;
}

void Broker::AfterUnpark(const WaitSite& site, Request& request, Error why) {
  Connection* conn = tables_.FindConnection(site.conn);
  if (!conn) return;
  switch (site.place) {
    case WaitSite::Place::kConnect:
      if (ServerPort* port = tables_.FindPort(conn->port())) {
        Monitor(*port, LPC_MON_DISCONNECT, *conn, conn->client().sender,
                LPC_DISCONNECT_WITHDRAWN);
      }
      return Withdraw(*conn);
    case WaitSite::Place::kRecords:
    case WaitSite::Place::kReaders:
    case WaitSite::Place::kMonitor:
      return;
    case WaitSite::Place::kWriters: {
      auto& write = static_cast<WriteRequest&>(request);
      if (write.reply_to) conn->replies().Restore(write.reply_to);
      // A writer behind it may fit now.
      return router_.ServeWriters(*conn, site.direction);
    }
    case WaitSite::Place::kCalls:
      return EndCall(*conn, static_cast<CallRequest&>(request), why);
  }
}

void Broker::EndCall(Connection& conn, CallRequest& call, Error why) {
  conn.calls().Forget(call);
  const uint64_t id = call.message.id;
  // The call is over: what its message attached ends (lpc.7 "VIEWS").
  conn.ReleaseDelivered(id);
  const uint32_t flags =
      why == Error::kTimedOut ? LPC_CANCEL_TIMED_OUT : LPC_CANCEL_INTERRUPTED;
  if (ServerPort* port = tables_.FindPort(conn.port())) {
    Monitor(*port, LPC_MON_CANCEL, conn, call.message.sender, flags, 0, id);
  }
  if (conn.channel(Direction::kToServer).queue().Withdraw(id)) {
    // The server never saw it; the record that stood for it goes too.
    if (ServerPort* port = tables_.FindPort(conn.port());
        port && !conn.bound()) {
      port->records().RemoveOneMessageOf(conn.id());
    }
    return router_.ServeWriters(conn, Direction::kToServer);
  }
  conn.calls().Abandon(id);
  ServerPort* port = tables_.FindPort(conn.port());
  // After its DISCONNECT record the server hears nothing more of it.
  if (!port || conn.notice() >= Notice::kDisconnectQueued) return;
  router_.QueueRecord(*port, {LPC_REC_CANCEL, conn.id(), flags, id});
}

void Broker::AbortWaiters() {
  Transaction tx(this);
  while (!registry_.empty()) {
    outbox_.Fail(Unpark(*registry_.Any(), Error::kAborted), Error::kAborted);
  }
}

void Broker::Expire(std::chrono::steady_clock::time_point now) {
  Transaction tx(this);
  std::vector<Connection*> expired;
  for (auto& [id, port] : tables_.ports) {
    for (ConnId conn_id : port->requests()) {
      Connection* conn = tables_.FindConnection(conn_id);
      if (conn->deadline() && *conn->deadline() <= now) expired.push_back(conn);
    }
  }
  for (Connection* conn : expired) {
    if (ServerPort* port = tables_.FindPort(conn->port())) {
      ++port->counters().refused;
      Monitor(*port, LPC_MON_REJECT, *conn, conn->client().sender, 0,
              ToErrno(Error::kTimedOut));
      LogEvent(EventKind::kConnectTimedOut, *port, conn->id().value(),
               conn->client().sender, Error::kTimedOut,
               "not accepted within connect_timeout");
    }
    outbox_.Fail(conn->open_request().PopFront(), Error::kTimedOut);
    Withdraw(*conn);
  }
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    Token token = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    Request* request = registry_.Find(token);
    if (!request) continue;  // answered before its timeout
    std::unique_ptr<Request> taken = Unpark(*request, Error::kTimedOut);
    if (taken->kind() == RequestKind::kReceive) {
      router_.AnswerEmpty(Downcast<ReceiveRequest>(std::move(taken)),
                          Error::kTimedOut);
    } else {
      outbox_.Fail(std::move(taken), Error::kTimedOut);
    }
  }
}

std::optional<std::chrono::steady_clock::time_point> Broker::NextDeadline() {
  std::lock_guard lock(mu_);
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

// ------------------------------------------------------------ poll

Result<uint32_t> Broker::Poll(HandleId handle, PollToken poll) {
  Transaction tx(this);
  Handle* h = tables_.handles.Find(handle);
  if (!h) {
    outbox_.DropPoll(poll);
    return Error::kBadHandle;
  }
  if (poll && poll != h->poll) {
    outbox_.DropPoll(h->poll);
    h->poll = poll;
  }
  return Readiness(*h);
}

uint32_t Broker::Readiness(const Handle& h) {
  switch (h.kind) {
    case HandleKind::kServer: {
      ServerPort* port = tables_.FindPort(h.port);
      if (!port) return POLLHUP;
      return POLLOUT | (port->records().empty() ? 0 : POLLIN);
    }
    case HandleKind::kClient:
    case HandleKind::kServerConnection: {
      Connection* conn = tables_.FindConnection(h.conn);
      if (!conn) return POLLIN | POLLHUP;
      return conn->Readiness(h.kind == HandleKind::kClient
                                 ? Direction::kToClient
                                 : Direction::kToServer);
    }
    case HandleKind::kStats:
      return POLLIN;
    case HandleKind::kMonitor: {
      MonitorQueue* queue = monitors_.Find(h.id);
      return queue && queue->ready() ? POLLIN : 0;
    }
  }
  return 0;
}

// ------------------------------------------------------------ quotas

void Broker::ServeQuotaWaiters() {
  // Serving a writer may free bytes of another user, readying more.
  while (quota_.has_ready()) {
    for (QuotaWaiter w : quota_.TakeReady()) {
      if (Connection* conn = tables_.FindConnection(w.conn)) {
        router_.ServeWriters(*conn, w.direction);
      }
    }
  }
}

}  // namespace lpc
