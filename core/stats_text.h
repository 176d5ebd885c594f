// The text of /.stats (lpc.7 "STATS"), from rows the Broker fills in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "namespace.h"
#include "tables.h"

namespace lpc {

struct ConnectionRow {
  uint64_t id = 0;
  const char* state = "open";  // pending, open or closed
  uint32_t client_pid = 0;
  uint32_t client_uid = 0;
  size_t to_server_messages = 0, to_server_bytes = 0;
  size_t to_client_messages = 0, to_client_bytes = 0;
  bool bound = false;
};

struct PortRow {
  std::string path;
  uint32_t owner = 0, group = 0, perm = 0;
  bool auto_accept = false;
  size_t pending = 0, connections = 0, records = 0;
  std::vector<ConnectionRow> conns;  // in increasing id
};

// One "port" line per row, in the order given, each followed by its
// "conn" lines.
std::string FormatStats(const std::vector<PortRow>& ports);

// The whole text: every port in the order of creation (increasing id).
std::string RenderStats(Tables& tables, Namespace& names);

}  // namespace lpc
