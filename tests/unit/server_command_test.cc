// DecideServerCommand on a table of cases: every record a server may write
// against every state the connection it names can be in (lpc.7 "Writing
// records").
#include "server_command.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "lpc.h"

namespace lpc {
namespace {

ServerCommand Cmd(uint32_t type, int32_t status = 0, uint64_t msg = 0) {
  ServerCommand c;
  c.type = type;
  c.conn_id = 7;
  c.msg_id = msg;
  c.status = status;
  return c;
}

constexpr CommandDecision Do(CommandAction a) { return {a, Error::kInvalid}; }
constexpr CommandDecision Fail(Error e) { return {CommandAction::kFail, e}; }

TEST(DecideServerCommand, Table) {
  const CommandTarget missing{false, Stage::kOpen, false};
  auto at = [](Stage s, bool awaited = false) {
    return CommandTarget{true, s, awaited};
  };
  struct Case {
    const char* what;
    ServerCommand cmd;
    CommandTarget target;
    CommandDecision want;
  } cases[] = {
      {"options need no connection", Cmd(LPC_REC_PORT_OPTIONS), missing,
       Do(CommandAction::kSetOptions)},
      {"accept unknown", Cmd(LPC_REC_ACCEPT), missing,
       Fail(Error::kNotConnected)},
      {"accept pending", Cmd(LPC_REC_ACCEPT), at(Stage::kRequested),
       Do(CommandAction::kAccept)},
      {"accept refused", Cmd(LPC_REC_ACCEPT), at(Stage::kRefused),
       Fail(Error::kNotConnected)},
      {"accept accepted", Cmd(LPC_REC_ACCEPT), at(Stage::kOpen),
       Fail(Error::kAlreadyConnected)},
      {"accept ended", Cmd(LPC_REC_ACCEPT), at(Stage::kClosed),
       Fail(Error::kAlreadyConnected)},
      {"reject pending",
       Cmd(LPC_REC_REJECT, EACCES),
       at(Stage::kRequested),
       {CommandAction::kReject, Error::kAccessDenied}},
      {"reject status 0",
       Cmd(LPC_REC_REJECT, 0),
       at(Stage::kRequested),
       {CommandAction::kReject, Error::kConnectionRefused}},
      {"reject bad status before state", Cmd(LPC_REC_REJECT, EINTR),
       at(Stage::kOpen), Fail(Error::kInvalid)},
      {"reject accepted", Cmd(LPC_REC_REJECT, EBUSY), at(Stage::kOpen),
       Fail(Error::kAlreadyConnected)},
      {"reject refused", Cmd(LPC_REC_REJECT), at(Stage::kRefused),
       Fail(Error::kNotConnected)},
      {"send pending", Cmd(LPC_REC_SEND), at(Stage::kRequested),
       Fail(Error::kNotConnected)},
      {"send open", Cmd(LPC_REC_SEND), at(Stage::kOpen),
       Do(CommandAction::kSend)},
      {"send client gone", Cmd(LPC_REC_SEND), at(Stage::kClientGone),
       Fail(Error::kBrokenPipe)},
      {"send server gone", Cmd(LPC_REC_SEND), at(Stage::kServerGone),
       Fail(Error::kNotConnected)},
      {"send both gone", Cmd(LPC_REC_SEND), at(Stage::kClosed),
       Fail(Error::kNotConnected)},
      {"reply awaited", Cmd(LPC_REC_REPLY, 0, 3), at(Stage::kOpen, true),
       Do(CommandAction::kSend)},
      {"reply not awaited", Cmd(LPC_REC_REPLY, 0, 3), at(Stage::kOpen),
       Fail(Error::kNoMessage)},
      {"reply client gone", Cmd(LPC_REC_REPLY, 0, 3),
       at(Stage::kClientGone, true), Fail(Error::kBrokenPipe)},
      {"disconnect open", Cmd(LPC_REC_DISCONNECT), at(Stage::kOpen),
       Do(CommandAction::kDisconnect)},
      {"disconnect client gone", Cmd(LPC_REC_DISCONNECT),
       at(Stage::kClientGone), Do(CommandAction::kDisconnect)},
      {"disconnect pending", Cmd(LPC_REC_DISCONNECT), at(Stage::kRequested),
       Fail(Error::kNotConnected)},
      {"disconnect twice", Cmd(LPC_REC_DISCONNECT), at(Stage::kServerGone),
       Fail(Error::kNotConnected)},
  };
  for (const Case& c : cases) {
    CommandDecision got = DecideServerCommand(c.cmd, c.target);
    EXPECT_EQ(got.action, c.want.action) << c.what;
    if (c.want.action == CommandAction::kFail ||
        c.want.action == CommandAction::kReject) {
      EXPECT_EQ(got.error, c.want.error)
          << c.what << ": " << Describe(got.error);
    }
  }
}

TEST(Stage, WhichEndsHaveGone) {
  struct Case {
    Stage stage;
    bool client_gone, server_gone;
  } cases[] = {
      {Stage::kRequested, false, false}, {Stage::kRefused, true, true},
      {Stage::kOpen, false, false},      {Stage::kClientGone, true, false},
      {Stage::kServerGone, false, true}, {Stage::kClosed, true, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClientGone(c.stage), c.client_gone) << int(c.stage);
    EXPECT_EQ(ServerGone(c.stage), c.server_gone) << int(c.stage);
  }
}

}  // namespace
}  // namespace lpc
