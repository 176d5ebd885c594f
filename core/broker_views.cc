// The Broker's views (lpc.7 "VIEWS"): a range of a section a message
// carries, which its receiver opens as /lpc/.views/ID while it lives. The
// receiver's uid is lent the access the view grants on the section's ACL
// if it lacks it, and the section lives at least as long as the view.
#include <charconv>

#include "broker.h"
#include "broker_internal.h"

namespace lpc {
namespace {

uint16_t AclBits(uint32_t access) {
  return static_cast<uint16_t>(((access & LPC_VIEW_READ) ? kAclRead : 0) |
                               ((access & LPC_VIEW_WRITE) ? kAclWrite : 0));
}

// A decimal view id, as /lpc/.views names them; 0 (never an id) if not.
uint64_t ViewIdOf(std::string_view name) {
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size()) return 0;
  // One spelling per view: no leading zeros, no sign.
  if (name.size() > 1 && name.front() == '0') return 0;
  return id;
}

}  // namespace

Status Broker::BeginView(Connection& conn, Direction direction, lpc_view& view,
                         const Sender& sender) {
  if (!conn.carrying()) return Error::kBrokenPipe;
  if (view.access == 0 ||
      (view.access & ~uint32_t{LPC_VIEW_READ | LPC_VIEW_WRITE}) ||
      view.reserved != 0 || view.id != 0) {
    return Error::kInvalid;
  }
  Node* node = names_.Find(NodeId(view.section));
  Section* section = node && node->attr.kind == NodeKind::kSection
                         ? sections_.Find(node->attr.ino)
                         : nullptr;
  if (!section) return Error::kNotFound;
  if (view.length == 0 || view.offset > section->size() ||
      view.length > section->size() - view.offset) {
    return Error::kInvalid;
  }
  // The sender shares only what it may itself do with the section, by
  // the mode and ACL its owner set: access lent to it by a view it
  // received does not count (lpc.7 "VIEWS").
  const uint16_t want = AclBits(view.access);
  const uint32_t own_perm = node->lent ? node->lent->perm : node->attr.perm;
  const std::optional<Acl>& own_acl =
      node->lent ? node->lent->acl : node->access_acl;
  Accessor who{sender.uid, sender.gid, {}};
  if (sender.uid != 0 &&
      !MayAccess(who, node->attr.uid, node->attr.gid, own_perm,
                 own_acl ? &*own_acl : nullptr, false, want)) {
    return Error::kAccessDenied;
  }
  if (views_.CountOf(conn.id()) >= limits_.views_per_connection) {
    return Error::kNoBuffers;
  }
  // The receiving side: who serves the port, or the connection's client.
  uint32_t receiver = conn.client().sender.uid;
  uint32_t receiver_gid = conn.client().sender.gid;
  if (direction == Direction::kToServer) {
    ServerPort* port = tables_.FindPort(conn.port());
    if (!port) return Error::kBrokenPipe;
    receiver = port->server().uid;
    receiver_gid = port->server().gid;
  }
  View begun;
  begun.id = tables_.NextId();
  begun.section = node->attr.ino;
  begun.conn = conn.id();
  begun.receiver_uid = receiver;
  begun.access = view.access;
  Accessor receiving{receiver, receiver_gid, {}};
  if (receiver != 0 &&
      !MayAccess(receiving, node->attr.uid, node->attr.gid, node->attr.perm,
                 node->access_acl ? &*node->access_acl : nullptr, false,
                 want)) {
    begun.grant = AclGrant{receiver, want};
    names_.Lend(node->attr.ino, *begun.grant);
    // The kernel checks opens against the list it cached.
    outbox_.InvalidateNode(node->attr.ino, false);
  }
  sections_.AddView(*section);
  node->attr.nlink =
      (node->linked ? 1 : 0) + static_cast<uint32_t>(section->views());
  view.id = begun.id;
  views_.Add(std::move(begun));
  return Ok{};
}

void Broker::EndView(uint64_t id) {
  std::optional<View> view = views_.Take(id);
  if (!view) return;
  Node* node = names_.Find(view->section);
  if (view->grant && node) {
    names_.Unlend(view->section, *view->grant);
    outbox_.InvalidateNode(view->section, false);
  }
  std::optional<NodeId> gone = sections_.RemoveView(view->section);
  if (!gone && node) {
    Section* section = sections_.Find(view->section);
    node->attr.nlink = (node->linked ? 1 : 0) +
                       static_cast<uint32_t>(section ? section->views() : 0);
  }
  SectionGone(gone);
}

const View* Broker::ReceivedView(std::string_view name, uint32_t uid) {
  const View* view = views_.Find(ViewIdOf(name));
  return view && view->receiver_uid == uid ? view : nullptr;
}

Result<Attr> Broker::LookupView(std::string_view name, uint32_t uid) {
  Transaction tx(this);
  const View* view = ReceivedView(name, uid);
  Node* node = view ? names_.Find(view->section) : nullptr;
  if (!node) return Error::kNotFound;
  names_.RememberLookup(node);
  return node->attr;
}

Result<std::vector<DirEntry>> Broker::ListViews(uint32_t uid) {
  Transaction tx(this);
  std::vector<DirEntry> entries;
  for (const View& view : views_.ReceivedBy(uid)) {
    entries.push_back(
        {std::to_string(view.id), view.section, NodeKind::kSection});
  }
  return entries;
}

Status Broker::ReleaseView(std::string_view name, uint32_t uid) {
  Transaction tx(this);
  const View* view = ReceivedView(name, uid);
  if (!view) return Error::kNotFound;
  EndView(view->id);
  return Ok{};
}

size_t Broker::view_count() {
  std::lock_guard lock(mu_);
  return views_.size();
}

}  // namespace lpc
