#include "message_router.h"

#include <algorithm>
#include <utility>

#include "lpc.h"
#include "transfer.h"

namespace lpc {

void MessageRouter::ReadRecords(std::unique_ptr<ReadRequest> read,
                                ServerPort& port) {
  if (read->offset > 0) {
    // A later part of one read(2): the first part got whole records, and
    // a record never spans two parts.
    return out_.Data(std::move(read), {});
  }
  bool ready = !port.records().empty() && port.readers().empty();
  if (read->nonblock && !ready) {
    return out_.Fail(std::move(read), Error::kWouldBlock);
  }
  if (ready) {
    // Ready now: no interrupt check, it could only lose the record.
    port.readers().PushBack(std::move(read));
  } else if (!Park(std::move(read), port.readers())) {
    return;
  }
  ServePortReaders(port);
}

void MessageRouter::ReadMessages(std::unique_ptr<ReadRequest> read,
                                 Connection& conn, Direction direction) {
  Channel& channel = conn.channel(direction);
  if (read->size == 0) return out_.Data(std::move(read), {});
  if (read->offset > 0) {
    // A later part of one read(2). It continues the message the first
    // part began, if that did not finish it; it never starts another
    // message (lpc.7: a read returns bytes of one message only) and never
    // waits.
    if (!channel.queue().head_started()) {
      return out_.Data(std::move(read), {});
    }
    bool had_room = channel.HasRoom();
    bool made_room = false;
    channel.AnswerRead(out_, std::move(read), &made_room);
    if (made_room) MadeRoom(conn, direction, had_room);
    return;
  }
  bool end = !conn.carrying();
  bool ready = (!channel.queue().empty() || end) && channel.readers().empty();
  if (read->nonblock && !ready) {
    return out_.Fail(std::move(read), Error::kWouldBlock);
  }
  if (ready) {
    // Ready now: no interrupt check, it could only lose data.
    channel.readers().PushBack(std::move(read));
  } else if (!Park(std::move(read), channel.readers())) {
    return;
  }
  ServeReaders(conn, direction);
}

void MessageRouter::Send(std::unique_ptr<WriteRequest> write, Connection& conn,
                         Direction direction) {
  if (!conn.carrying()) {
    return out_.Fail(std::move(write), Error::kBrokenPipe);
  }
  Channel& channel = conn.channel(direction);
  if (channel.Admits(write->message)) {
    uint64_t id = Deliver(conn, direction, std::move(write->message));
    return Sent(conn, std::move(write), id);
  }
  uint64_t reply_to = write->reply_to;
  bool parked = false;
  // lpc.7 "QUOTAS": a queue with room refused only for the writer's own
  // bytes quota is ENOBUFS, not EAGAIN: poll would not tell when it
  // passes, since another connection's reader frees it.
  bool queue_admits = channel.Admits(write->message.data.size());
  Error why = queue_admits ? Error::kNoBuffers : Error::kWouldBlock;
  // One event per message that waits: debug level (core/events.h), so
  // it is built only when it will be written.
  if (out_.Logs(EventKind::kQueueFull)) {
    out_.Log({EventKind::kQueueFull,
              {},
              conn.id().value(),
              write->message.sender,
              why,
              std::string(direction == Direction::kToServer ? "to server"
                                                            : "to client") +
                  (queue_admits ? ", writer's quota_bytes used up" : "") +
                  (write->nonblock ? "" : ", writer waits")});
  }
  if (write->nonblock) {
    out_.Fail(std::move(write), why);
  } else {
    parked = Park(std::move(write), channel.writers());
    if (parked) channel.WaitForQuota();
  }
  // lpc.7 "Replies": a reply that did not go out can be retried.
  if (!parked && reply_to) conn.replies().Restore(reply_to);
}

void MessageRouter::Sent(Connection& conn, std::unique_ptr<WriteRequest> write,
                         uint64_t id) {
  if (write->kind() != RequestKind::kCall)
    return out_.Written(std::move(write));
  auto call = Downcast<CallRequest>(std::move(write));
  call->message.id = id;
  call->counts.first_msg_id = id;
  conn.calls().Park(std::move(call));
}

Status MessageRouter::SendNow(Connection& conn, Direction direction,
                              Message message, uint64_t* id) {
  if (!conn.carrying()) return Error::kBrokenPipe;
  Channel& channel = conn.channel(direction);
  if (!channel.Admits(message)) {
    // As for an O_NONBLOCK write (lpc.7 "QUOTAS").
    return channel.Admits(message.data.size()) ? Error::kNoBuffers
                                               : Error::kWouldBlock;
  }
  uint64_t got = Deliver(conn, direction, std::move(message));
  if (id) *id = got;
  return Ok{};
}

bool MessageRouter::AnswerCall(Connection& conn, Message& reply) {
  CallRequest* call = conn.calls().Find(reply.id);
  if (reply.attributes.size() + reply.data.size() > call->reply_room) {
    return false;
  }
  std::unique_ptr<CallRequest> taken = conn.calls().Take(reply.id);
  Count(conn, Direction::kToClient, reply.data.size());
  MonitorMessage(conn, LPC_MON_REPLY, reply);
  TransferOutput answer(taken->reply_room + sizeof(lpc_record), 1);
  answer.Add(EncodeRecord(LPC_REC_REPLY, conn.id().value(), reply.id,
                          reply.sender, 0, reply.attributes,
                          {reply.data.data(), reply.data.size()}));
  conn.KeepDelivered(0, std::move(reply.attachments));
  taken->counts.sent = 1;
  Bytes out = answer.Finish(taken->counts);
  out_.Transferred(std::move(taken), std::move(out));
  return true;
}

void MessageRouter::Reply(std::unique_ptr<WriteRequest> write,
                          Connection& conn) {
  uint64_t id = write->message.id;
  if (conn.calls().Waits(id)) {
    if (!AnswerCall(conn, write->message)) {
      conn.replies().Restore(id);
      return out_.Fail(std::move(write), Error::kMessageTooLong);
    }
    conn.ReleaseDelivered(id);
    return out_.Written(std::move(write));
  }
  // Answered: what the message replied to attached ends (lpc.7 "VIEWS").
  conn.ReleaseDelivered(id);
  if (conn.calls().DropReply(id)) {
    MonitorMessage(conn, LPC_MON_REPLY, write->message,
                   LPC_MONITOR_REPLY_DROPPED);
    return out_.Written(std::move(write));
  }
  write->reply_to = id;
  Send(std::move(write), conn, Direction::kToClient);
}

Status MessageRouter::ReplyNow(Connection& conn, Message reply) {
  uint64_t id = reply.id;
  Status done = Ok{};
  if (conn.calls().Waits(id)) {
    if (!AnswerCall(conn, reply)) done = Error::kMessageTooLong;
  } else if (conn.calls().DropReply(id)) {
    MonitorMessage(conn, LPC_MON_REPLY, reply, LPC_MONITOR_REPLY_DROPPED);
  } else {
    done = SendNow(conn, Direction::kToClient, std::move(reply));
  }
  if (!done) {
    conn.replies().Restore(id);
  } else {
    // Answered: what the message replied to attached ends (lpc.7 "VIEWS").
    conn.ReleaseDelivered(id);
  }
  return done;
}

void MessageRouter::AnswerEmpty(std::unique_ptr<ReceiveRequest> receive,
                                Error error) {
  if (receive->counts.sent == 0) return out_.Fail(std::move(receive), error);
  Bytes out = TransferOutput(0, 0).Finish(receive->counts);
  out_.Transferred(std::move(receive), std::move(out));
}

void MessageRouter::Receive(std::unique_ptr<ReceiveRequest> receive,
                            ServerPort& port) {
  bool ready = !port.records().empty() && port.readers().empty();
  if (receive->nonblock && !ready) {
    return AnswerEmpty(std::move(receive), Error::kWouldBlock);
  }
  if (ready) {
    port.readers().PushBack(std::move(receive));
  } else if (!Park(std::move(receive), port.readers())) {
    return;
  }
  ServePortReaders(port);
}

void MessageRouter::Receive(std::unique_ptr<ReceiveRequest> receive,
                            Connection& conn, Direction direction) {
  Channel& channel = conn.channel(direction);
  bool end = !conn.carrying();
  bool ready = (!channel.queue().empty() || end) && channel.readers().empty();
  if (receive->nonblock && !ready) {
    return AnswerEmpty(std::move(receive), Error::kWouldBlock);
  }
  if (ready) {
    channel.readers().PushBack(std::move(receive));
  } else if (!Park(std::move(receive), channel.readers())) {
    return;
  }
  ServeReaders(conn, direction);
}

void MessageRouter::QueueRecord(ServerPort& port, RecordEntry entry) {
  bool was_empty = port.records().empty();
  port.records().Push(entry);
  if (holding_) {
    if (std::find(held_ports_.begin(), held_ports_.end(), port.id()) ==
        held_ports_.end()) {
      held_ports_.push_back(port.id());
    }
    return;
  }
  ServePortReaders(port);
  if (was_empty && !port.records().empty()) Notify(port.server_handle());
}

size_t MessageRouter::PayloadOf(const RecordEntry& entry) {
  // Records leave the queue with their connection, so it exists.
  Connection& conn = *tables_.FindConnection(entry.conn);
  if (entry.type == LPC_REC_CONNECT) return conn.connect_info().size();
  if (entry.type == LPC_REC_MESSAGE) {
    const Message& m = conn.channel(Direction::kToServer).queue().front();
    return m.attributes.size() + m.data.size();
  }
  return 0;
}

Bytes MessageRouter::TakeRecord(ServerPort& port) {
  const RecordEntry entry = port.records().front();
  port.records().PopFront();
  Connection& conn = *tables_.FindConnection(entry.conn);
  uint64_t id = conn.id().value();
  switch (entry.type) {
    case LPC_REC_CONNECT:
      conn.Advance(Notice::kConnectRead);
      return EncodeRecord(LPC_REC_CONNECT, id, 0, conn.client().sender,
                          entry.flags, conn.connect_info());
    case LPC_REC_MESSAGE: {
      Channel& channel = conn.channel(Direction::kToServer);
      bool had_room = channel.HasRoom();
      Message m = channel.queue().PopFront();
      conn.replies().Remember(m.id);
      Bytes record = EncodeRecord(LPC_REC_MESSAGE, id, m.id, m.sender, m.flags,
                                  m.attributes, {m.data.data(), m.data.size()});
      conn.KeepDelivered(m.id, std::move(m.attachments));
      MadeRoom(conn, Direction::kToServer, had_room);
      return record;
    }
    case LPC_REC_CANCEL:
      return EncodeRecord(LPC_REC_CANCEL, id, entry.msg_id, {}, entry.flags,
                          {});
    default:  // LPC_REC_DISCONNECT
      conn.Advance(Notice::kDone);
      tables_.Touch(conn);
      return EncodeRecord(LPC_REC_DISCONNECT, id, 0, {}, entry.flags, {});
  }
}

void MessageRouter::ServePortReaders(ServerPort& port) {
  RecordQueue& records = port.records();
  while (!records.empty() && !port.readers().empty()) {
    std::unique_ptr<ReadRequest> read = port.readers().PopFront();
    if (read->kind() == RequestKind::kReceive) {
      AnswerReceive(port, Downcast<ReceiveRequest>(std::move(read)));
      continue;
    }
    if (read->size < sizeof(lpc_record) + PayloadOf(records.front())) {
      // No partial records: the reader learns the buffer is too small and
      // the record waits for the next read.
      out_.Fail(std::move(read), Error::kMessageTooLong);
      continue;
    }
    if (!port.read_batches()) {
      out_.Data(std::move(read), TakeRecord(port));
      continue;
    }
    // LPC_PORT_READ_BATCHES: laid out as an ioctl's data[], without the
    // header. Taking a record may let a writer in, which queues another
    // record: the loop takes that too while it fits.
    TransferOutput batch(read->size, 0);
    while (!records.empty() && batch.Fits(PayloadOf(records.front()))) {
      batch.Add(TakeRecord(port));
    }
    out_.Data(std::move(read), std::move(batch).Records());
  }
}

void MessageRouter::AnswerReceive(ServerPort& port,
                                  std::unique_ptr<ReceiveRequest> receive) {
  TransferOutput answer(receive->size, receive->counts.max_records);
  // Taking a record may let a writer in, which queues another record:
  // the loop takes that too while it fits.
  while (!port.records().empty() &&
         answer.Fits(PayloadOf(port.records().front()))) {
    answer.Add(TakeRecord(port));
  }
  if (answer.count() == 0) {
    // The record stays for a reader with a larger buffer.
    return AnswerEmpty(std::move(receive), Error::kMessageTooLong);
  }
  Bytes out = answer.Finish(receive->counts);
  out_.Transferred(std::move(receive), std::move(out));
}

void MessageRouter::AnswerReceive(Connection& conn, Direction direction,
                                  std::unique_ptr<ReceiveRequest> receive,
                                  bool* made_room) {
  MessageQueue& queue = conn.channel(direction).queue();
  if (queue.empty()) {
    // Ready with an empty queue: the connection has ended.
    return AnswerEmpty(std::move(receive), Error::kBrokenPipe);
  }
  TransferOutput answer(receive->size, receive->counts.max_records);
  const uint64_t conn_id = conn.id().value();
  // A message a read() began has given up its attributes (lpc.7 "VIEWS").
  auto attribute_bytes = [&queue] {
    return queue.head_started() ? 0 : queue.front().attributes.size();
  };
  while (!queue.empty() && answer.Fits(attribute_bytes() + queue.head_left())) {
    const Message& head = queue.front();
    uint32_t flags = head.flags;
    if (queue.head_started()) flags |= LPC_MESSAGE_CONTINUED;
    Sender sender = head.sender;
    uint64_t id = head.id;
    MessageAttributes attributes;
    if (!queue.head_started()) {
      attributes = queue.head_attributes();
      // The server's messages to the client are kept while the
      // connection lives; the client's until their call is answered.
      conn.KeepDelivered(direction == Direction::kToServer ? id : 0,
                         queue.TakeHeadAttachments());
    }
    bool finished = false;
    Bytes data = queue.TakeBytes(queue.head_left(), &finished);
    *made_room = true;
    if (direction == Direction::kToServer) conn.replies().Remember(id);
    answer.Add(EncodeRecord(LPC_REC_MESSAGE, conn_id, id, sender, flags,
                            attributes, {data.data(), data.size()}));
  }
  if (answer.count() == 0) {
    return AnswerEmpty(std::move(receive), Error::kMessageTooLong);
  }
  Bytes out = answer.Finish(receive->counts);
  out_.Transferred(std::move(receive), std::move(out));
}

void MessageRouter::ServeReaders(Connection& conn, Direction direction) {
  Channel& channel = conn.channel(direction);
  bool had_room = channel.HasRoom();
  bool end = !conn.carrying();
  bool made_room = false;
  // Reads and receives wait in one queue, served in order.
  while (!channel.readers().empty() && (!channel.queue().empty() || end)) {
    std::unique_ptr<ReadRequest> read = channel.readers().PopFront();
    if (read->kind() == RequestKind::kReceive) {
      AnswerReceive(conn, direction, Downcast<ReceiveRequest>(std::move(read)),
                    &made_room);
    } else {
      channel.AnswerRead(out_, std::move(read), &made_room);
    }
  }
  if (made_room) MadeRoom(conn, direction, had_room);
}

void MessageRouter::ServeWriters(Connection& conn, Direction direction) {
  Channel& channel = conn.channel(direction);
  if (!conn.carrying()) return channel.FailWriters(out_, Error::kBrokenPipe);
  while (std::unique_ptr<WriteRequest> w = channel.TakeFittingWriter()) {
    uint64_t id = Deliver(conn, direction, std::move(w->message));
    Sent(conn, std::move(w), id);
  }
}

// Wakes a waiting reader first (before the caller answers the writer: the
// reader is the one a round trip waits for), else tells poll.
void MessageRouter::Count(const Connection& conn, Direction direction,
                          size_t bytes) {
  ServerPort* port = tables_.FindPort(conn.port());
  if (!port) return;
  PortCounters& counts = port->counters();
  if (direction == Direction::kToServer) {
    ++counts.messages_to_server;
    counts.bytes_to_server += bytes;
  } else {
    ++counts.messages_to_client;
    counts.bytes_to_client += bytes;
  }
}

uint64_t MessageRouter::Deliver(Connection& conn, Direction direction,
                                Message message) {
  Channel& channel = conn.channel(direction);
  if (direction == Direction::kToServer) message.id = conn.NextMessageId();
  const uint64_t id = message.id;
  Count(conn, direction, message.data.size());
  if (monitors_.active()) {
    // A server's message with an id answers that client message.
    uint16_t type = direction == Direction::kToServer ? LPC_MON_MESSAGE
                    : id != 0                         ? LPC_MON_REPLY
                                                      : LPC_MON_SEND;
    MonitorMessage(conn, type, message);
  }
  bool was_empty = channel.queue().empty();
  channel.queue().Push(std::move(message));
  if (direction == Direction::kToServer && !conn.bound()) {
    // Read as a record on the server handle. The port is there: its
    // connections stop carrying when it closes.
    QueueRecord(*tables_.FindPort(conn.port()),
                {LPC_REC_MESSAGE, conn.id(), 0});
    return id;
  }
  if (holding_) {
    std::pair<ConnId, Direction> key(conn.id(), direction);
    if (std::find(held_channels_.begin(), held_channels_.end(), key) ==
        held_channels_.end()) {
      held_channels_.push_back(key);
    }
    return id;
  }
  ServeReaders(conn, direction);
  if (was_empty && !channel.queue().empty()) Notify(conn.Readers(direction));
  return id;
}

void MessageRouter::MonitorMessage(const Connection& conn, uint16_t type,
                                   const Message& message,
                                   uint32_t extra_flags) {
  if (!monitors_.active()) return;
  ServerPort* port = tables_.FindPort(conn.port());
  if (!port) return;
  MonitorEvent event;
  event.type = type;
  event.conn = conn.id().value();
  event.msg_id = message.id;
  event.actor = message.sender;
  // The attribute bits say what the message carries besides its bytes
  // (a view, a window), as its record does; `length` is its bytes only.
  event.flags = message.flags | message.attributes.flags() | extra_flags;
  event.length = static_cast<uint32_t>(message.data.size());
  monitors_.Publish(port->node(), event,
                    {message.data.data(), message.data.size()});
}

void MessageRouter::MadeRoom(Connection& conn, Direction direction,
                             bool had_room) {
  ServeWriters(conn, direction);
  if (!had_room) Notify(conn.Writers(direction));
}

void MessageRouter::ServeHeld() {
  holding_ = false;
  std::vector<PortId> ports;
  ports.swap(held_ports_);
  std::vector<std::pair<ConnId, Direction>> channels;
  channels.swap(held_channels_);
  for (PortId id : ports) {
    ServerPort* port = tables_.FindPort(id);
    if (!port) continue;
    ServePortReaders(*port);
    if (!port->records().empty()) Notify(port->server_handle());
  }
  for (auto [id, direction] : channels) {
    Connection* conn = tables_.FindConnection(id);
    if (!conn) continue;
    ServeReaders(*conn, direction);
    if (!conn->channel(direction).queue().empty()) {
      Notify(conn->Readers(direction));
    }
  }
}

void MessageRouter::Notify(HandleId handle) {
  if (Handle* h = tables_.handles.Find(handle)) out_.NotifyPoll(h->poll);
}

void MessageRouter::Notify(const std::vector<HandleId>& handles) {
  for (HandleId h : handles) Notify(h);
}

}  // namespace lpc
