// A first-in first-out queue of whole messages, one direction of one
// connection. A reader may take the head message in pieces, but never
// bytes of two messages at once (lpc.7 "MESSAGES").
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "caller.h"
#include "message_attributes.h"
#include "quota.h"
#include "records.h"

namespace lpc {

struct Message {
  uint64_t id = 0;  // the client's messages: 1, 2, 3... per connection
  Sender sender;
  Bytes data;
  // Whose quota the queued bytes count against: the uid of the write that
  // sent it (lpc.7 "QUOTAS"), not necessarily `sender`'s.
  uint32_t writer_uid = 0;
  // LPC_MESSAGE_* flags of its record: the client's messages only.
  uint32_t flags = 0;
  // What the message carries besides its bytes (lpc.7 "VIEWS", "MEMORY
  // WINDOWS"), and what keeps the objects they name alive while it is
  // queued; a reader that takes the record takes them over.
  MessageAttributes attributes;
  Attachments attachments;
};

class MessageQueue {
 public:
  // With a ledger, each message's bytes are charged to its writer while it
  // is queued, and released on every way out: read, cleared, destroyed.
  explicit MessageQueue(QuotaLedger* quota = nullptr) : quota_(quota) {}
  MessageQueue(const MessageQueue&) = delete;
  MessageQueue& operator=(const MessageQueue&) = delete;
  ~MessageQueue() { Clear(); }

  bool empty() const { return messages_.empty(); }
  size_t count() const { return messages_.size(); }
  // Payload bytes of the messages not yet read completely.
  size_t bytes() const { return bytes_; }
  const Message& front() const { return messages_.front(); }
  // True once part of the head message has been read.
  bool head_started() const { return head_offset_ > 0; }

  void Push(Message message);
  // The whole head message; the head must not be started.
  Message PopFront();
  // Up to `max` bytes of the head message. *finished is set when that was
  // the last of it (the message then leaves the queue).
  Bytes TakeBytes(size_t max, bool* finished);
  // The head message's attributes and what keeps them alive, taken by a
  // reader that delivers them (the message keeps its bytes).
  MessageAttributes head_attributes() const { return front().attributes; }
  Attachments TakeHeadAttachments();
  // What a reader has not taken yet of the head message.
  size_t head_left() const { return front().data.size() - head_offset_; }
  // Takes out message `id` unless a reader has begun it: true if it was
  // there (lpc.7 "IOCTLS": an ended call withdraws its unread message).
  bool Withdraw(uint64_t id);
  void Clear();

 private:
  std::deque<Message> messages_;
  size_t bytes_ = 0;
  size_t head_offset_ = 0;  // bytes of the head message already read
  QuotaLedger* quota_;
};

}  // namespace lpc
