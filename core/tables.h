// The broker's tables of live objects: ports, connections and open
// handles, with the ids they are named by. One Tables belongs to one
// Broker and is guarded by its lock.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "connection.h"
#include "handle_table.h"
#include "ids.h"
#include "server_port.h"

namespace lpc {

struct Tables {
  ServerPort* FindPort(PortId id) {
    auto it = ports.find(id);
    return it == ports.end() ? nullptr : it->second.get();
  }
  Connection* FindConnection(ConnId id) {
    auto it = connections.find(id);
    return it == connections.end() ? nullptr : it->second.get();
  }
  // Ports, connections and handles share one counter, so ids are unique
  // across kinds and increasing (lpc.7: "increasing but not consecutive").
  uint64_t NextId() { return ++last_id; }
  HandleId NewHandle(HandleKind kind, PortId port, ConnId conn,
                     int access = O_RDWR) {
    HandleId id(NextId());
    Handle h;
    h.id = id;
    h.kind = kind;
    h.port = port;
    h.conn = conn;
    h.access = access & O_ACCMODE;
    handles.Add(std::move(h));
    return id;
  }
  // The connection may have finished: the broker's reaping pass at the end
  // of the call looks at it.
  void Touch(const Connection& conn) { touched.insert(conn.id()); }

  std::unordered_map<PortId, std::unique_ptr<ServerPort>> ports;
  std::unordered_map<ConnId, std::unique_ptr<Connection>> connections;
  HandleTable handles;
  std::unordered_set<ConnId> touched;
  uint64_t last_id = 0;
};

}  // namespace lpc
