#include "message_router.h"

#include <utility>

#include "lpc.h"

namespace lpc {

void MessageRouter::ReadRecords(std::unique_ptr<ReadRequest> read,
                                ServerPort& port) {
  if (read->offset > 0) {
    // A later part of one read(2): the first part got a whole record, and
    // one read returns one record.
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
    Deliver(conn, direction, std::move(write->message));
    return out_.Written(std::move(write));
  }
  uint64_t reply_to = write->reply_to;
  bool parked = false;
  if (write->nonblock) {
    // lpc.7 "QUOTAS": a queue with room refused only for the writer's own
    // bytes quota is ENOBUFS, not EAGAIN: poll would not tell when it
    // passes, since another connection's reader frees it.
    bool queue_admits = channel.Admits(write->message.data.size());
    out_.Fail(std::move(write),
              queue_admits ? Error::kNoBuffers : Error::kWouldBlock);
  } else {
    parked = Park(std::move(write), channel.writers());
    if (parked) channel.WaitForQuota();
  }
  // lpc.7 "Replies": a reply that did not go out can be retried.
  if (!parked && reply_to) conn.replies().Restore(reply_to);
}

void MessageRouter::QueueRecord(ServerPort& port, RecordEntry entry) {
  bool was_empty = port.records().empty();
  port.records().Push(entry);
  ServePortReaders(port);
  if (was_empty && !port.records().empty()) Notify(port.server_handle());
}

void MessageRouter::ServePortReaders(ServerPort& port) {
  RecordQueue& records = port.records();
  while (!records.empty() && !port.readers().empty()) {
    const RecordEntry entry = records.front();
    // Records leave the queue with their connection, so it exists.
    Connection& conn = *tables_.FindConnection(entry.conn);
    size_t payload = 0;
    if (entry.type == LPC_REC_CONNECT) payload = conn.connect_info().size();
    if (entry.type == LPC_REC_MESSAGE) {
      payload = conn.channel(Direction::kToServer).queue().front().data.size();
    }
    std::unique_ptr<ReadRequest> read = port.readers().PopFront();
    if (read->size < sizeof(lpc_record) + payload) {
      // No partial records: the reader learns the buffer is too small and
      // the record waits for the next read.
      out_.Fail(std::move(read), Error::kMessageTooLong);
      continue;
    }
    records.PopFront();
    uint64_t id = conn.id().value();
    switch (entry.type) {
      case LPC_REC_CONNECT:
        out_.Data(std::move(read),
                  EncodeRecord(LPC_REC_CONNECT, id, 0, conn.client().sender,
                               entry.flags, conn.connect_info()));
        conn.Advance(Notice::kConnectRead);
        break;
      case LPC_REC_MESSAGE: {
        Channel& channel = conn.channel(Direction::kToServer);
        bool had_room = channel.HasRoom();
        Message m = channel.queue().PopFront();
        out_.Data(std::move(read),
                  EncodeRecord(LPC_REC_MESSAGE, id, m.id, m.sender, m.flags,
                               {m.data.data(), m.data.size()}));
        conn.replies().Remember(m.id);
        MadeRoom(conn, Direction::kToServer, had_room);
        break;
      }
      case LPC_REC_DISCONNECT:
        out_.Data(std::move(read),
                  EncodeRecord(LPC_REC_DISCONNECT, id, 0, {}, entry.flags, {}));
        conn.Advance(Notice::kDone);
        tables_.Touch(conn);
        break;
    }
  }
}

void MessageRouter::ServeReaders(Connection& conn, Direction direction) {
  Channel& channel = conn.channel(direction);
  bool had_room = channel.HasRoom();
  if (channel.ServeReaders(out_, !conn.carrying())) {
    MadeRoom(conn, direction, had_room);
  }
}

void MessageRouter::ServeWriters(Connection& conn, Direction direction) {
  Channel& channel = conn.channel(direction);
  if (!conn.carrying()) return channel.FailWriters(out_, Error::kBrokenPipe);
  while (std::unique_ptr<WriteRequest> w = channel.TakeFittingWriter()) {
    Deliver(conn, direction, std::move(w->message));
    out_.Written(std::move(w));
  }
}

// Wakes a waiting reader first (before the caller answers the writer: the
// reader is the one a round trip waits for), else tells poll.
void MessageRouter::Deliver(Connection& conn, Direction direction,
                            Message message) {
  Channel& channel = conn.channel(direction);
  if (direction == Direction::kToServer) message.id = conn.NextMessageId();
  bool was_empty = channel.queue().empty();
  channel.queue().Push(std::move(message));
  if (direction == Direction::kToServer && !conn.bound()) {
    // Read as a record on the server handle. The port is there: its
    // connections stop carrying when it closes.
    QueueRecord(*tables_.FindPort(conn.port()),
                {LPC_REC_MESSAGE, conn.id(), 0});
    return;
  }
  ServeReaders(conn, direction);
  if (was_empty && !channel.queue().empty()) Notify(conn.Readers(direction));
}

void MessageRouter::MadeRoom(Connection& conn, Direction direction,
                             bool had_room) {
  ServeWriters(conn, direction);
  if (!had_room) Notify(conn.Writers(direction));
}

void MessageRouter::Notify(HandleId handle) {
  if (Handle* h = tables_.handles.Find(handle)) out_.NotifyPoll(h->poll);
}

void MessageRouter::Notify(const std::vector<HandleId>& handles) {
  for (HandleId h : handles) Notify(h);
}

}  // namespace lpc
