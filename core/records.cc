#include "records.h"

#include <algorithm>
#include <cstring>

namespace lpc {

Result<ServerCommand> DecodeServerCommand(std::span<const std::byte> data,
                                          size_t max_message) {
  lpc_record h;
  if (data.size() < sizeof h) return Error::kInvalid;
  std::memcpy(&h, data.data(), sizeof h);
  if (data.size() != sizeof h + h.length) return Error::kInvalid;
  if (h.reserved != 0 || h.pid != 0 || h.uid != 0 || h.gid != 0) {
    return Error::kInvalid;
  }
  ServerCommand cmd;
  cmd.type = h.type;
  cmd.conn_id = h.conn_id;
  cmd.msg_id = h.msg_id;
  cmd.flags = h.flags;
  cmd.status = h.status;
  cmd.payload = data.subspan(sizeof h);

  bool carries_payload = h.type == LPC_REC_SEND || h.type == LPC_REC_REPLY;
  switch (h.type) {
    case LPC_REC_ACCEPT:
    case LPC_REC_DISCONNECT:
      if (h.flags || h.status || h.msg_id) return Error::kInvalid;
      break;
    case LPC_REC_REJECT:
      if (h.flags || h.msg_id) return Error::kInvalid;
      break;
    case LPC_REC_SEND:
      if (h.flags || h.status || h.msg_id) return Error::kInvalid;
      break;
    case LPC_REC_REPLY:
      if (h.flags || h.status || h.msg_id == 0) return Error::kInvalid;
      break;
    case LPC_REC_PORT_OPTIONS:
      if (h.conn_id || h.msg_id || h.status) return Error::kInvalid;
      if (h.flags & ~uint32_t{LPC_PORT_AUTO_ACCEPT | LPC_PORT_READ_BATCHES}) {
        return Error::kInvalid;
      }
      break;
    default:
      return Error::kInvalid;
  }
  if (carries_payload) {
    if (h.length == 0) return Error::kInvalid;
    if (h.length > max_message) return Error::kMessageTooLong;
  } else if (h.length != 0) {
    return Error::kInvalid;
  }
  if (h.type != LPC_REC_PORT_OPTIONS && h.conn_id == 0) return Error::kInvalid;
  return cmd;
}

namespace {

Bytes HeaderAndPayload(const lpc_record& h,
                       std::span<const std::byte> payload) {
  Bytes out(sizeof h + payload.size());
  std::memcpy(out.data(), &h, sizeof h);
  if (!payload.empty()) {
    std::memcpy(out.data() + sizeof h, payload.data(), payload.size());
  }
  return out;
}

}  // namespace

Bytes EncodeRecord(uint32_t type, uint64_t conn_id, uint64_t msg_id,
                   const Sender& sender, uint32_t flags,
                   std::span<const std::byte> payload) {
  lpc_record h{};
  h.type = type;
  h.length = static_cast<uint32_t>(payload.size());
  h.conn_id = conn_id;
  h.msg_id = msg_id;
  h.pid = sender.pid;
  h.uid = sender.uid;
  h.gid = sender.gid;
  h.flags = flags;
  return HeaderAndPayload(h, payload);
}

Bytes EncodeConnectInfo(const Caller& caller) {
  lpc_connect_info info{};
  info.cap_effective = caller.cap_effective;
  info.cap_permitted = caller.cap_permitted;
  size_t n = std::min<size_t>(caller.groups.size(), LPC_MAX_GROUPS);
  info.ngroups = static_cast<uint32_t>(n);
  lpc_connect_process process{};
  process.start_time = caller.sender.start_time;
  process.pid = caller.sender.pid;
  const size_t groups_bytes = n * sizeof(uint32_t);
  Bytes out(sizeof info + groups_bytes + sizeof process);
  std::memcpy(out.data(), &info, sizeof info);
  if (n) {
    std::memcpy(out.data() + sizeof info, caller.groups.data(), groups_bytes);
  }
  // After groups[], so that version 1 parsers, which honour ngroups, still
  // read what they know (lpc.7 "Reading records").
  std::memcpy(out.data() + sizeof info + groups_bytes, &process,
              sizeof process);
  return out;
}

Bytes EncodeCommand(uint32_t type, uint64_t conn_id, uint64_t msg_id,
                    uint32_t flags, int32_t status,
                    std::span<const std::byte> payload) {
  lpc_record h{};
  h.type = type;
  h.length = static_cast<uint32_t>(payload.size());
  h.conn_id = conn_id;
  h.msg_id = msg_id;
  h.flags = flags;
  h.status = status;
  return HeaderAndPayload(h, payload);
}

}  // namespace lpc
