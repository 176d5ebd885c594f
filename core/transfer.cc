#include "transfer.h"

#include <algorithm>
#include <cstring>

namespace lpc {

Result<TransferInput> DecodeTransfer(std::span<const std::byte> buffer) {
  lpc_transfer h;
  if (buffer.size() < sizeof h) return Error::kInvalid;
  std::memcpy(&h, buffer.data(), sizeof h);
  constexpr uint32_t kKnownFlags =
      LPC_TRANSFER_NO_RECEIVE | LPC_TRANSFER_NO_WAIT;
  if (h.reserved != 0 || (h.flags & ~kKnownFlags)) return Error::kInvalid;
  std::span<const std::byte> data = buffer.subspan(sizeof h);
  if (h.send_length > data.size()) return Error::kInvalid;
  TransferInput in;
  in.echo.flags = h.flags;
  in.echo.timeout_ms = h.timeout_ms;
  in.echo.send_length = h.send_length;
  in.echo.max_records = h.max_records;
  in.send = data.first(h.send_length);
  in.room = data.size();
  return in;
}

Result<std::span<const std::byte>> RecordCursor::Next() {
  std::span<const std::byte> rest = area_.subspan(offset_);
  lpc_record h;
  if (rest.size() < sizeof h) return Error::kInvalid;
  std::memcpy(&h, rest.data(), sizeof h);
  if (h.length > rest.size() - sizeof h) return Error::kInvalid;
  std::span<const std::byte> record = rest.first(sizeof h + h.length);
  // The padding after the last record may be left out.
  offset_ += std::min<size_t>(LPC_RECORD_SPACE(h.length), rest.size());
  return record;
}

Result<DecodedAttributes> DecodeClientMessage(std::span<const std::byte> record,
                                              size_t max_message,
                                              AttributeSite site) {
  lpc_record h;
  if (record.size() < sizeof h) return Error::kInvalid;
  std::memcpy(&h, record.data(), sizeof h);
  constexpr uint32_t kAttributeFlags = LPC_MESSAGE_VIEW | LPC_MESSAGE_WINDOW;
  if (h.type != LPC_REC_MESSAGE || h.conn_id || h.msg_id || h.pid || h.uid ||
      h.gid || (h.flags & ~kAttributeFlags) || h.status || h.reserved ||
      record.size() != sizeof h + h.length) {
    return Error::kInvalid;
  }
  auto split = DecodeAttributes(h.flags, record.subspan(sizeof h), site);
  if (!split) return split.error();
  // An empty message would read as end of file on .conn/ID; a 0-byte
  // write() sends nothing, and a SEND or REPLY needs a payload too.
  if (split->message.empty()) return Error::kInvalid;
  if (split->message.size() > max_message) return Error::kMessageTooLong;
  return split;
}

bool TransferOutput::Fits(size_t payload) const {
  if (max_records_ && count_ >= max_records_) return false;
  return records_.size() + sizeof(lpc_record) + payload <= room_;
}

void TransferOutput::Add(const Bytes& record) {
  records_.insert(records_.end(), record.begin(), record.end());
  end_ = records_.size();
  records_.resize((records_.size() + 7) & ~size_t{7});
  // The padding of the last record may go past the room: cut it.
  if (records_.size() > room_) records_.resize(room_);
  ++count_;
}

Bytes TransferOutput::Records() && {
  records_.resize(end_);
  return std::move(records_);
}

Bytes TransferOutput::Finish(const TransferCounts& counts) {
  lpc_transfer h{};
  h.flags = counts.flags;
  h.timeout_ms = counts.timeout_ms;
  h.send_length = counts.send_length;
  h.max_records = counts.max_records;
  h.sent = counts.sent;
  h.send_error = counts.send_error ? ToErrno(*counts.send_error) : 0;
  h.received = count_;
  h.received_length = static_cast<uint32_t>(records_.size());
  h.first_msg_id = counts.first_msg_id;
  Bytes out(sizeof h + records_.size());
  std::memcpy(out.data(), &h, sizeof h);
  if (!records_.empty()) {
    std::memcpy(out.data() + sizeof h, records_.data(), records_.size());
  }
  return out;
}

}  // namespace lpc
