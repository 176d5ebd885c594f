#include "records.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace lpc {

Result<ServerCommand> DecodeServerCommand(std::span<const std::byte> data,
                                          size_t max_message,
                                          RecordFault* fault) {
  auto fail = [fault](const char* field, std::string why,
                      Error e = Error::kInvalid) {
    if (fault) *fault = {field, std::move(why)};
    return e;
  };
  lpc_record h;
  if (data.size() < sizeof h) {
    return fail("length", "a write of " + std::to_string(data.size()) +
                              " bytes is shorter than the 48-byte header");
  }
  std::memcpy(&h, data.data(), sizeof h);
  // Before the length: a record read and written back has the length of
  // what it carried, but pid/uid/gid say better what happened.
  if (h.pid != 0 || h.uid != 0 || h.gid != 0) {
    const char* field = h.pid ? "pid" : h.uid ? "uid" : "gid";
    return fail(field,
                "must be 0 in a record the server writes (a record read "
                "and written back keeps them: clear them)");
  }
  const size_t payload = data.size() - sizeof h;
  if (payload != h.length) {
    std::string why = "is " + std::to_string(h.length) + " but the write has " +
                      std::to_string(payload) + " payload bytes";
    if (payload == 0) {
      why += ": header and payload must be one write";
    } else if (h.length == data.size()) {
      why += ": length counts the payload only, not the header";
    }
    return fail("length", why);
  }
  if (h.reserved != 0) return fail("reserved", "must be 0");
  ServerCommand cmd;
  cmd.type = h.type;
  cmd.conn_id = h.conn_id;
  cmd.msg_id = h.msg_id;
  cmd.flags = h.flags;
  cmd.status = h.status;
  cmd.payload = data.subspan(sizeof h);

  auto must_be_zero = [&](const char* field) {
    return fail(field, "must be 0 in this record type");
  };
  bool carries_payload = h.type == LPC_REC_SEND || h.type == LPC_REC_REPLY;
  switch (h.type) {
    case LPC_REC_ACCEPT:
    case LPC_REC_DISCONNECT:
      if (h.flags) return must_be_zero("flags");
      if (h.status) return must_be_zero("status");
      if (h.msg_id) return must_be_zero("msg_id");
      break;
    case LPC_REC_SEND:
      if (h.flags & ~uint32_t{LPC_MESSAGE_VIEW}) {
        return fail("flags", "may be LPC_MESSAGE_VIEW only");
      }
      if (h.status) return must_be_zero("status");
      if (h.msg_id) return must_be_zero("msg_id");
      break;
    case LPC_REC_REJECT:
      if (h.flags) return must_be_zero("flags");
      if (h.msg_id) return must_be_zero("msg_id");
      break;
    case LPC_REC_REPLY:
      if (h.flags & ~uint32_t{LPC_MESSAGE_VIEW}) {
        return fail("flags", "may be LPC_MESSAGE_VIEW only");
      }
      if (h.status) return must_be_zero("status");
      if (h.msg_id == 0) {
        return fail("msg_id", "must name the message replied to");
      }
      break;
    case LPC_REC_PORT_OPTIONS:
      if (h.conn_id) return must_be_zero("conn_id");
      if (h.msg_id) return must_be_zero("msg_id");
      if (h.status) return must_be_zero("status");
      if (h.flags & ~uint32_t{LPC_PORT_AUTO_ACCEPT | LPC_PORT_READ_BATCHES}) {
        return fail("flags", "has unknown bits");
      }
      if (h.length != 0 && h.length != sizeof(lpc_port_limits)) {
        return fail("length", "must be 0 or sizeof(struct lpc_port_limits)");
      }
      if (h.length != 0) {
        lpc_port_limits limits;
        std::memcpy(&limits, cmd.payload.data(), sizeof limits);
        if (limits.reserved)
          return fail("reserved", "of lpc_port_limits: must be 0");
        if (limits.max_message > LPC_MAX_MESSAGE_LIMIT) {
          return fail("max_message", "is over LPC_MAX_MESSAGE_LIMIT (" +
                                         std::to_string(LPC_MAX_MESSAGE_LIMIT) +
                                         ")");
        }
      }
      break;
    default:
      return fail("type", "is " + std::to_string(h.type) +
                              ", not a record a server writes");
  }
  if (carries_payload) {
    std::string why;
    auto split =
        DecodeAttributes(h.flags, cmd.payload, AttributeSite::kServer, &why);
    if (!split) return fail("payload", why);
    cmd.attributes = split->attributes;
    cmd.payload = split->message;
    if (cmd.payload.empty()) {
      return fail("length", "must not be 0 for a message");
    }
    if (cmd.payload.size() > max_message) {
      return fail("length",
                  "is over the message limit of " + std::to_string(max_message),
                  Error::kMessageTooLong);
    }
  } else if (h.length != 0 && h.type != LPC_REC_PORT_OPTIONS) {
    return fail("length", "must be 0 in this record type");
  }
  if (h.type != LPC_REC_PORT_OPTIONS && h.conn_id == 0) {
    return fail("conn_id", "must name a connection");
  }
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
  return EncodeRecord(type, conn_id, msg_id, sender, flags, MessageAttributes{},
                      payload);
}

Bytes EncodeRecord(uint32_t type, uint64_t conn_id, uint64_t msg_id,
                   const Sender& sender, uint32_t flags,
                   const MessageAttributes& attributes,
                   std::span<const std::byte> payload) {
  lpc_record h{};
  h.type = type;
  h.length = static_cast<uint32_t>(attributes.size() + payload.size());
  h.conn_id = conn_id;
  h.msg_id = msg_id;
  h.pid = sender.pid;
  h.uid = sender.uid;
  h.gid = sender.gid;
  h.flags = flags | attributes.flags();
  Bytes out;
  out.reserve(sizeof h + h.length);
  const auto* header = reinterpret_cast<const std::byte*>(&h);
  out.insert(out.end(), header, header + sizeof h);
  attributes.AppendTo(out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
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
