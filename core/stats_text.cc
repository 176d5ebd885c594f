#include "stats_text.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace lpc {

std::string FormatStats(const std::vector<PortRow>& ports) {
  std::ostringstream out;
  for (const PortRow& port : ports) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "0%03o", port.perm);
    out << "port " << port.path << " owner=" << port.owner
        << " group=" << port.group << " mode=" << mode
        << " auto_accept=" << (port.auto_accept ? 1 : 0)
        << " pending=" << port.pending << " connections=" << port.connections
        << " records=" << port.records << "\n";
    for (const ConnectionRow& c : port.conns) {
      out << "conn " << c.id << " port=" << port.path << " state=" << c.state
          << " client_pid=" << c.client_pid << " client_uid=" << c.client_uid
          << " to_server=" << c.to_server_messages << "/" << c.to_server_bytes
          << " to_client=" << c.to_client_messages << "/" << c.to_client_bytes
          << " bound=" << (c.bound ? 1 : 0) << "\n";
    }
  }
  return out.str();
}

std::string RenderStats(Tables& tables, Namespace& names) {
  std::vector<ServerPort*> ports;
  for (auto& [id, port] : tables.ports) ports.push_back(port.get());
  std::sort(ports.begin(), ports.end(),
            [](ServerPort* a, ServerPort* b) { return a->id() < b->id(); });
  std::vector<PortRow> rows;
  for (ServerPort* port : ports) {
    const Node& node = *names.Find(port->node());
    PortRow row;
    row.path = names.PathOf(node);
    row.owner = node.attr.uid;
    row.group = node.attr.gid;
    row.perm = node.attr.perm;
    row.auto_accept = port->auto_accept();
    row.pending = port->requests().size();
    row.connections = port->connections().size();
    row.records = port->records().size();
    for (auto& [id, conn] : port->connections()) {
      ConnectionRow c;
      c.id = id.value();
      c.state = conn->pending()    ? "pending"
                : conn->carrying() ? "open"
                                   : "closed";
      c.client_pid = conn->client().sender.pid;
      c.client_uid = conn->client().sender.uid;
      const MessageQueue& up = conn->channel(Direction::kToServer).queue();
      const MessageQueue& down = conn->channel(Direction::kToClient).queue();
      c.to_server_messages = up.count();
      c.to_server_bytes = up.bytes();
      c.to_client_messages = down.count();
      c.to_client_bytes = down.bytes();
      c.bound = conn->bound();
      row.conns.push_back(c);
    }
    rows.push_back(std::move(row));
  }
  return FormatStats(rows);
}

}  // namespace lpc
