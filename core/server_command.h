// What a record written to a server handle does (lpc.7 "Writing records"),
// decided from plain values before anything changes, so that a record
// that fails has had no effect. The Broker applies the decision.
#pragma once

#include <cstdint>

#include "connection.h"
#include "errors.h"
#include "records.h"

namespace lpc {

// What the broker knows of the connection a command names.
struct CommandTarget {
  bool exists = false;  // a connection of this port, not yet reaped
  Stage stage = Stage::kRequested;
  bool reply_awaited = false;  // the command's msg_id awaits a reply
};

enum class CommandAction : uint8_t {
  kFail,        // the write fails with `error`, nothing changes
  kSetOptions,  // LPC_REC_PORT_OPTIONS
  kAccept,
  kReject,      // the client's open(2) fails with `error`
  kSend,        // LPC_REC_SEND, or LPC_REC_REPLY to the command's msg_id
  kDisconnect,  // the server side ends the connection
};

struct CommandDecision {
  CommandAction action = CommandAction::kFail;
  Error error = Error::kInvalid;
  friend bool operator==(const CommandDecision&,
                         const CommandDecision&) = default;
};

// `command` is well formed (DecodeServerCommand); `target` is the state of
// the connection it names (ignored for LPC_REC_PORT_OPTIONS).
CommandDecision DecideServerCommand(const ServerCommand& command,
                                    const CommandTarget& target);

}  // namespace lpc
