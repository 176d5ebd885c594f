// A libFuzzer target for the record codec (core/records.h): arbitrary
// bytes go to DecodeServerCommand() as a record written to a server
// handle. What it accepts must be exactly what lpc.7 "Writing records"
// allows, written out again here from the manual rather than from the
// decoder, and must encode back to the same bytes; what it refuses must
// fail with EINVAL, or EMSGSIZE for an oversized payload. The encoders of
// records the server reads must take any decoded values.
//
// Input: one byte choosing max_message (kMaxMessages), one byte for the
// connection state CheckDecision() assumes, then the record.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "errors.h"
#include "lpc.h"
#include "records.h"
#include "server_command.h"

namespace lpc::fuzz {
namespace {

[[noreturn]] void Violation(int line, const char* what) {
  std::fprintf(stderr, "\nrecord_fuzzer: check failed at line %d: %s\n", line,
               what);
  std::fflush(stderr);
  __builtin_trap();
}

#define CHECK(cond)                          \
  do {                                       \
    if (!(cond)) Violation(__LINE__, #cond); \
  } while (0)

constexpr size_t kMaxMessages[] = {
    LPC_MAX_MESSAGE, 0, 1, 47, 255, 257, 4096, LPC_DEFAULT_MAX_MESSAGE};

// Why a record is refused, by lpc.7 "Writing records", in no particular
// order: the manual does not rank EINVAL against EMSGSIZE.
struct Verdict {
  bool invalid = false;   // EINVAL
  bool too_long = false;  // EMSGSIZE
};

Verdict Judge(std::span<const std::byte> data, size_t max_message) {
  Verdict v;
  lpc_record h;
  if (data.size() < sizeof h) {
    v.invalid = true;
    return v;
  }
  std::memcpy(&h, data.data(), sizeof h);
  // "its size must be exactly 48 + length"
  if (data.size() - sizeof h != h.length) v.invalid = true;
  // "pid, uid, gid or reserved is not 0"
  if (h.pid || h.uid || h.gid || h.reserved) v.invalid = true;
  // "conn_id is 0 (except in LPC_REC_PORT_OPTIONS)"
  bool options = h.type == LPC_REC_PORT_OPTIONS;
  if (!options && h.conn_id == 0) v.invalid = true;
  // Per type, the fields it uses (lpc.7 lists them); all others are 0.
  bool uses_msg = false, uses_status = false, uses_flags = false;
  bool payload = false;
  switch (h.type) {
    case LPC_REC_ACCEPT:
    case LPC_REC_DISCONNECT:
      break;
    case LPC_REC_REJECT:
      uses_status = true;
      break;
    case LPC_REC_SEND:
      payload = true;
      break;
    case LPC_REC_REPLY:
      payload = true;
      uses_msg = true;
      if (h.msg_id == 0) v.invalid = true;  // "EINVAL if msg_id is 0"
      break;
    case LPC_REC_PORT_OPTIONS:
      uses_flags = true;
      if (h.conn_id != 0) v.invalid = true;  // "conn_id must be 0"
      if (h.flags & ~uint32_t{LPC_PORT_AUTO_ACCEPT | LPC_PORT_READ_BATCHES}) {
        v.invalid = true;
      }
      // "length 0, or 8: a struct lpc_port_limits"
      if (h.length != 0 && h.length != sizeof(lpc_port_limits)) {
        v.invalid = true;
      } else if (h.length != 0 && data.size() == sizeof h + h.length) {
        lpc_port_limits limits;
        std::memcpy(&limits, data.data() + sizeof h, sizeof limits);
        if (limits.reserved || limits.max_message > LPC_MAX_MESSAGE_LIMIT) {
          v.invalid = true;
        }
      }
      break;
    default:
      // Also the types only read: CONNECT, MESSAGE.
      v.invalid = true;
      return v;
  }
  if (!uses_msg && h.msg_id) v.invalid = true;
  if (!uses_status && h.status) v.invalid = true;
  // SEND and REPLY may carry a view (lpc.7 "VIEWS"), nothing else.
  uint32_t flags = payload ? h.flags & ~uint32_t{LPC_MESSAGE_VIEW} : h.flags;
  if (!uses_flags && flags) v.invalid = true;
  size_t message = h.length;
  if (payload && (h.flags & LPC_MESSAGE_VIEW)) {
    // "a struct lpc_view comes first: id and reserved 0, access READ
    // and/or WRITE, a length of 1 or more that does not wrap around"
    if (h.length < sizeof(lpc_view) ||
        data.size() < sizeof h + sizeof(lpc_view)) {
      v.invalid = true;
      return v;
    }
    lpc_view view;
    std::memcpy(&view, data.data() + sizeof h, sizeof view);
    if (view.id || view.reserved || view.length == 0 ||
        view.offset + view.length < view.offset || view.access == 0 ||
        (view.access & ~uint32_t{LPC_VIEW_READ | LPC_VIEW_WRITE})) {
      v.invalid = true;
    }
    message -= sizeof(lpc_view);
  }
  if (payload) {
    if (message == 0) v.invalid = true;  // "EINVAL if length is 0"
    if (message > max_message) v.too_long = true;
  } else if (h.length != 0 && h.type != LPC_REC_PORT_OPTIONS) {
    v.invalid = true;  // "length is not 0 for a type that has no payload"
  }
  return v;
}

void CheckEncoders(const lpc_record& h, std::span<const std::byte> payload) {
  Sender sender{h.pid, h.uid, h.gid};
  Bytes rec =
      EncodeRecord(h.type, h.conn_id, h.msg_id, sender, h.flags, payload);
  CHECK(rec.size() == sizeof(lpc_record) + payload.size());
  lpc_record back;
  std::memcpy(&back, rec.data(), sizeof back);
  CHECK(back.type == h.type && back.length == payload.size());
  CHECK(back.conn_id == h.conn_id && back.msg_id == h.msg_id);
  CHECK(back.pid == h.pid && back.uid == h.uid && back.gid == h.gid);
  CHECK(back.flags == h.flags && back.status == 0 && back.reserved == 0);
  CHECK(payload.empty() || std::memcmp(rec.data() + sizeof back, payload.data(),
                                       payload.size()) == 0);

  // A caller whose groups are the payload's words, repeated past
  // LPC_MAX_GROUPS when msg_id says so: the list is cut to that many.
  Caller caller;
  caller.sender = sender;
  caller.cap_effective = h.conn_id;
  caller.cap_permitted = h.msg_id;
  size_t words = payload.size() / sizeof(uint32_t);
  size_t n = words;
  if (words && (h.msg_id & 1)) n = LPC_MAX_GROUPS + 1 + h.msg_id % 7;
  for (size_t i = 0; i < n; ++i) {
    uint32_t g;
    std::memcpy(&g, payload.data() + (i % words) * sizeof g, sizeof g);
    caller.groups.push_back(g);
  }
  Bytes info = EncodeConnectInfo(caller);
  size_t kept = n < LPC_MAX_GROUPS ? n : LPC_MAX_GROUPS;
  CHECK(info.size() == sizeof(lpc_connect_info) + kept * sizeof(uint32_t) +
                           sizeof(lpc_connect_process));
  lpc_connect_info ci;
  std::memcpy(&ci, info.data(), sizeof ci);
  CHECK(ci.ngroups == kept && ci.reserved == 0);
  CHECK(ci.cap_effective == h.conn_id && ci.cap_permitted == h.msg_id);
  CHECK(kept == 0 || std::memcmp(info.data() + sizeof ci, caller.groups.data(),
                                 kept * sizeof(uint32_t)) == 0);
  lpc_connect_process process;
  std::memcpy(&process, info.data() + sizeof ci + kept * sizeof(uint32_t),
              sizeof process);
  CHECK(process.pid == sender.pid && process.start_time == sender.start_time &&
        process.reserved == 0);
}

// What the broker does with a decoded command must follow from the
// command and the connection's stage alone (server_command.h).
void CheckDecision(const ServerCommand& cmd, uint8_t state) {
  CommandTarget target;
  target.exists = state & 1;
  target.stage = static_cast<Stage>((state >> 1) % 6);
  target.reply_awaited = state & 0x80;
  CommandDecision d = DecideServerCommand(cmd, target);
  if (cmd.type == LPC_REC_PORT_OPTIONS) {
    CHECK(d.action == CommandAction::kSetOptions);
    return;
  }
  if (!target.exists || target.stage == Stage::kRefused) {
    CHECK(d.action == CommandAction::kFail && d.error == Error::kNotConnected);
    return;
  }
  switch (d.action) {
    case CommandAction::kFail:
      break;
    case CommandAction::kSetOptions:
      CHECK(false);
      break;
    case CommandAction::kAccept:
      CHECK(cmd.type == LPC_REC_ACCEPT && target.stage == Stage::kRequested);
      break;
    case CommandAction::kReject: {
      Error why;
      CHECK(cmd.type == LPC_REC_REJECT && target.stage == Stage::kRequested);
      CHECK(RejectStatusToError(cmd.status, &why) && why == d.error);
      break;
    }
    case CommandAction::kSend:
      CHECK(cmd.type == LPC_REC_SEND || cmd.type == LPC_REC_REPLY);
      CHECK(target.stage == Stage::kOpen);
      CHECK(cmd.type == LPC_REC_SEND || target.reply_awaited);
      break;
    case CommandAction::kDisconnect:
      CHECK(cmd.type == LPC_REC_DISCONNECT);
      CHECK(target.stage == Stage::kOpen || target.stage == Stage::kClientGone);
      break;
  }
}

}  // namespace
}  // namespace lpc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace lpc;
  using namespace lpc::fuzz;
  if (size < 2) return 0;
  size_t max_message = kMaxMessages[bytes[0] % 8];
  uint8_t state = bytes[1];
  std::span<const std::byte> data(reinterpret_cast<const std::byte*>(bytes) + 2,
                                  size - 2);
  Verdict v = Judge(data, max_message);
  auto cmd = DecodeServerCommand(data, max_message);

  if (data.size() >= sizeof(lpc_record)) {
    // Whatever the header says, the encoders take it.
    lpc_record h;
    std::memcpy(&h, data.data(), sizeof h);
    CheckEncoders(h, data.subspan(sizeof h));
  }

  if (!cmd) {
    CHECK(v.invalid || v.too_long);
    CHECK(cmd.error() == Error::kInvalid ||
          cmd.error() == Error::kMessageTooLong);
    // EMSGSIZE only for a payload over the limit; a record whose only
    // fault is its payload's size fails with EMSGSIZE.
    if (cmd.error() == Error::kMessageTooLong) CHECK(v.too_long);
    if (!v.invalid) CHECK(cmd.error() == Error::kMessageTooLong);
    return 0;
  }
  CHECK(!v.invalid && !v.too_long);
  const ServerCommand& c = cmd.value();
  lpc_record h;
  std::memcpy(&h, data.data(), sizeof h);
  CHECK(c.type == h.type && c.conn_id == h.conn_id && c.msg_id == h.msg_id);
  CHECK(c.flags == h.flags && c.status == h.status);
  const size_t attributes = c.attributes.size();
  CHECK(c.attributes.flags() == (h.flags & LPC_MESSAGE_VIEW) ||
        h.type == LPC_REC_PORT_OPTIONS);
  CHECK(attributes + c.payload.size() == h.length);
  CHECK(c.payload.data() == data.data() + sizeof h + attributes);
  // Encoding the decoded command gives back the very bytes written.
  Bytes body;
  c.attributes.AppendTo(body);
  body.insert(body.end(), c.payload.begin(), c.payload.end());
  Bytes again =
      EncodeCommand(c.type, c.conn_id, c.msg_id, c.flags, c.status, body);
  CHECK(again.size() == data.size());
  CHECK(std::memcmp(again.data(), data.data(), data.size()) == 0);
  CheckDecision(c, state);
  return 0;
}
