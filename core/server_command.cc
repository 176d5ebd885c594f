#include "server_command.h"

#include "lpc.h"

namespace lpc {
namespace {

CommandDecision Fail(Error e) { return {CommandAction::kFail, e}; }
CommandDecision Do(CommandAction a) { return {a, Error::kInvalid}; }

}  // namespace

CommandDecision DecideServerCommand(const ServerCommand& cmd,
                                    const CommandTarget& target) {
  if (cmd.type == LPC_REC_PORT_OPTIONS) return Do(CommandAction::kSetOptions);
  // A connection that never existed, belongs to another port, was refused
  // or has been reaped: lpc.7 gives ENOTCONN for all of them alike.
  if (!target.exists || target.stage == Stage::kRefused) {
    return Fail(Error::kNotConnected);
  }
  bool pending = target.stage == Stage::kRequested;
  switch (cmd.type) {
    case LPC_REC_ACCEPT:
      if (!pending) return Fail(Error::kAlreadyConnected);
      return Do(CommandAction::kAccept);
    case LPC_REC_REJECT: {
      Error why;
      // The status is checked before the state (lpc.7 LPC_REC_REJECT).
      if (!RejectStatusToError(cmd.status, &why)) return Fail(Error::kInvalid);
      if (!pending) return Fail(Error::kAlreadyConnected);
      return {CommandAction::kReject, why};
    }
    case LPC_REC_SEND:
    case LPC_REC_REPLY:
      if (pending || ServerGone(target.stage)) {
        return Fail(Error::kNotConnected);
      }
      if (ClientGone(target.stage)) return Fail(Error::kBrokenPipe);
      if (cmd.type == LPC_REC_REPLY && !target.reply_awaited) {
        return Fail(Error::kNoMessage);
      }
      return Do(CommandAction::kSend);
    case LPC_REC_DISCONNECT:
      if (pending || ServerGone(target.stage)) {
        return Fail(Error::kNotConnected);
      }
      return Do(CommandAction::kDisconnect);
  }
  return Fail(Error::kInvalid);  // DecodeServerCommand lets no other type by
}

}  // namespace lpc
