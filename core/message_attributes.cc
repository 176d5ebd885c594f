#include "message_attributes.h"

#include <cstring>
#include <utility>

namespace lpc {

uint32_t MessageAttributes::flags() const {
  return (view ? LPC_MESSAGE_VIEW : 0) | (window ? LPC_MESSAGE_WINDOW : 0);
}

size_t MessageAttributes::size() const {
  return (view ? sizeof(lpc_view) : 0) + (window ? sizeof(lpc_window) : 0);
}

void MessageAttributes::AppendTo(Bytes& out) const {
  auto append = [&out](const void* p, size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  };
  // lpc.h: the view first, then the window.
  if (view) append(&*view, sizeof *view);
  if (window) append(&*window, sizeof *window);
}

namespace {

template <class T>
bool Take(std::span<const std::byte>& rest, T* out) {
  if (rest.size() < sizeof *out) return false;
  std::memcpy(out, rest.data(), sizeof *out);
  rest = rest.subspan(sizeof *out);
  return true;
}

// A range [start, start + length) that is not empty and does not wrap.
bool IsRange(uint64_t start, uint64_t length) {
  return length != 0 && start + length > start;
}

}  // namespace

Result<DecodedAttributes> DecodeAttributes(uint32_t flags,
                                           std::span<const std::byte> payload,
                                           AttributeSite site,
                                           std::string* why) {
  auto fail = [why](const char* text) {
    if (why) *why = text;
    return Error::kInvalid;
  };
  DecodedAttributes out;
  std::span<const std::byte> rest = payload;
  if (flags & LPC_MESSAGE_VIEW) {
    lpc_view v;
    if (!Take(rest, &v)) return fail("payload is shorter than struct lpc_view");
    if (v.id || v.reserved) return fail("view: id and reserved must be 0");
    if (!v.access || (v.access & ~uint32_t{LPC_VIEW_READ | LPC_VIEW_WRITE})) {
      return fail("view: access must be LPC_VIEW_READ and/or LPC_VIEW_WRITE");
    }
    if (!IsRange(v.offset, v.length)) {
      return fail("view: length is 0 or offset + length wraps around");
    }
    out.attributes.view = v;
  }
  if (flags & LPC_MESSAGE_WINDOW) {
    if (site != AttributeSite::kClientCall) {
      return fail("a memory window is attached to LPC_IOC_CALL only");
    }
    lpc_window w;
    if (!Take(rest, &w)) {
      return fail("payload is shorter than struct lpc_window");
    }
    if (w.id || w.reserved) return fail("window: id and reserved must be 0");
    if (!w.access ||
        (w.access & ~uint32_t{LPC_WINDOW_READ | LPC_WINDOW_WRITE})) {
      return fail(
          "window: access must be LPC_WINDOW_READ and/or LPC_WINDOW_WRITE");
    }
    if (!IsRange(w.address, w.length)) {
      return fail("window: length is 0 or address + length wraps around");
    }
    out.attributes.window = w;
  }
  out.message = rest;
  return out;
}

Attachment& Attachment::operator=(Attachment&& other) noexcept {
  if (this != &other) {
    Reset();
    table_ = std::exchange(other.table_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void Attachment::Reset() {
  if (AttachmentTable* table = std::exchange(table_, nullptr)) {
    table->Detach(id_);
  }
  id_ = 0;
}

}  // namespace lpc
