#include "channel.h"

#include <utility>

namespace lpc {

Channel::Channel(const Limits& limits, WaitContext context, PortId port,
                 ConnId conn, Direction direction, QuotaLedger* quota)
    : limits_(limits),
      quota_(quota),
      conn_(conn),
      direction_(direction),
      queue_(quota),
      readers_(context, {WaitSite::Place::kReaders, port, conn, direction}),
      writers_(context, {WaitSite::Place::kWriters, port, conn, direction}) {}

bool Channel::Fits(size_t length) const {
  if (queue_.empty()) return true;
  return queue_.count() < limits_.queue_messages &&
         queue_.bytes() + length <= limits_.queue_bytes;
}

void Channel::AnswerRead(Outbox& out, std::unique_ptr<ReadRequest> read,
                         bool* made_room) {
  if (queue_.empty()) {
    out.Data(std::move(read), {});
    return;
  }
  bool finished = false;
  Bytes bytes = queue_.TakeBytes(read->size, &finished);
  *made_room |= finished;
  out.Data(std::move(read), std::move(bytes));
}

bool Channel::ServeReaders(Outbox& out, bool end) {
  bool made_room = false;
  while (!readers_.empty() && (!queue_.empty() || end)) {
    AnswerRead(out, readers_.PopFront(), &made_room);
  }
  return made_room;
}

std::unique_ptr<WriteRequest> Channel::TakeFittingWriter() {
  WriteRequest* first = writers_.front();
  if (!first || !Fits(first->message.data.size())) return nullptr;
  if (!QuotaAllows(first->message)) {
    WaitForQuota();
    return nullptr;
  }
  return writers_.PopFront();
}

void Channel::WaitForQuota() {
  WriteRequest* first = writers_.front();
  if (!first || !Fits(first->message.data.size()) ||
      QuotaAllows(first->message)) {
    return;
  }
  quota_->WaitForBytes(first->message.writer_uid, {conn_, direction_});
}

void Channel::FailWriters(Outbox& out, Error error) {
  while (!writers_.empty()) out.Fail(writers_.PopFront(), error);
}

}  // namespace lpc
