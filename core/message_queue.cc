#include "message_queue.h"

#include <algorithm>
#include <utility>

namespace lpc {

void MessageQueue::Push(Message message) {
  bytes_ += message.data.size();
  if (quota_) {
    quota_->Add(message.writer_uid, QuotaKind::kBytes, message.data.size());
  }
  messages_.push_back(std::move(message));
}

Message MessageQueue::PopFront() {
  Message m = std::move(messages_.front());
  messages_.pop_front();
  bytes_ -= m.data.size();
  head_offset_ = 0;
  if (quota_) quota_->Release(m.writer_uid, QuotaKind::kBytes, m.data.size());
  return m;
}

Attachments MessageQueue::TakeHeadAttachments() {
  Message& head = messages_.front();
  head.attributes = {};
  return std::exchange(head.attachments, {});
}

Bytes MessageQueue::TakeBytes(size_t max, bool* finished) {
  const Bytes& head = messages_.front().data;
  size_t n = std::min(max, head.size() - head_offset_);
  if (head_offset_ == 0 && n == head.size()) {
    // The whole message: its bytes move out, they are not copied (a large
    // message is stored once, lpc.7 "LARGE MESSAGES").
    *finished = true;
    return PopFront().data;
  }
  auto first = head.begin() + static_cast<ptrdiff_t>(head_offset_);
  Bytes out(first, first + static_cast<ptrdiff_t>(n));
  head_offset_ += n;
  *finished = head_offset_ == head.size();
  if (*finished) PopFront();
  return out;
}

bool MessageQueue::Withdraw(uint64_t id) {
  auto it = std::find_if(messages_.begin(), messages_.end(),
                         [id](const Message& m) { return m.id == id; });
  if (it == messages_.end()) return false;
  if (it == messages_.begin() && head_started()) return false;
  bytes_ -= it->data.size();
  if (quota_) {
    quota_->Release(it->writer_uid, QuotaKind::kBytes, it->data.size());
  }
  messages_.erase(it);
  return true;
}

void MessageQueue::Clear() {
  if (quota_) {
    for (const Message& m : messages_) {
      quota_->Release(m.writer_uid, QuotaKind::kBytes, m.data.size());
    }
  }
  messages_.clear();
  bytes_ = 0;
  head_offset_ = 0;
}

}  // namespace lpc
