// Message attributes (include/lpc.h LPC_MESSAGE_VIEW, LPC_MESSAGE_WINDOW;
// lpc.7 "VIEWS", "MEMORY WINDOWS"): what a message carries besides its
// bytes, laid out between a record's header and the message bytes.
//
// The wire structs say what was sent and what the receiver reads; the
// Attachments keep alive what they name (a view of a section, a window of
// the caller's memory) for as long as the message, and then the delivery,
// holds them. Pure functions and value classes, no system calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "errors.h"
#include "lpc.h"

namespace lpc {

using Bytes = std::vector<std::byte>;

struct MessageAttributes {
  std::optional<lpc_view> view;
  std::optional<lpc_window> window;

  bool empty() const { return !view && !window; }
  // The LPC_MESSAGE_* flags that announce them in a record.
  uint32_t flags() const;
  // Their bytes in a record, between the header and the message.
  size_t size() const;
  // Appends them, in record order, to `out`.
  void AppendTo(Bytes& out) const;
};

// Where attributes may appear: a window only in a client's call.
enum class AttributeSite : uint8_t {
  kClientCall,      // LPC_IOC_CALL's MESSAGE record
  kClientTransfer,  // a MESSAGE record of LPC_IOC_TRANSFER on a client port
  kServer,          // SEND and REPLY records
};

// A record's payload split into its attributes and the message bytes.
struct DecodedAttributes {
  MessageAttributes attributes;
  std::span<const std::byte> message;
};

// Splits `payload` as `flags` announce. kInvalid: an attribute this site
// may not carry, a payload shorter than the attributes, a nonzero id or
// reserved field, access bits that are 0 or unknown, a length of 0, a
// range that wraps around. `why`, if given, then names the field.
Result<DecodedAttributes> DecodeAttributes(uint32_t flags,
                                           std::span<const std::byte> payload,
                                           AttributeSite site,
                                           std::string* why = nullptr);

// What keeps an attribute's object alive: a view or a window, by id, in
// the table that owns it. Move-only; destroying it tells the table, which
// ends the object unless it ended before (ids are never reused, so a
// late release finds nothing). The table must outlive its attachments.
class AttachmentTable {
 public:
  virtual void Detach(uint64_t id) = 0;

 protected:
  ~AttachmentTable() = default;
};

class Attachment {
 public:
  Attachment() = default;
  Attachment(AttachmentTable* table, uint64_t id) : table_(table), id_(id) {}
  Attachment(Attachment&& other) noexcept { *this = std::move(other); }
  Attachment& operator=(Attachment&& other) noexcept;
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;
  ~Attachment() { Reset(); }

  void Reset();
  uint64_t id() const { return id_; }
  bool empty() const { return table_ == nullptr; }

 private:
  AttachmentTable* table_ = nullptr;
  uint64_t id_ = 0;
};

using Attachments = std::vector<Attachment>;

}  // namespace lpc
