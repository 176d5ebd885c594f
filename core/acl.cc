#include "acl.h"

#include <algorithm>

namespace lpc {
namespace {

constexpr uint32_t kXattrVersion = 2;  // POSIX_ACL_XATTR_VERSION
constexpr size_t kHeaderSize = 4;
constexpr size_t kEntrySize = 8;
// The kernel refuses lists longer than this (posix_acl_xattr_count and
// the xattr size limit of 64 KiB); we refuse them the same way.
constexpr size_t kMaxEntries = (65536 - kHeaderSize) / kEntrySize;

uint32_t LoadLe32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<uint32_t>(p[i]);
  return v;
}

uint16_t LoadLe16(const std::byte* p) {
  return static_cast<uint16_t>(std::to_integer<uint32_t>(p[0]) |
                               std::to_integer<uint32_t>(p[1]) << 8);
}

void StoreLe(std::vector<std::byte>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
}

bool KnownTag(uint16_t tag) {
  switch (static_cast<AclTag>(tag)) {
    case AclTag::kUserObj:
    case AclTag::kUser:
    case AclTag::kGroupObj:
    case AclTag::kGroup:
    case AclTag::kMask:
    case AclTag::kOther:
      return true;
  }
  return false;
}

bool Named(AclTag tag) { return tag == AclTag::kUser || tag == AclTag::kGroup; }

}  // namespace

Acl Acl::WithGrants(std::span<const AclGrant> grants) const {
  if (grants.empty()) return *this;
  std::vector<AclEntry> entries = entries_;
  auto find = [&](AclTag tag) {
    return std::find_if(entries.begin(), entries.end(),
                        [tag](const AclEntry& e) { return e.tag == tag; });
  };
  // Without a mask the owning group's entry bounds the group class.
  auto old_mask = find(AclTag::kMask);
  const uint16_t bound = old_mask != entries.end()
                             ? old_mask->perm
                             : find(AclTag::kGroupObj)->perm;
  for (AclEntry& e : entries) {
    if (e.tag == AclTag::kUser || e.tag == AclTag::kGroup ||
        e.tag == AclTag::kGroupObj) {
      e.perm &= bound;
    }
  }
  for (const AclGrant& g : grants) {
    auto it =
        std::find_if(entries.begin(), entries.end(), [&](const AclEntry& e) {
          return e.tag == AclTag::kUser && e.id == g.uid;
        });
    if (it != entries.end()) {
      it->perm |= g.perm;
    } else {
      entries.push_back({AclTag::kUser, g.perm, g.uid});
    }
  }
  // The mask: the union of the group class, as setfacl computes it.
  uint16_t mask = 0;
  for (const AclEntry& e : entries) {
    if (e.tag == AclTag::kUser || e.tag == AclTag::kGroup ||
        e.tag == AclTag::kGroupObj) {
      mask |= e.perm;
    }
  }
  if (auto m = find(AclTag::kMask); m != entries.end()) {
    m->perm = mask;
  } else {
    entries.push_back({AclTag::kMask, mask, 0});
  }
  // posix_acl_valid()'s order: by tag, named entries by id.
  std::sort(
      entries.begin(), entries.end(), [](const AclEntry& a, const AclEntry& b) {
        if (a.tag != b.tag) {
          return static_cast<uint16_t>(a.tag) < static_cast<uint16_t>(b.tag);
        }
        return a.id < b.id;
      });
  return Acl(std::move(entries));
}

bool Accessor::InGroup(uint32_t group) const {
  return group == gid ||
         std::find(groups.begin(), groups.end(), group) != groups.end();
}

Result<Acl> Acl::Decode(std::span<const std::byte> xattr) {
  if (xattr.size() < kHeaderSize) return Error::kInvalid;
  if (LoadLe32(xattr.data()) != kXattrVersion) return Error::kNotSupported;
  size_t body = xattr.size() - kHeaderSize;
  if (body % kEntrySize != 0) return Error::kInvalid;
  size_t count = body / kEntrySize;
  if (count > kMaxEntries) return Error::kInvalid;
  std::vector<AclEntry> entries;
  entries.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const std::byte* p = xattr.data() + kHeaderSize + i * kEntrySize;
    uint16_t tag = LoadLe16(p);
    uint16_t perm = LoadLe16(p + 2);
    uint32_t id = LoadLe32(p + 4);
    if (!KnownTag(tag)) return Error::kInvalid;
    if (perm & ~uint16_t{7}) return Error::kInvalid;
    AclTag t = static_cast<AclTag>(tag);
    entries.push_back({t, perm, Named(t) ? id : 0});
  }
  // The kernel's posix_acl_valid(): entries in tag order, named ones by
  // id without repeats, exactly one of each unnamed kind, and a mask
  // whenever there are named entries.
  int user_obj = 0, group_obj = 0, other = 0, mask = 0, named = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const AclEntry& e = entries[i];
    if (i > 0) {
      const AclEntry& prev = entries[i - 1];
      if (static_cast<uint16_t>(e.tag) < static_cast<uint16_t>(prev.tag)) {
        return Error::kInvalid;
      }
      if (e.tag == prev.tag && (!Named(e.tag) || e.id <= prev.id)) {
        return Error::kInvalid;
      }
    }
    switch (e.tag) {
      case AclTag::kUserObj:
        ++user_obj;
        break;
      case AclTag::kGroupObj:
        ++group_obj;
        break;
      case AclTag::kOther:
        ++other;
        break;
      case AclTag::kMask:
        ++mask;
        break;
      case AclTag::kUser:
      case AclTag::kGroup:
        ++named;
        break;
    }
  }
  if (user_obj != 1 || group_obj != 1 || other != 1 || mask > 1) {
    return Error::kInvalid;
  }
  if (named > 0 && mask == 0) return Error::kInvalid;
  return Acl(std::move(entries));
}

std::vector<std::byte> Acl::Encode() const {
  std::vector<std::byte> out;
  out.reserve(kHeaderSize + entries_.size() * kEntrySize);
  StoreLe(out, kXattrVersion, 4);
  for (const AclEntry& e : entries_) {
    StoreLe(out, static_cast<uint16_t>(e.tag), 2);
    StoreLe(out, e.perm, 2);
    // Unnamed entries carry ACL_UNDEFINED_ID, as the kernel writes them.
    StoreLe(out, Named(e.tag) ? e.id : 0xffffffffu, 4);
  }
  return out;
}

Acl Acl::FromMode(uint32_t mode) {
  return Acl({
      {AclTag::kUserObj, static_cast<uint16_t>((mode >> 6) & 7), 0},
      {AclTag::kGroupObj, static_cast<uint16_t>((mode >> 3) & 7), 0},
      {AclTag::kOther, static_cast<uint16_t>(mode & 7), 0},
  });
}

AclEntry* Acl::Find(AclTag tag) {
  for (AclEntry& e : entries_) {
    if (e.tag == tag) return &e;
  }
  return nullptr;
}

uint32_t Acl::ModeBits() const {
  uint32_t mode = 0;
  for (const AclEntry& e : entries_) {
    switch (e.tag) {
      case AclTag::kUserObj:
        mode |= uint32_t{e.perm} << 6;
        break;
      case AclTag::kGroupObj:
        // The mask, which sorts after the owning group, overrides this.
        mode |= uint32_t{e.perm} << 3;
        break;
      case AclTag::kMask:
        mode = (mode & ~uint32_t{070}) | uint32_t{e.perm} << 3;
        break;
      case AclTag::kOther:
        mode |= e.perm;
        break;
      case AclTag::kUser:
      case AclTag::kGroup:
        break;
    }
  }
  return mode;
}

bool Acl::EquivalentToMode() const {
  return std::none_of(entries_.begin(), entries_.end(), [](const AclEntry& e) {
    return Named(e.tag) || e.tag == AclTag::kMask;
  });
}

void Acl::Chmod(uint32_t mode) {
  Find(AclTag::kUserObj)->perm = static_cast<uint16_t>((mode >> 6) & 7);
  Find(AclTag::kOther)->perm = static_cast<uint16_t>(mode & 7);
  AclEntry* group_class = Find(AclTag::kMask);
  if (!group_class) group_class = Find(AclTag::kGroupObj);
  group_class->perm = static_cast<uint16_t>((mode >> 3) & 7);
}

std::optional<Acl> Acl::InheritInto(uint32_t* mode_p) const {
  Acl acl = *this;
  uint32_t mode = *mode_p & 0777;
  for (AclEntry& e : acl.entries_) {
    switch (e.tag) {
      case AclTag::kUserObj:
        e.perm &= (mode >> 6) & 7;
        mode = (mode & ~uint32_t{0700}) | uint32_t{e.perm} << 6;
        break;
      case AclTag::kOther:
        e.perm &= mode & 7;
        mode = (mode & ~uint32_t{07}) | e.perm;
        break;
      case AclTag::kUser:
      case AclTag::kGroup:
      case AclTag::kGroupObj:
      case AclTag::kMask:
        break;
    }
  }
  AclEntry* group_class = acl.Find(AclTag::kMask);
  if (!group_class) group_class = acl.Find(AclTag::kGroupObj);
  group_class->perm &= (mode >> 3) & 7;
  mode = (mode & ~uint32_t{070}) | uint32_t{group_class->perm} << 3;
  *mode_p = (*mode_p & ~uint32_t{0777}) | mode;
  if (acl.EquivalentToMode()) return std::nullopt;
  return acl;
}

bool Acl::Permits(const Accessor& who, uint32_t owner_uid, uint32_t owner_gid,
                  uint16_t want) const {
  want &= 7;
  const AclEntry* granted = nullptr;  // an entry the mask then limits
  bool group_found = false;
  for (const AclEntry& e : entries_) {
    switch (e.tag) {
      case AclTag::kUserObj:
        if (who.uid == owner_uid) return (e.perm & want) == want;
        break;
      case AclTag::kUser:
        if (who.uid == e.id) {
          granted = &e;
        }
        break;
      case AclTag::kGroupObj:
      case AclTag::kGroup: {
        uint32_t group = e.tag == AclTag::kGroupObj ? owner_gid : e.id;
        if (who.InGroup(group)) {
          group_found = true;
          if ((e.perm & want) == want) granted = &e;
        }
        break;
      }
      case AclTag::kMask:
        break;
      case AclTag::kOther:
        if (group_found) return false;
        return (e.perm & want) == want;
    }
    if (granted) break;
  }
  if (!granted) return false;
  // A named user is limited by the mask even without the group match.
  if ((granted->perm & want) != want) return false;
  for (const AclEntry& e : entries_) {
    if (e.tag == AclTag::kMask) return (granted->perm & e.perm & want) == want;
  }
  return true;
}

bool MayAccess(const Accessor& who, uint32_t owner_uid, uint32_t owner_gid,
               uint32_t perm, const Acl* access_acl, bool is_folder,
               uint16_t want) {
  if (is_folder && who.may_search_anything && !(want & kAclWrite)) return true;
  uint16_t bits;
  if (who.uid == owner_uid) {
    bits = (perm >> 6) & 7;
  } else if (access_acl) {
    return access_acl->Permits(who, owner_uid, owner_gid, want);
  } else if (who.InGroup(owner_gid)) {
    bits = (perm >> 3) & 7;
  } else {
    bits = perm & 7;
  }
  return (bits & want) == want;
}

}  // namespace lpc
