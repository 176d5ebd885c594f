// The Broker's section operations (lpc.7 "SECTIONS"): creating, opening,
// sizing, reading and writing the files of /lpc/.sections. None of them
// waits, so all but the open are answered at once. The SectionTable keeps
// the sections and decides when one is gone; these entries add the names,
// the quotas and the effects.
#include <fcntl.h>

#include "broker.h"
#include "broker_internal.h"

namespace lpc {
namespace {

// A peer that may write a section (by its mode, its ACL or a view) must
// not pull pages out from under the owner's mappings (SIGBUS) nor spend
// the creator's quota: only the owner or root changes its size.
bool MayResize(const Node& node, uint32_t caller) {
  return caller == 0 || caller == node.attr.uid;
}

}  // namespace

Result<CreatedSection> Broker::CreateSection(NodeId parent,
                                             std::string_view name,
                                             uint32_t perm, uint32_t umask,
                                             const Caller& caller, int access) {
  Transaction tx(this);
  if (parent != names_.sections_dir()) return Error::kNotPermitted;
  auto existing = names_.Child(parent, name);
  if (existing) return Error::kExists;
  if (existing.error() != Error::kNotFound) return existing.error();
  const uint32_t uid = caller.sender.uid;
  // Its bytes are charged as it grows; it starts with none.
  auto charge = quota_.Charge(uid, QuotaKind::kSectionBytes, 0);
  if (!charge) return charge.error();
  auto added = names_.AddCreated(parent, name, NodeKind::kSection, perm, umask,
                                 uid, caller.sender.gid);
  if (!added) return added.error();
  Node* node = added.value();
  Section& section = sections_.Add(node->attr.ino, std::move(charge.value()));
  node->section = true;
  HandleId handle(tables_.NextId());
  sections_.Open(section, handle, access & O_ACCMODE);
  names_.RememberLookup(node);
  return CreatedSection{node->attr, handle};
}

void Broker::OpenSection(std::unique_ptr<OpenRequest> open, Node& node,
                         int open_flags) {
  // A node whose section has gone lives on only while the kernel still
  // refers to it (by /proc/PID/fd/N of a closed file, say).
  Section* section = sections_.Find(node.attr.ino);
  if (!section) return outbox_.Fail(std::move(open), Error::kNotFound);
  HandleId handle(tables_.NextId());
  sections_.Open(*section, handle, open_flags & O_ACCMODE);
  outbox_.Opened(std::move(open), {handle, false, true});
}

Result<Bytes> Broker::ReadSection(HandleId handle, uint64_t offset,
                                  size_t size) {
  Transaction tx(this);
  Section* section = sections_.SectionOf(handle);
  if (!section) return Error::kBadHandle;
  return section->Read(offset, size);
}

Result<size_t> Broker::WriteSection(HandleId handle, uint64_t offset,
                                    std::span<const std::byte> data,
                                    std::optional<uint32_t> writer) {
  Transaction tx(this);
  Section* section = sections_.SectionOf(handle);
  if (!section) return Error::kBadHandle;
  Node* node = names_.Find(section->node());
  const bool grows =
      offset > section->size() || data.size() > section->size() - offset;
  if (grows && writer && node && !MayResize(*node, *writer)) {
    return Error::kNotPermitted;
  }
  Status written = section->Write(offset, data, limits_.section_max);
  if (!written) {
    if (written.error() == Error::kQuotaExceeded && node) {
      LogQuota(names_.PathOf(*node), section->charged_uid(),
               QuotaKind::kSectionBytes);
    }
    return written.error();
  }
  if (node) {
    node->attr.size = section->size();
    // Write-back comes when the kernel decides, long after the stores it
    // carries; like the size, mtime is the file's as write(2) and
    // ftruncate(2) left it (fs/README.md "Sections").
    if (writer) node->attr.mtime = node->attr.ctime = Now();
  }
  return data.size();
}

Status Broker::ResizeSection(Node& node, uint64_t size,
                             std::optional<uint32_t> caller) {
  Section* section = sections_.Find(node.attr.ino);
  if (!section) return Error::kNotFound;
  if (size != section->size() && caller && !MayResize(node, *caller)) {
    return Error::kNotPermitted;
  }
  Status resized = section->Resize(size, limits_.section_max);
  if (!resized && resized.error() == Error::kQuotaExceeded) {
    LogQuota(names_.PathOf(node), section->charged_uid(),
             QuotaKind::kSectionBytes);
  }
  return resized;
}

void Broker::SectionGone(std::optional<NodeId> ino) {
  if (!ino) return;
  if (Node* node = names_.Find(*ino)) names_.Drop(node);
  // Nobody has it open or mapped, so no page of it is locked by a read
  // waiting for us: dropping them cannot wait for the daemon.
  outbox_.InvalidateNode(*ino, true);
}

size_t Broker::section_count() {
  std::lock_guard lock(mu_);
  return sections_.size();
}

}  // namespace lpc
