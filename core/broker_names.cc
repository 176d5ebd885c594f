// The Broker's name operations (lpc.7 "FILES", "PORTS", "ACCESS CONTROL"):
// lookups, attributes, folders, ACLs, the server attribute and creating a
// port. The namespace does the work; these entries add the quotas, the
// folder depth and the ports table.
#include "broker.h"
#include "broker_internal.h"
#include "folder_depth.h"

namespace lpc {

Result<Attr> Broker::Lookup(NodeId parent, std::string_view name) {
  Transaction tx(this);
  auto node = names_.Lookup(parent, name);
  if (!node) return node.error();
  return node.value()->attr;
}

void Broker::Forget(NodeId ino, uint64_t count) {
  Transaction tx(this);
  names_.Forget(ino, count);
}

Result<Attr> Broker::GetAttr(NodeId ino) {
  Transaction tx(this);
  Node* node = names_.Find(ino);
  if (!node) return Error::kNotFound;
  return node->attr;
}

Result<Attr> Broker::SetAttr(NodeId ino, const SetAttrRequest& request) {
  Transaction tx(this);
  Node* node = names_.Find(ino);
  if (node && node->attr.kind == NodeKind::kSection && request.set_size) {
    if (Status resized = ResizeSection(*node, request.size, request.caller_uid);
        !resized) {
      return resized.error();
    }
  }
  return names_.SetAttr(ino, request);
}

Result<Attr> Broker::MakeFolder(NodeId parent, std::string_view name,
                                uint32_t perm, uint32_t umask,
                                const Sender& caller) {
  Transaction tx(this);
  // A name taken is EEXIST whatever the quotas say, as mkdir(2) checks.
  if (names_.Child(parent, name)) return Error::kExists;
  if (!DepthAllows(parent, 0)) return Error::kNameTooLong;
  auto charge = quota_.Charge(caller.uid, QuotaKind::kFolders);
  if (!charge) return charge.error();
  auto node =
      names_.MakeFolder(parent, name, perm, umask, caller.uid, caller.gid);
  if (!node) return node.error();
  names_.RememberLookup(node.value());
  folder_charges_.emplace(node.value()->attr.ino, std::move(charge.value()));
  return node.value()->attr;
}

Status Broker::RemoveFolder(NodeId parent, std::string_view name) {
  Transaction tx(this);
  auto node = names_.Child(parent, name);
  NodeId ino = node ? node.value()->attr.ino : NodeId();
  Status removed = names_.RemoveFolder(parent, name);
  if (removed) folder_charges_.erase(ino);
  return removed;
}

Status Broker::Unlink(NodeId parent, std::string_view name) {
  Transaction tx(this);
  return names_.Unlink(parent, name);
}

Status Broker::Rename(NodeId parent, std::string_view name, NodeId new_parent,
                      std::string_view new_name, unsigned flags) {
  Transaction tx(this);
  auto node = names_.Child(parent, name);
  if (node && node.value()->attr.kind == NodeKind::kDirectory &&
      new_parent != parent &&
      !DepthAllows(new_parent, HeightBelow(names_, *node.value()))) {
    return Error::kNameTooLong;
  }
  return names_.Rename(parent, name, new_parent, new_name, flags);
}

bool Broker::DepthAllows(NodeId parent, size_t height) {
  return DepthOf(names_, parent) + 1 + height <= limits_.folder_depth;
}

Result<std::vector<DirEntry>> Broker::ReadDir(NodeId dir) {
  Transaction tx(this);
  return names_.List(dir);
}

Result<std::vector<std::byte>> Broker::GetAcl(NodeId ino, AclKind kind) {
  Transaction tx(this);
  return names_.GetAcl(ino, kind);
}

Result<Attr> Broker::SetAcl(NodeId ino, AclKind kind,
                            std::span<const std::byte> xattr,
                            const Caller& caller) {
  Transaction tx(this);
  Node* node = names_.Find(ino);
  if (!node) return Error::kNotFound;
  // in_group_or_capable() of the kernel: the file's group is one of the
  // caller's, or the caller has CAP_FSETID (capability 4).
  constexpr uint64_t kCapFsetid = uint64_t{1} << 4;
  Accessor who{caller.sender.uid, caller.sender.gid, caller.groups};
  bool keeps_sgid =
      who.InGroup(node->attr.gid) || (caller.cap_effective & kCapFsetid) != 0;
  return names_.SetAcl(ino, kind, xattr, keeps_sgid);
}

Result<std::vector<AclKind>> Broker::AclsOf(NodeId ino) {
  Transaction tx(this);
  if (!names_.Find(ino)) return Error::kNotFound;
  return names_.AclsOf(ino);
}

Result<std::string> Broker::ServerAttribute(NodeId ino) {
  Transaction tx(this);
  Node* node = names_.Find(ino);
  if (!node) return Error::kNotFound;
  if (node->attr.kind != NodeKind::kPort) return Error::kNoData;
  ServerPort* port = tables_.FindPort(node->port);
  if (!port) return Error::kNoData;
  return ServerAttributeText(port->server());
}

Result<CreatedPort> Broker::CreatePort(NodeId parent, std::string_view name,
                                       uint32_t perm, uint32_t umask,
                                       bool exclusive, const Caller& caller,
                                       int access) {
  Transaction tx(this);
  if (names_.IsDaemonFolder(parent) || parent == names_.sections_dir()) {
    return Error::kNotPermitted;
  }
  auto existing = names_.Child(parent, name);
  if (existing) return Error::kExists;
  if (existing.error() != Error::kNotFound) return existing.error();
  if (!exclusive) return Error::kConnectionRefused;
  auto charge = quota_.Charge(caller.sender.uid, QuotaKind::kPorts);
  if (!charge) {
    std::string path = names_.PathOf(*names_.Find(parent));
    if (path.back() != '/') path += '/';
    LogQuota(path + std::string(name), caller.sender.uid, QuotaKind::kPorts);
    return charge.error();
  }
  auto added = names_.AddCreated(parent, name, NodeKind::kPort, perm, umask,
                                 caller.sender.uid, caller.sender.gid);
  if (!added) return added.error();
  Node* node = added.value();
  PortId id(tables_.NextId());
  HandleId handle =
      tables_.NewHandle(HandleKind::kServer, id, ConnId(), access);
  auto port =
      std::make_unique<ServerPort>(id, node->attr.ino, handle, context_);
  port->HoldCharge(std::move(charge.value()));
  port->set_server(caller.sender);
  port->set_max_message(limits_.max_message);
  tables_.ports.emplace(id, std::move(port));
  node->port = id;
  names_.RememberLookup(node);
  outbox_.Log({EventKind::kPortCreated,
               names_.PathOf(*node),
               0,
               caller.sender,
               Error::kInvalid,
               {}});
  return CreatedPort{node->attr, handle};
}

}  // namespace lpc
