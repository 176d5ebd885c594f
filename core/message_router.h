// The data path of the broker: moves messages from writers into channels,
// from channels and server handles' record queues to readers, wakes
// whoever waits for them, and parks what has to wait (lpc.7 "MESSAGES",
// "SERVER HANDLE", "BACK-PRESSURE", "POLL"). Each rule is written once for
// both directions of a connection. It runs under the Broker's lock; the
// Broker owns the objects it routes between and decides their lifecycle.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "connection.h"
#include "outbox.h"
#include "requests.h"
#include "server_port.h"
#include "tables.h"

namespace lpc {

class MessageRouter {
 public:
  MessageRouter(Tables& tables, Outbox& outbox, BrokerDelegate& delegate)
      : tables_(tables), out_(outbox), delegate_(delegate) {}

  // Reads of a server handle and of a connection's direction `direction`.
  void ReadRecords(std::unique_ptr<ReadRequest> read, ServerPort& port);
  void ReadMessages(std::unique_ptr<ReadRequest> read, Connection& conn,
                    Direction direction);
  // Sends a message in `direction`: at once if it is admitted, else it
  // waits for room (or fails EAGAIN without waiting).
  void Send(std::unique_ptr<WriteRequest> write, Connection& conn,
            Direction direction);

  // Queues a record on the server handle and serves its readers.
  void QueueRecord(ServerPort& port, RecordEntry entry);
  // Answers the readers of `direction` that can be answered; those of a
  // connection that stopped carrying get end of file once it is drained.
  void ServeReaders(Connection& conn, Direction direction);
  // Lets waiting writers of `direction` in while they fit; fails them all
  // with EPIPE once the connection stopped carrying.
  void ServeWriters(Connection& conn, Direction direction);

  // Parks a request, unless its caller was interrupted already (then it
  // is answered EINTR). False if it was not parked.
  template <class R>
  bool Park(std::unique_ptr<R> request, WaitQueue<R>& queue);

  // Wakes pollers of these handles.
  void Notify(HandleId handle);
  void Notify(const std::vector<HandleId>& handles);

 private:
  void ServePortReaders(ServerPort& port);
  void Deliver(Connection& conn, Direction direction, Message message);
  // A message of `direction` was read to its end.
  void MadeRoom(Connection& conn, Direction direction, bool had_room);

  Tables& tables_;
  Outbox& out_;
  BrokerDelegate& delegate_;
};

template <class R>
bool MessageRouter::Park(std::unique_ptr<R> request, WaitQueue<R>& queue) {
  // Asked under the broker's lock: an interrupt that comes after this
  // finds the request through Broker::Cancel(), which takes the lock too.
  if (delegate_.Interrupted(request->token())) {
    out_.Fail(std::move(request), Error::kInterrupted);
    return false;
  }
  queue.PushBack(std::move(request));
  return true;
}

}  // namespace lpc
