// The buffers of the ioctls (include/lpc.h struct lpc_transfer, lpc.7
// "IOCTLS"): a header, then records padded to 8 bytes. Pure functions and
// small value classes over bytes; what the records do is the Broker's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "errors.h"
#include "lpc.h"
#include "records.h"
#include "requests.h"

namespace lpc {

// The input of an ioctl: its header, the records it sends and how many
// bytes of data[] the answer may fill.
struct TransferInput {
  // The input fields, with the counts still zero: answers start from it.
  TransferCounts echo;
  uint32_t flags() const { return echo.flags; }
  std::span<const std::byte> send;  // send_length bytes of records
  size_t room = 0;                  // bytes of data[]
};

// Checks the header: kInvalid for a buffer shorter than the header, a
// nonzero reserved field, unknown flags or a send_length past the buffer.
Result<TransferInput> DecodeTransfer(std::span<const std::byte> buffer);

// Walks the records of a send area one at a time, so that a malformed
// record k stops the batch there and records before it stand.
class RecordCursor {
 public:
  explicit RecordCursor(std::span<const std::byte> area) : area_(area) {}
  bool done() const { return offset_ >= area_.size(); }
  // The next record, header and payload; kInvalid if what is left is not
  // a whole record.
  Result<std::span<const std::byte>> Next();

 private:
  std::span<const std::byte> area_;
  size_t offset_ = 0;
};

// An LPC_REC_MESSAGE record a client sends (in a call or a transfer):
// every field but length must be zero, but for the attribute flags
// (LPC_MESSAGE_VIEW; LPC_MESSAGE_WINDOW in a call), and the message
// after the attributes 1 to max_message bytes (kInvalid,
// kMessageTooLong).
Result<DecodedAttributes> DecodeClientMessage(std::span<const std::byte> record,
                                              size_t max_message,
                                              AttributeSite site);

// The answer of an ioctl: records appended one by one while they fit,
// then the header in front. At most `max_records` (0: no limit).
class TransferOutput {
 public:
  TransferOutput(size_t room, uint32_t max_records)
      : room_(room), max_records_(max_records) {}
  // Whether one more record with `payload` bytes fits, in bytes and count.
  bool Fits(size_t payload) const;
  size_t count() const { return count_; }
  // Appends an encoded record (EncodeRecord); it must fit.
  void Add(const Bytes& record);
  // The whole answer: header with `counts`, then the records.
  Bytes Finish(const TransferCounts& counts);
  // The records alone, up to the end of the last one (a batch read() of
  // the server handle, LPC_PORT_READ_BATCHES).
  Bytes Records() &&;

 private:
  size_t room_;
  uint32_t max_records_;
  uint32_t count_ = 0;
  size_t end_ = 0;  // where the last record's bytes end, before padding
  Bytes records_;
};

}  // namespace lpc
