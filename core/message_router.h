// The data path of the broker: moves messages from writers into channels,
// from channels and server handles' record queues to readers, wakes
// whoever waits for them, and parks what has to wait (lpc.7 "MESSAGES",
// "SERVER HANDLE", "BACK-PRESSURE", "POLL"). Each rule is written once for
// both directions of a connection. It runs under the Broker's lock; the
// Broker owns the objects it routes between and decides their lifecycle.
#pragma once

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "connection.h"
#include "monitor.h"
#include "outbox.h"
#include "requests.h"
#include "server_port.h"
#include "tables.h"

namespace lpc {

class MessageRouter {
 public:
  MessageRouter(Tables& tables, Outbox& outbox, BrokerDelegate& delegate,
                MonitorHub& monitors)
      : tables_(tables),
        out_(outbox),
        delegate_(delegate),
        monitors_(monitors) {}

  // Reads of a server handle and of a connection's direction `direction`.
  void ReadRecords(std::unique_ptr<ReadRequest> read, ServerPort& port);
  void ReadMessages(std::unique_ptr<ReadRequest> read, Connection& conn,
                    Direction direction);
  // Sends a message in `direction`: at once if it is admitted, else it
  // waits for room (or fails EAGAIN without waiting). A call, once its
  // message is out, waits in the connection's CallTable for the reply.
  void Send(std::unique_ptr<WriteRequest> write, Connection& conn,
            Direction direction);
  // Sends a message of an ioctl's batch, which never waits (lpc.7
  // "IOCTLS"): kWouldBlock or kNoBuffers if it does not fit now. On
  // success *id is the message's id.
  Status SendNow(Connection& conn, Direction direction, Message message,
                 uint64_t* id = nullptr);
  // A server's reply to client message `msg_id`, which the caller has
  // taken from the reply window: to the call that waits for it, dropped
  // if that call has ended, else queued to the client like a send (and
  // then may wait, as `write` says). Answers `write` either way.
  void Reply(std::unique_ptr<WriteRequest> write, Connection& conn);
  // The same for a reply in an ioctl's batch, which never waits.
  Status ReplyNow(Connection& conn, Message reply);

  // The receive part of LPC_IOC_TRANSFER on a server handle and on one
  // direction of a connection: as many whole records as fit, once there
  // is at least one.
  void Receive(std::unique_ptr<ReceiveRequest> receive, ServerPort& port);
  void Receive(std::unique_ptr<ReceiveRequest> receive, Connection& conn,
               Direction direction);
  // Answers a receive that got no record: with its counts if its send
  // part did something, else with `error`.
  void AnswerEmpty(std::unique_ptr<ReceiveRequest> receive, Error error);

  // Queues a record on the server handle and serves its readers.
  void QueueRecord(ServerPort& port, RecordEntry entry);
  // Answers the readers of `direction` that can be answered; those of a
  // connection that stopped carrying get end of file once it is drained.
  void ServeReaders(Connection& conn, Direction direction);
  // Lets waiting writers of `direction` in while they fit; fails them all
  // with EPIPE once the connection stopped carrying.
  void ServeWriters(Connection& conn, Direction direction);

  // Parks a request, unless its caller was interrupted already (then it
  // is answered EINTR, or a receive with its counts). False if it was not
  // parked.
  template <class R, class Q>
  bool Park(std::unique_ptr<R> request, WaitQueue<Q>& queue);

  // While an ioctl's batch is sent, what it makes ready is held and served
  // once, at its end: a receiver waiting on the other side then takes the
  // whole batch in one answer, not its first message alone, and pollers
  // are woken once.
  class BatchScope {
   public:
    explicit BatchScope(MessageRouter& router) : router_(router) {
      router_.holding_ = true;
    }
    ~BatchScope() { router_.ServeHeld(); }
    BatchScope(const BatchScope&) = delete;
    BatchScope& operator=(const BatchScope&) = delete;

   private:
    MessageRouter& router_;
  };

  // Wakes pollers of these handles.
  void Notify(HandleId handle);
  void Notify(const std::vector<HandleId>& handles);

 private:
  void ServePortReaders(ServerPort& port);
  // The record at the head of the port's queue, taken out: its bytes, and
  // what reading it changes.
  Bytes TakeRecord(ServerPort& port);
  size_t PayloadOf(const RecordEntry& entry);
  void AnswerReceive(ServerPort& port, std::unique_ptr<ReceiveRequest> receive);
  void AnswerReceive(Connection& conn, Direction direction,
                     std::unique_ptr<ReceiveRequest> receive, bool* made_room);
  // Queues a message; returns the id it got (the client's messages are
  // numbered as they are queued).
  uint64_t Deliver(Connection& conn, Direction direction, Message message);
  // Adds a message that went out to its port's counters (PortCounters).
  void Count(const Connection& conn, Direction direction, size_t bytes);
  // A write whose message is out: answered, or a call set to wait.
  void Sent(Connection& conn, std::unique_ptr<WriteRequest> write, uint64_t id);
  // A reply goes to its waiting call: false if the call has no room for
  // it (EMSGSIZE for the server).
  bool AnswerCall(Connection& conn, Message& reply);
  // Tells the monitors of a message, send or reply that went out
  // (lpc.7 "MONITOR").
  void MonitorMessage(const Connection& conn, uint16_t type,
                      const Message& message, uint32_t extra_flags = 0);
  // A message of `direction` was read to its end.
  void MadeRoom(Connection& conn, Direction direction, bool had_room);

  // The end of a BatchScope: serves the ports and channels it held.
  void ServeHeld();

  Tables& tables_;
  Outbox& out_;
  BrokerDelegate& delegate_;
  MonitorHub& monitors_;
  bool holding_ = false;
  std::vector<PortId> held_ports_;
  std::vector<std::pair<ConnId, Direction>> held_channels_;
};

template <class R, class Q>
bool MessageRouter::Park(std::unique_ptr<R> request, WaitQueue<Q>& queue) {
  // Asked under the broker's lock: an interrupt that comes after this
  // finds the request through Broker::Cancel(), which takes the lock too.
  if (delegate_.Interrupted(request->token())) {
    if (request->kind() == RequestKind::kReceive) {
      AnswerEmpty(Downcast<ReceiveRequest>(std::move(request)),
                  Error::kInterrupted);
    } else {
      out_.Fail(std::move(request), Error::kInterrupted);
    }
    return false;
  }
  queue.PushBack(std::move(request));
  return true;
}

}  // namespace lpc
