// Encoding and decoding of the records exchanged on a server handle
// (include/lpc.h, lpc.7 "SERVER HANDLE"). Pure functions over bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "caller.h"
#include "errors.h"
#include "lpc.h"
#include "message_attributes.h"

namespace lpc {

// A record the server writes, checked for well-formedness but not yet
// against broker state.
struct ServerCommand {
  uint32_t type = 0;
  uint64_t conn_id = 0;
  uint64_t msg_id = 0;
  uint32_t flags = 0;
  int32_t status = 0;
  // SEND and REPLY: the message's bytes, after its attributes.
  std::span<const std::byte> payload;
  MessageAttributes attributes;
};

// Why a record was refused: the header field at fault and what is wrong
// with it, for the daemon's log (lpcfs.8 "LOGGING"). The three usual
// mistakes get their own words: a CONNECT record echoed back as ACCEPT
// (pid/uid/gid kept), header and payload in two writes, `length` that
// counts the header.
struct RecordFault {
  const char* field = "";
  std::string why;
};

// Checks the layout rules of lpc.7: one whole record, a known type, unused
// fields zero, payload sizes within limits. Errors: kInvalid for malformed
// records, kMessageTooLong for a payload over max_message; `fault`, if
// given, then says which field and why.
Result<ServerCommand> DecodeServerCommand(std::span<const std::byte> data,
                                          size_t max_message,
                                          RecordFault* fault = nullptr);

// Builds the bytes of a record the server reads.
Bytes EncodeRecord(uint32_t type, uint64_t conn_id, uint64_t msg_id,
                   const Sender& sender, uint32_t flags,
                   std::span<const std::byte> payload);
// The same for a message with attributes: their flags are added to
// `flags`, their bytes come before the payload and count in `length`.
Bytes EncodeRecord(uint32_t type, uint64_t conn_id, uint64_t msg_id,
                   const Sender& sender, uint32_t flags,
                   const MessageAttributes& attributes,
                   std::span<const std::byte> payload);

// The payload of an LPC_REC_CONNECT record.
Bytes EncodeConnectInfo(const Caller& caller);

// Builds a server command's bytes; for tests and clients written in C++.
Bytes EncodeCommand(uint32_t type, uint64_t conn_id, uint64_t msg_id,
                    uint32_t flags, int32_t status,
                    std::span<const std::byte> payload = {});

}  // namespace lpc
