// ALPC's security-context change for lpcfs: how the writer of a client's
// message differs from the identity the connection recorded at connect
// (lpc.7 "CREDENTIALS", LPC_MESSAGE_* in include/lpc.h). A pure decision
// over plain values; fs/identity.h gathers them.
#pragma once

#include <cstdint>

#include "caller.h"

namespace lpc {

// The LPC_MESSAGE_* flags of a message written by `writer` on a
// connection whose client connected as `at_connect`:
//   LPC_MESSAGE_IDENTITY_CHANGED  fsuid or fsgid differ, or the writer's
//       groups are known and differ from the groups at connect;
//   LPC_MESSAGE_PROCESS_CHANGED   the writer is another process: another
//       pid, or the same pid with another start time (a reused pid). A
//       writer whose pid is unknown (0) on one side only counts as
//       another process; unknown on both sides (a caller in a pid
//       namespace the daemon cannot see) cannot be told apart and does
//       not. A start time unknown on either side is not compared.
uint32_t ContextChangeFlags(const Caller& at_connect, const Writer& writer);

}  // namespace lpc
