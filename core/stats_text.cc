#include "stats_text.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <unordered_map>
#include <utility>

#include "name_escape.h"

namespace lpc {

namespace {

std::string PortTail(const PortRow& row) {
  const PortCounters& n = row.counters;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                " owner=%u group=%u mode=0%03o auto_accept=%d pending=%zu "
                "connections=%zu records=%zu server_pid=%u "
                "messages_to_server=%llu bytes_to_server=%llu "
                "messages_to_client=%llu bytes_to_client=%llu refused=%llu "
                "rejected_records=%llu\n",
                row.owner, row.group, row.perm, row.auto_accept ? 1 : 0,
                row.pending, row.connections, row.records, row.server_pid,
                static_cast<unsigned long long>(n.messages_to_server),
                static_cast<unsigned long long>(n.bytes_to_server),
                static_cast<unsigned long long>(n.messages_to_client),
                static_cast<unsigned long long>(n.bytes_to_client),
                static_cast<unsigned long long>(n.refused),
                static_cast<unsigned long long>(n.rejected_records));
  return buf;
}

std::string ConnHead(uint64_t id) {
  return "conn " + std::to_string(id) + " port=";
}

std::string ConnTail(const ConnectionRow& c) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                " state=%s client_pid=%u client_uid=%u client_caps=0x%llx "
                "to_server=%zu/%zu to_client=%zu/%zu bound=%d calls=%zu "
                "replies_dropped=%llu since=%lld\n",
                c.state, c.client_pid, c.client_uid,
                static_cast<unsigned long long>(c.client_caps),
                c.to_server_messages, c.to_server_bytes, c.to_client_messages,
                c.to_client_bytes, c.bound ? 1 : 0, c.calls,
                static_cast<unsigned long long>(c.replies_dropped),
                static_cast<long long>(c.since));
  return buf;
}

void AddPortLines(StatsSnapshot& out, StatsSnapshot::Path path,
                  const PortRow& row) {
  size_t p = out.AddPath(std::move(path));
  out.AddLine("port ", p, PortTail(row));
  for (const ConnectionRow& c : row.conns) {
    out.AddLine(ConnHead(c.id), p, ConnTail(c));
  }
}

// Which folders a reader may search its way through, each worked out
// once per snapshot: the cost of a snapshot grows with the folders and
// ports, not with ports times depth (lpc.7 "STATS", "Cost").
class FolderView {
 public:
  FolderView(Namespace& names, const Accessor& reader)
      : names_(names), reader_(reader) {}

  // True if every folder from the root down to `folder` lets the reader
  // search it.
  bool Reachable(const Node& folder) {
    // The folders up to the first one already decided, deepest first.
    std::vector<const Node*> chain;
    const Node* n = &folder;
    bool reachable = true;
    for (;;) {
      auto it = reachable_.find(n->attr.ino);
      if (it != reachable_.end()) {
        reachable = it->second;
        break;
      }
      chain.push_back(n);
      if (n->attr.ino == Namespace::kRootIno) break;
      n = names_.Find(n->parent);
      if (!n) {  // not reachable from the root at all
        reachable = false;
        break;
      }
    }
    for (auto i = chain.rbegin(); i != chain.rend(); ++i) {
      const Node& f = **i;
      reachable =
          reachable && MayAccess(reader_, f.attr.uid, f.attr.gid, f.attr.perm,
                                 f.access_acl ? &*f.access_acl : nullptr,
                                 /*is_folder=*/true, kAclExecute);
      reachable_[f.attr.ino] = reachable;
    }
    return reachable;
  }

 private:
  Namespace& names_;
  const Accessor& reader_;
  std::unordered_map<NodeId, bool> reachable_;
};

}  // namespace

std::string FormatStats(const std::vector<PortRow>& ports) {
  StatsSnapshot out;
  for (const PortRow& port : ports) {
    AddPortLines(out, {nullptr, EscapeName(port.path)}, port);
  }
  return out.Text();
}

std::shared_ptr<const std::string> FolderPaths::PathOf(Namespace& names,
                                                       const Node& folder) {
  if (names.folder_moves() != moves_) {
    // A folder was renamed or moved: any path may have changed.
    paths_.clear();
    used_.clear();
    moves_ = names.folder_moves();
  }
  NodeId ino = folder.attr.ino;
  auto it = used_.find(ino);
  if (it != used_.end()) return it->second;
  std::shared_ptr<const std::string> path;
  if (auto kept = paths_.find(ino); kept != paths_.end()) {
    path = kept->second;
  } else {
    std::vector<const Node*> chain;
    for (const Node* n = &folder; n && n->attr.ino != Namespace::kRootIno;
         n = names.Find(n->parent)) {
      chain.push_back(n);
    }
    auto built = std::make_shared<std::string>();
    for (auto i = chain.rbegin(); i != chain.rend(); ++i) {
      *built += '/';
      AppendEscapedName((*i)->name, *built);
    }
    path = std::move(built);
  }
  used_.emplace(ino, path);
  return path;
}

void FolderPaths::EndSnapshot() {
  paths_.swap(used_);
  used_.clear();
}

StatsSnapshot RenderStats(Tables& tables, Namespace& names,
                          const Accessor& reader, FolderPaths& paths) {
  std::vector<ServerPort*> ports;
  for (auto& [id, port] : tables.ports) ports.push_back(port.get());
  std::sort(ports.begin(), ports.end(),
            [](ServerPort* a, ServerPort* b) { return a->id() < b->id(); });
  FolderView view(names, reader);
  StatsSnapshot out;
  for (ServerPort* port : ports) {
    const Node& node = *names.Find(port->node());
    StatsSnapshot::Path path;
    if (node.linked) {
      const Node* folder = names.Find(node.parent);
      if (!folder || !view.Reachable(*folder)) continue;
      path.folder = paths.PathOf(names, *folder);
      path.leaf = "/";
      AppendEscapedName(node.name, path.leaf);
    } else {
      // No path finds it any more: only its owner, and a reader that may
      // search anything, still see it.
      if (!reader.may_search_anything && reader.uid != node.attr.uid) {
        continue;
      }
      path.leaf = "(unlinked)";
    }
    PortRow row;
    row.owner = node.attr.uid;
    row.group = node.attr.gid;
    row.perm = node.attr.perm;
    row.auto_accept = port->auto_accept();
    row.pending = port->requests().size();
    row.connections = port->connections().size();
    row.records = port->records().size();
    row.server_pid = port->server().pid;
    row.counters = port->counters();
    for (auto& [id, conn] : port->connections()) {
      ConnectionRow c;
      c.id = id.value();
      c.state = conn->pending()    ? "pending"
                : conn->carrying() ? "open"
                                   : "closed";
      c.client_pid = conn->client().sender.pid;
      c.client_uid = conn->client().sender.uid;
      c.client_caps = conn->client().cap_effective;
      const MessageQueue& up = conn->channel(Direction::kToServer).queue();
      const MessageQueue& down = conn->channel(Direction::kToClient).queue();
      c.to_server_messages = up.count();
      c.to_server_bytes = up.bytes();
      c.to_client_messages = down.count();
      c.to_client_bytes = down.bytes();
      c.bound = conn->bound();
      c.calls = conn->calls().size();
      c.replies_dropped = conn->calls().replies_dropped();
      c.since = conn->since();
      row.conns.push_back(c);
    }
    AddPortLines(out, std::move(path), row);
  }
  paths.EndSnapshot();
  return out;
}

}  // namespace lpc
