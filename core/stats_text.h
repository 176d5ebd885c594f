// The text of /.stats (lpc.7 "STATS"), from rows the Broker fills in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acl.h"
#include "name_escape.h"
#include "namespace.h"
#include "server_port.h"
#include "stats_snapshot.h"
#include "tables.h"

namespace lpc {

struct ConnectionRow {
  uint64_t id = 0;
  const char* state = "open";  // pending, open or closed
  uint32_t client_pid = 0;
  uint32_t client_uid = 0;
  uint64_t client_caps = 0;  // effective capabilities at connect
  size_t to_server_messages = 0, to_server_bytes = 0;
  size_t to_client_messages = 0, to_client_bytes = 0;
  bool bound = false;
  size_t calls = 0;              // calls waiting for their replies
  uint64_t replies_dropped = 0;  // replies to calls that had ended
  int64_t since = 0;             // Connection::since()
};

struct PortRow {
  std::string path;  // as the names are, unescaped
  uint32_t owner = 0, group = 0, perm = 0;
  bool auto_accept = false;
  size_t pending = 0, connections = 0, records = 0;
  uint32_t server_pid = 0;  // ServerPort::server()
  PortCounters counters;
  std::vector<ConnectionRow> conns;  // in increasing id
};

// One "port" line per row, in the order given, each followed by its
// "conn" lines, with the paths escaped.
std::string FormatStats(const std::vector<PortRow>& ports);

// The escaped paths of the folders that hold ports, kept from one
// snapshot to the next: every open .stats file shares them instead of
// holding copies, and a snapshot builds only the paths it does not have.
// It keeps the paths the last snapshot used, until a folder is renamed.
class FolderPaths {
 public:
  // "" for the root.
  std::shared_ptr<const std::string> PathOf(Namespace& names,
                                            const Node& folder);
  // Forgets the paths the snapshot just made did not use.
  void EndSnapshot();

 private:
  uint64_t moves_ = 0;  // Namespace::folder_moves() they were built at
  std::unordered_map<NodeId, std::shared_ptr<const std::string>> paths_;
  std::unordered_map<NodeId, std::shared_ptr<const std::string>> used_;
};

// The snapshot `reader` sees: every port it could find by path, in the
// order of creation (increasing id), each with its connections. A port
// is shown if every folder from the mount root down to the port's folder
// grants `reader` search permission (an unlinked port: if the reader owns
// it); a reader that may search anything sees every port.
StatsSnapshot RenderStats(Tables& tables, Namespace& names,
                          const Accessor& reader, FolderPaths& paths);

}  // namespace lpc
