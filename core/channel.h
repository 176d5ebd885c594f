// One direction of a connection: the messages on their way, the reads
// waiting for them and the writes waiting for room. Both directions work
// alike, so each rule of lpc.7 "MESSAGES" and "BACK-PRESSURE" is written
// once, here.
#pragma once

#include <cstddef>
#include <memory>

#include "broker_limits.h"
#include "message_queue.h"
#include "outbox.h"
#include "requests.h"

namespace lpc {

class Channel {
 public:
  // With a ledger, queued bytes count against their writer's quota_bytes
  // (lpc.7 "QUOTAS") and admission checks it.
  Channel(const Limits& limits, WaitContext context, PortId port, ConnId conn,
          Direction direction, QuotaLedger* quota = nullptr);

  MessageQueue& queue() { return queue_; }
  const MessageQueue& queue() const { return queue_; }
  WaitQueue<ReadRequest>& readers() { return readers_; }
  WaitQueue<WriteRequest>& writers() { return writers_; }

  // Whether a message of `length` bytes fits: into an empty queue always
  // (a lone message never waits), else while the queue holds fewer than
  // queue_messages messages and queue_bytes bytes including it.
  bool Fits(size_t length) const;
  // Whether a new write of `length` bytes may go straight in: it fits, and
  // no earlier writer waits (writers are served in order).
  bool Admits(size_t length) const { return writers_.empty() && Fits(length); }
  // Admits(), and the message's writer has room in its bytes quota.
  bool Admits(const Message& m) const {
    return Admits(m.data.size()) && QuotaAllows(m);
  }
  // Whether the writer of `m` may have its bytes queued: the one room
  // check of quota_bytes.
  bool QuotaAllows(const Message& m) const {
    return !quota_ ||
           quota_->Allows(m.writer_uid, QuotaKind::kBytes, m.data.size());
  }
  // If the first waiting writer fits the queue but not its user's bytes
  // quota, asks the ledger to say when that user's bytes drop.
  void WaitForQuota();
  // POLLOUT: a short message fits (as a pipe's POLLOUT means PIPE_BUF
  // bytes do); a larger one may still have to wait.
  bool HasRoom() const { return Fits(LPC_SHORT_MESSAGE); }

  // Answers waiting readers from the queue, in order. `end`: nothing more
  // will be written, so once the queue is drained reads return 0 (end of
  // file). Returns true if a message was read to its end, making room.
  bool ServeReaders(Outbox& out, bool end);
  // Answers a read at once with bytes of the head message, or with 0
  // bytes (end of file) if the queue is empty: the caller knows it is
  // ready. Sets *made_room if the read finished a message.
  void AnswerRead(Outbox& out, std::unique_ptr<ReadRequest> read,
                  bool* made_room);
  // The first waiting writer, if its message fits now (queue and quota).
  std::unique_ptr<WriteRequest> TakeFittingWriter();
  void FailWriters(Outbox& out, Error error);

 private:
  const Limits& limits_;
  QuotaLedger* quota_;
  ConnId conn_;
  Direction direction_;
  MessageQueue queue_;
  WaitQueue<ReadRequest> readers_;
  WaitQueue<WriteRequest> writers_;
};

}  // namespace lpc
