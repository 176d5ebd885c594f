#include "namespace.h"

#include <ctime>

namespace lpc {

Timestamp now_timestamp() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return {ts.tv_sec, ts.tv_nsec};
}

Namespace::Namespace() {
  auto root = std::make_unique<Node>();
  root->attr.ino = kRootIno;
  root->attr.kind = NodeKind::kDirectory;
  // Like /dev/mqueue: anyone may create, only the owner may remove.
  root->attr.perm = 01777;
  root->attr.nlink = 2;
  root->attr.atime = root->attr.mtime = root->attr.ctime = now_timestamp();
  root->held = true;
  root->parent = kRootIno;
  nodes_.emplace(kRootIno, std::move(root));
  Node* conn = add(kRootIno, ".conn", NodeKind::kDirectory, 0555, 0, 0).value();
  conn->held = true;
  conn_dir_ino_ = conn->attr.ino;
  Node* stats =
      add(kRootIno, ".stats", NodeKind::kStatsFile, 0444, 0, 0).value();
  stats->held = true;
  stats_ino_ = stats->attr.ino;
}

Node* Namespace::find(Ino ino) {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second.get();
}

Result<Node*> Namespace::child(Ino dir_ino, std::string_view name) {
  Node* dir = find(dir_ino);
  if (!dir) return Error::kNotFound;
  if (dir->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (name.size() > kMaxName) return Error::kNameTooLong;
  if (name == ".") return dir;
  if (name == "..") return find(dir->parent);
  auto it = dir->children.find(name);
  if (it == dir->children.end()) return Error::kNotFound;
  return find(it->second);
}

Result<Node*> Namespace::add(Ino parent_ino, std::string_view name,
                             NodeKind kind, uint32_t perm, uint32_t uid,
                             uint32_t gid) {
  Node* parent = find(parent_ino);
  if (!parent) return Error::kNotFound;
  if (parent->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (name.size() > kMaxName) return Error::kNameTooLong;
  if (name.empty() || name == "." || name == "..") return Error::kExists;
  if (parent->children.count(name)) return Error::kExists;
  auto node = std::make_unique<Node>();
  Node* raw = node.get();
  raw->attr.ino = ++next_ino_;
  raw->attr.kind = kind;
  raw->attr.perm = perm & 07777;
  raw->attr.uid = uid;
  raw->attr.gid = gid;
  raw->attr.nlink = kind == NodeKind::kDirectory ? 2 : 1;
  raw->attr.atime = raw->attr.mtime = raw->attr.ctime = now_timestamp();
  raw->parent = parent_ino;
  raw->name = std::string(name);
  parent->children.emplace(raw->name, raw->attr.ino);
  if (kind == NodeKind::kDirectory) ++parent->attr.nlink;
  parent->attr.mtime = parent->attr.ctime = raw->attr.ctime;
  nodes_.emplace(raw->attr.ino, std::move(node));
  return raw;
}

void Namespace::detach(Node* node) {
  if (!node->linked) return;
  Node* parent = find(node->parent);
  if (parent) {
    parent->children.erase(node->name);
    if (node->attr.kind == NodeKind::kDirectory) --parent->attr.nlink;
    parent->attr.mtime = parent->attr.ctime = now_timestamp();
  }
  node->linked = false;
  node->attr.nlink = 0;
  release_if_unused(node);
}

void Namespace::drop(Node* node) {
  node->held = false;
  if (node->linked) {
    detach(node);  // frees it too, if unused
  } else {
    release_if_unused(node);
  }
}

void Namespace::move(Node* node, Ino new_parent_ino, std::string_view name) {
  Node* old_parent = find(node->parent);
  Node* new_parent = find(new_parent_ino);
  bool dir = node->attr.kind == NodeKind::kDirectory;
  old_parent->children.erase(node->name);
  if (dir) --old_parent->attr.nlink;
  node->name = std::string(name);
  node->parent = new_parent_ino;
  new_parent->children.emplace(node->name, node->attr.ino);
  if (dir) ++new_parent->attr.nlink;
  Timestamp now = now_timestamp();
  old_parent->attr.mtime = old_parent->attr.ctime = now;
  new_parent->attr.mtime = new_parent->attr.ctime = now;
  node->attr.ctime = now;
}

void Namespace::forget(Ino ino, uint64_t count) {
  Node* node = find(ino);
  if (!node) return;
  node->lookups = count >= node->lookups ? 0 : node->lookups - count;
  release_if_unused(node);
}

void Namespace::release_if_unused(Node* node) {
  if (node->linked || node->held || node->lookups > 0) return;
  if (node->attr.ino == kRootIno) return;
  nodes_.erase(node->attr.ino);
}

std::vector<DirEntry> Namespace::list(const Node& dir) {
  std::vector<DirEntry> out;
  out.reserve(dir.children.size());
  for (const auto& [name, ino] : dir.children) {
    Node* n = find(ino);
    if (n) out.push_back({name, ino, n->attr.kind});
  }
  return out;
}

std::string Namespace::path_of(const Node& node) {
  if (!node.linked) return "(unlinked)";
  if (node.attr.ino == kRootIno) return "/";
  std::string path;
  const Node* n = &node;
  while (n && n->attr.ino != kRootIno) {
    path = "/" + n->name + path;
    n = find(n->parent);
  }
  return path;
}

bool Namespace::is_within(Ino node_ino, Ino ancestor) {
  Ino cur = node_ino;
  for (;;) {
    if (cur == ancestor) return true;
    if (cur == kRootIno) return false;
    Node* n = find(cur);
    if (!n) return false;
    cur = n->parent;
  }
}

}  // namespace lpc
