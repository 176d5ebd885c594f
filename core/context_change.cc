#include "context_change.h"

#include "lpc.h"

namespace lpc {
namespace {

bool SameProcess(const Sender& a, const Sender& b) {
  if (a.pid != b.pid) return false;
  if (a.start_time == 0 || b.start_time == 0) return true;
  return a.start_time == b.start_time;
}

}  // namespace

uint32_t ContextChangeFlags(const Caller& at_connect, const Writer& writer) {
  const Sender& then = at_connect.sender;
  const Sender& now = writer.sender;
  uint32_t flags = 0;
  if (now.uid != then.uid || now.gid != then.gid ||
      (writer.groups && *writer.groups != at_connect.groups)) {
    flags |= LPC_MESSAGE_IDENTITY_CHANGED;
  }
  if (!SameProcess(then, now)) flags |= LPC_MESSAGE_PROCESS_CHANGED;
  return flags;
}

}  // namespace lpc
