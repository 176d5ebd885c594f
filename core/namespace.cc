#include "namespace.h"

#include <linux/fs.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include "lpc.h"

namespace lpc {

Timestamp Now() {
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
  root->attr.atime = root->attr.mtime = root->attr.ctime = Now();
  root->reserved = true;
  root->parent = kRootIno;
  nodes_.emplace(kRootIno, std::move(root));
  Node* conn = Add(kRootIno, ".conn", NodeKind::kDirectory, 0555, 0, 0).value();
  conn->reserved = true;
  conn_dir_ = conn->attr.ino;
  Node* stats =
      Add(kRootIno, ".stats", NodeKind::kStatsFile, 0444, 0, 0).value();
  stats->reserved = true;
  stats_file_ = stats->attr.ino;
  Node* monitor =
      Add(kRootIno, ".monitor", NodeKind::kMonitorFile, 0444, 0, 0).value();
  monitor->reserved = true;
  monitor_file_ = monitor->attr.ino;
  // Lists and finds only windows, and only to their server side: the fs
  // adapter answers its lookups from the WindowTable (lpc.7 "MEMORY
  // WINDOWS"). The node is here so the name is taken and listed.
  Node* windows =
      Add(kRootIno, ".windows", NodeKind::kDirectory, 0555, 0, 0).value();
  windows->reserved = true;
  windows_dir_ = windows->attr.ino;
  // Like /dev/shm: anyone may create a section, only its owner remove it.
  Node* sections =
      Add(kRootIno, LPC_SECTIONS_DIR, NodeKind::kDirectory, 01777, 0, 0)
          .value();
  sections->reserved = true;
  sections_dir_ = sections->attr.ino;
  // Its names are the Broker's (views, lpc.7 "VIEWS"), each shown to its
  // receiver only. Writable by all without the sticky bit, so that the
  // kernel lets a receiver unlink a view of a section it does not own;
  // the Broker refuses everyone else, and every other change.
  Node* views =
      Add(kRootIno, LPC_VIEWS_DIR, NodeKind::kDirectory, 0777, 0, 0).value();
  views->reserved = true;
  views_dir_ = views->attr.ino;
}

Node* Namespace::Find(NodeId ino) {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second.get();
}

Result<Node*> Namespace::Child(NodeId dir_ino, std::string_view name) {
  Node* dir = Find(dir_ino);
  if (!dir) return Error::kNotFound;
  if (dir->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (name.size() > kMaxName) return Error::kNameTooLong;
  if (name == ".") return dir;
  if (name == "..") return Find(dir->parent);
  auto it = dir->children.find(name);
  if (it == dir->children.end()) return Error::kNotFound;
  return Find(it->second);
}

Result<Node*> Namespace::Lookup(NodeId dir, std::string_view name) {
  auto node = Child(dir, name);
  if (node) RememberLookup(node.value());
  return node;
}

void Namespace::Forget(NodeId ino, uint64_t count) {
  Node* node = Find(ino);
  if (!node) return;
  node->lookups = count >= node->lookups ? 0 : node->lookups - count;
  ReleaseIfUnused(node);
}

Result<Node*> Namespace::Add(NodeId parent_ino, std::string_view name,
                             NodeKind kind, uint32_t perm, uint32_t uid,
                             uint32_t gid) {
  Node* parent = Find(parent_ino);
  if (!parent) return Error::kNotFound;
  if (parent->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (name.size() > kMaxName) return Error::kNameTooLong;
  if (name.empty() || name == "." || name == "..") return Error::kExists;
  if (parent->children.count(name)) return Error::kExists;
  auto node = std::make_unique<Node>();
  Node* raw = node.get();
  raw->attr.ino = NodeId(++last_ino_);
  raw->attr.kind = kind;
  raw->attr.perm = perm & 07777;
  raw->attr.uid = uid;
  raw->attr.gid = gid;
  raw->attr.nlink = kind == NodeKind::kDirectory ? 2 : 1;
  raw->attr.atime = raw->attr.mtime = raw->attr.ctime = Now();
  raw->parent = parent_ino;
  raw->name = std::string(name);
  parent->children.emplace(raw->name, raw->attr.ino);
  if (kind == NodeKind::kDirectory) ++parent->attr.nlink;
  parent->attr.mtime = parent->attr.ctime = raw->attr.ctime;
  nodes_.emplace(raw->attr.ino, std::move(node));
  return raw;
}

void Namespace::Detach(Node* node) {
  if (!node->linked) return;
  Node* parent = Find(node->parent);
  if (parent) {
    parent->children.erase(node->name);
    if (node->attr.kind == NodeKind::kDirectory) --parent->attr.nlink;
    parent->attr.mtime = parent->attr.ctime = Now();
  }
  node->linked = false;
  node->attr.nlink = 0;
  ReleaseIfUnused(node);
}

void Namespace::Drop(Node* node) {
  node->port = PortId();
  node->conn = ConnId();
  node->section = false;
  if (node->linked) {
    Detach(node);  // frees it too, if unused
  } else {
    ReleaseIfUnused(node);
  }
}

void Namespace::Move(Node* node, NodeId new_parent_ino, std::string_view name) {
  Node* old_parent = Find(node->parent);
  Node* new_parent = Find(new_parent_ino);
  bool dir = node->attr.kind == NodeKind::kDirectory;
  if (dir) ++folder_moves_;
  old_parent->children.erase(node->name);
  if (dir) --old_parent->attr.nlink;
  node->name = std::string(name);
  node->parent = new_parent_ino;
  new_parent->children.emplace(node->name, node->attr.ino);
  if (dir) ++new_parent->attr.nlink;
  Timestamp now = Now();
  old_parent->attr.mtime = old_parent->attr.ctime = now;
  new_parent->attr.mtime = new_parent->attr.ctime = now;
  node->attr.ctime = now;
}

void Namespace::ReleaseIfUnused(Node* node) {
  if (node->linked || node->held() || node->lookups > 0) return;
  nodes_.erase(node->attr.ino);
}

Result<Node*> Namespace::AddCreated(NodeId parent_ino, std::string_view name,
                                    NodeKind kind, uint32_t perm,
                                    uint32_t umask, uint32_t uid,
                                    uint32_t gid) {
  Node* parent = Find(parent_ino);
  if (!parent) return Error::kNotFound;
  perm &= 07777;
  std::optional<Acl> inherited;
  if (parent->default_acl) {
    inherited = parent->default_acl->InheritInto(&perm);
  } else {
    perm &= ~(umask & 0777);
  }
  auto added = Add(parent_ino, name, kind, perm, uid, gid);
  if (!added) return added;
  Node* node = added.value();
  node->access_acl = std::move(inherited);
  if (kind == NodeKind::kDirectory) node->default_acl = parent->default_acl;
  return node;
}

Result<Node*> Namespace::MakeFolder(NodeId parent, std::string_view name,
                                    uint32_t perm, uint32_t umask, uint32_t uid,
                                    uint32_t gid) {
  // .sections holds sections only (lpc.7 "SECTIONS").
  if (IsDaemonFolder(parent) || parent == sections_dir_) {
    return Error::kNotPermitted;
  }
  Node* dir = Find(parent);
  if (!dir) return Error::kNotFound;
  perm &= 07777;
  if (dir->attr.perm & S_ISGID) {  // BSD group semantics, as ext4 does
    gid = dir->attr.gid;
    perm |= S_ISGID;
  }
  return AddCreated(parent, name, NodeKind::kDirectory, perm, umask, uid, gid);
}

Status Namespace::RemoveFolder(NodeId parent, std::string_view name) {
  auto node = Child(parent, name);
  if (!node) return node.error();
  Node* n = node.value();
  if (n->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (n->reserved) return Error::kBusy;
  if (!n->children.empty()) return Error::kNotEmpty;
  Detach(n);
  return Ok{};
}

Status Namespace::Unlink(NodeId parent, std::string_view name) {
  auto node = Child(parent, name);
  if (!node) return node.error();
  Node* n = node.value();
  switch (n->attr.kind) {
    case NodeKind::kDirectory:
      return Error::kIsDirectory;
    case NodeKind::kPort:
    case NodeKind::kSection:
      Detach(n);
      return Ok{};
    case NodeKind::kConnectionFile:
    case NodeKind::kStatsFile:
    case NodeKind::kMonitorFile:
      return Error::kNotPermitted;
  }
  return Error::kNotPermitted;
}

Status Namespace::Rename(NodeId parent, std::string_view name,
                         NodeId new_parent, std::string_view new_name,
                         unsigned flags) {
  if (flags & ~unsigned{RENAME_NOREPLACE}) return Error::kInvalid;
  // The names in .views are the Broker's, not nodes of this tree.
  if (parent == views_dir_ || new_parent == views_dir_) {
    return Error::kNotPermitted;
  }
  auto src = Child(parent, name);
  if (!src) return src.error();
  Node* n = src.value();
  bool reserved = n->reserved || n->attr.kind == NodeKind::kConnectionFile;
  if (reserved || IsDaemonFolder(parent) || IsDaemonFolder(new_parent)) {
    return Error::kNotPermitted;
  }
  // Sections stay in .sections and nothing else goes there: a section
  // moved out would look like a port, whose open() connects.
  if ((n->attr.kind == NodeKind::kSection) != (new_parent == sections_dir_)) {
    return Error::kNotPermitted;
  }
  Node* dst_dir = Find(new_parent);
  if (!dst_dir) return Error::kNotFound;
  if (dst_dir->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  if (new_name.size() > kMaxName) return Error::kNameTooLong;
  auto existing = Child(new_parent, new_name);
  if (existing) {
    if (existing.value() == n) return Ok{};
    // Ports are never replaced by a rename: the server owning the target
    // would silently lose its name.
    return Error::kExists;
  }
  if (n->attr.kind == NodeKind::kDirectory &&
      IsWithin(new_parent, n->attr.ino)) {
    return Error::kInvalid;
  }
  Move(n, new_parent, new_name);
  return Ok{};
}

Result<Attr> Namespace::SetAttr(NodeId ino, const SetAttrRequest& req) {
  Node* node = Find(ino);
  if (!node) return Error::kNotFound;
  if (req.set_size) {
    switch (node->attr.kind) {
      case NodeKind::kDirectory:
        return Error::kIsDirectory;
      case NodeKind::kStatsFile:
      case NodeKind::kMonitorFile:
        return Error::kNotPermitted;
      case NodeKind::kPort:
      case NodeKind::kConnectionFile:
        // A port holds no bytes: truncating to 0 (bash's `>`) is a no-op,
        // anything else cannot be honoured.
        if (req.size != 0) return Error::kInvalid;
        break;
      case NodeKind::kSection:
        // The Broker has resized the section: this records it.
        if (req.size != node->attr.size) {
          node->attr.size = req.size;
          node->attr.mtime = Now();
        }
        break;
    }
  }
  if (req.set_perm) {
    // What the owner set; lent grants stay on top of it.
    uint32_t& perm = node->lent ? node->lent->perm : node->attr.perm;
    std::optional<Acl>& acl = node->lent ? node->lent->acl : node->access_acl;
    perm = req.perm & 07777;
    if (acl) acl->Chmod(perm);
    ApplyGrants(node);
  }
  if (req.set_uid) node->attr.uid = req.uid;
  if (req.set_gid) node->attr.gid = req.gid;
  if (req.set_atime) node->attr.atime = req.atime;
  if (req.set_mtime) node->attr.mtime = req.mtime;
  node->attr.ctime = Now();
  return node->attr;
}

Result<std::vector<std::byte>> Namespace::GetAcl(NodeId ino, AclKind kind) {
  Node* node = Find(ino);
  if (!node) return Error::kNotFound;
  const std::optional<Acl>& acl =
      kind == AclKind::kAccess ? node->access_acl : node->default_acl;
  if (!acl) return Error::kNoData;
  return acl->Encode();
}

Result<Attr> Namespace::SetAcl(NodeId ino, AclKind kind,
                               std::span<const std::byte> xattr,
                               bool keeps_sgid) {
  Node* node = Find(ino);
  if (!node) return Error::kNotFound;
  // .conn and .windows stay 0555 for everyone, .stats and .monitor are
  // the daemon's own; the files in .conn stay private unless their owner
  // says otherwise.
  if (IsDaemonFolder(ino) || ino == stats_file_ || ino == monitor_file_) {
    return Error::kNotPermitted;
  }
  std::optional<Acl> acl;
  if (!xattr.empty()) {
    auto decoded = Acl::Decode(xattr);
    if (!decoded) return decoded.error();
    acl = std::move(decoded.value());
  }
  if (kind == AclKind::kDefault) {
    // The kernel refuses this before asking (EACCES); say the same.
    if (acl && node->attr.kind != NodeKind::kDirectory) {
      return Error::kAccessDenied;
    }
    node->default_acl = std::move(acl);
  } else {
    uint32_t& perm = node->lent ? node->lent->perm : node->attr.perm;
    if (acl) {
      perm = (perm & ~uint32_t{0777}) | acl->ModeBits();
      if (acl->EquivalentToMode()) acl.reset();
    }
    if (!keeps_sgid) perm &= ~uint32_t{S_ISGID};
    (node->lent ? node->lent->acl : node->access_acl) = std::move(acl);
    ApplyGrants(node);
  }
  node->attr.ctime = Now();
  return node->attr;
}

void Namespace::Lend(NodeId ino, AclGrant grant) {
  Node* node = Find(ino);
  if (!node) return;
  if (!node->lent) {
    node->lent = Node::Lent{node->attr.perm, node->access_acl, {}};
  }
  node->lent->grants.push_back(grant);
  ApplyGrants(node);
  node->attr.ctime = Now();
}

void Namespace::Unlend(NodeId ino, AclGrant grant) {
  Node* node = Find(ino);
  if (!node || !node->lent) return;
  auto& grants = node->lent->grants;
  auto it = std::find(grants.begin(), grants.end(), grant);
  if (it == grants.end()) return;
  grants.erase(it);
  ApplyGrants(node);
  node->attr.ctime = Now();
}

void Namespace::ApplyGrants(Node* node) {
  if (!node->lent) return;
  Node::Lent& lent = *node->lent;
  if (lent.grants.empty()) {
    node->attr.perm = lent.perm;
    node->access_acl = std::move(lent.acl);
    node->lent.reset();
    return;
  }
  Acl shown =
      (lent.acl ? *lent.acl : Acl::FromMode(lent.perm)).WithGrants(lent.grants);
  node->attr.perm = (lent.perm & ~uint32_t{0777}) | shown.ModeBits();
  node->access_acl = std::move(shown);
}

std::vector<AclKind> Namespace::AclsOf(NodeId ino) {
  std::vector<AclKind> kinds;
  Node* node = Find(ino);
  if (!node) return kinds;
  if (node->access_acl) kinds.push_back(AclKind::kAccess);
  if (node->default_acl) kinds.push_back(AclKind::kDefault);
  return kinds;
}

Result<std::vector<DirEntry>> Namespace::List(NodeId dir_ino) {
  Node* dir = Find(dir_ino);
  if (!dir) return Error::kNotFound;
  if (dir->attr.kind != NodeKind::kDirectory) return Error::kNotDirectory;
  std::vector<DirEntry> out;
  out.reserve(dir->children.size());
  for (const auto& [name, ino] : dir->children) {
    Node* n = Find(ino);
    if (n) out.push_back({name, ino, n->attr.kind});
  }
  return out;
}

std::string Namespace::PathOf(const Node& node) {
  if (!node.linked) return "(unlinked)";
  if (node.attr.ino == kRootIno) return "/";
  std::string path;
  const Node* n = &node;
  while (n && n->attr.ino != kRootIno) {
    path = "/" + n->name + path;
    n = Find(n->parent);
  }
  return path;
}

bool Namespace::IsWithin(NodeId node_ino, NodeId ancestor) {
  NodeId cur = node_ino;
  for (;;) {
    if (cur == ancestor) return true;
    if (cur == kRootIno) return false;
    Node* n = Find(cur);
    if (!n) return false;
    cur = n->parent;
  }
}

}  // namespace lpc
