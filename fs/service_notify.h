// Readiness for systemd's Type=notify (lpcfs.service, lpcfs.8 "MOUNTING AT
// BOOT"), without libsystemd: the protocol of sd_notify(3) is one datagram
// on the AF_UNIX socket that $NOTIFY_SOCKET names, and systemd documents it
// as a stable interface for services that do not link the library.
#pragma once

#include <string>

namespace lpc {

// Sends "READY=1" to $NOTIFY_SOCKET: a path, or a name in the abstract
// namespace if it starts with '@'. Does nothing without $NOTIFY_SOCKET.
// Returns what failed; empty on success and when there was nothing to do.
std::string NotifyReady();

}  // namespace lpc
