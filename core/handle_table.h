// The open files of the mount that the broker knows: what each one is
// (its kind decides every operation on it) and its poll handle.
#pragma once

#include <fcntl.h>

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

#include "ids.h"
#include "stats_snapshot.h"

namespace lpc {

enum class HandleKind : uint8_t {
  kServer,            // the port creator's handle: records
  kClient,            // a client's communication port: plain messages
  kServerConnection,  // .conn/ID: the server's end of one connection
  kStats,             // .stats: a text snapshot
  kMonitor,           // .monitor: its queue is in the MonitorHub
};

struct Handle {
  HandleId id;
  HandleKind kind = HandleKind::kStats;
  PortId port;     // kServer, kClient, kServerConnection
  ConnId conn;     // kClient, kServerConnection
  PollToken poll;  // to notify when readiness changes
  // The open(2) access mode (O_RDONLY, O_WRONLY, O_RDWR). The kernel checks
  // it for read(2) and write(2), but not for ioctls: LPC_IOC_TRANSFER does.
  int access = O_RDWR;
  // kStats: the text taken at open, and whose it is (lpc.7 "STATS").
  StatsSnapshot snapshot;
  uint32_t reader_uid = 0;
};

class HandleTable {
 public:
  Handle* Find(HandleId id);
  Handle& Add(Handle handle);
  std::optional<Handle> Take(HandleId id);
  size_t size() const { return handles_.size(); }
  // Open .stats handles of one user.
  size_t StatsHandlesOf(uint32_t uid) const;

  template <class F>
  void ForEach(F&& f) const {
    for (const auto& [id, h] : handles_) f(h);
  }

 private:
  std::unordered_map<HandleId, Handle> handles_;
};

}  // namespace lpc
