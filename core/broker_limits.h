// Tunable bounds of the broker; lpcfs.8 documents each as a -o option.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lpc.h"
#include "quota.h"

namespace lpc {

struct Limits {
  // Per connection and direction: queued messages and payload bytes. A
  // writer to a full queue waits (or gets EAGAIN); nothing is dropped.
  size_t queue_messages = 64;
  size_t queue_bytes = 64 * 1024;
  // Connection requests of one port waiting for accept or reject.
  size_t backlog = 128;
  // How long a connection request waits for the server; 0 means forever.
  uint32_t connect_timeout_ms = 30'000;
  // Unreplied client message ids remembered per connection for REPLY.
  size_t reply_window = 1024;
  // Open .stats files per user: each holds a snapshot (lpc.7 "STATS").
  size_t stats_handles = 16;
  // Open .monitor files per user, and the bytes of events each may hold
  // queued before it loses events (lpc.7 "MONITOR").
  size_t monitor_handles = 4;
  size_t monitor_queue = 256 * 1024;
  // A port's largest message until its server sets its own (lpc.7
  // "LARGE MESSAGES"); at most LPC_MAX_MESSAGE_LIMIT.
  size_t max_message = LPC_DEFAULT_MAX_MESSAGE;
  // Connections of one port, pending or accepted, until reaped: bounds
  // what a slow server of an auto-accept port lets its clients pile up
  // (lpcfs.8 "Quota options").
  size_t port_connections = 4096;
  // Folder nesting below the mount root (lpc.7 "QUOTAS").
  size_t folder_depth = 32;
  // The largest section (lpc.7 "SECTIONS"): ftruncate(2) or a write past
  // it fails EFBIG.
  uint64_t section_max = uint64_t{1} << 30;
  // Live views a connection's messages carried, both ways (lpc.7
  // "VIEWS"): one more fails ENOBUFS.
  size_t views_per_connection = 64;
  // Per-user quotas (core/quota.h).
  QuotaLimits quota;
};

}  // namespace lpc
