// POSIX access control lists of ports and folders (lpc.7 "ACCESS
// CONTROL"). The kernel makes every access decision on the mount (lpcfs
// negotiates FUSE's POSIX-ACL capability, fs/README.md "ACLs"); the daemon
// stores the lists and keeps them and the mode consistent the way the
// kernel's own file systems do: these functions follow the rules of the
// kernel's generic ACL code (Documentation/filesystems/posix-acl, and the
// acl(5) manual), so that a list behaves on a port as on a tmpfs file.
//
// Plain data, no system calls. The xattr encoding is the kernel's
// (<linux/posix_acl_xattr.h>): a 4-byte little-endian version 2, then one
// 8-byte {u16 tag, u16 perm, u32 id} entry per line of the list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "errors.h"

namespace lpc {

enum class AclTag : uint16_t {
  kUserObj = 0x01,   // the owner
  kUser = 0x02,      // a named user
  kGroupObj = 0x04,  // the owning group
  kGroup = 0x08,     // a named group
  kMask = 0x10,      // the most any group class entry grants
  kOther = 0x20,
};

struct AclEntry {
  AclTag tag;
  uint16_t perm;  // 4 read, 2 write, 1 execute/search
  uint32_t id;    // user or group id for kUser and kGroup, else unused
  bool operator==(const AclEntry&) const = default;
};

// Who asks for access: what the kernel's permission check uses.
struct Accessor {
  uint32_t uid = 0;                  // filesystem uid
  uint32_t gid = 0;                  // filesystem gid
  std::span<const uint32_t> groups;  // supplementary groups
  // CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH: searches every folder.
  bool may_search_anything = false;
  bool InGroup(uint32_t group) const;
};

// Access the daemon lends a user on a file for a while: while a view of a
// section lives, its receiver may open the section (lpc.7 "VIEWS").
struct AclGrant {
  uint32_t uid;
  uint16_t perm;  // kAclRead, | kAclWrite
  bool operator==(const AclGrant&) const = default;
};

// The permission bits of an access check.
inline constexpr uint16_t kAclRead = 4;
inline constexpr uint16_t kAclWrite = 2;
inline constexpr uint16_t kAclExecute = 1;

class Acl {
 public:
  // A well-formed list, as the kernel's posix_acl_valid() requires: one
  // owner, owning-group and other entry, a mask if there are named
  // entries, no named id twice, sorted by tag and id, perms within rwx.
  // EINVAL otherwise; an unknown version is EOPNOTSUPP as in the kernel.
  static Result<Acl> Decode(std::span<const std::byte> xattr);
  std::vector<std::byte> Encode() const;

  // The three entries a mode alone means.
  static Acl FromMode(uint32_t mode);

  const std::vector<AclEntry>& entries() const { return entries_; }

  // The permission bits the list implies (owner, mask or owning group,
  // other), and whether the mode says everything the list does (then the
  // file keeps no list: posix_acl_equiv_mode()).
  uint32_t ModeBits() const;
  bool EquivalentToMode() const;

  // chmod: the owner, mask (or owning group) and other entries take the
  // new permission bits; named entries stay (posix_acl_chmod()).
  void Chmod(uint32_t mode);

  // This list with `grants` lent on top: each grantee's named-user entry
  // gains the granted bits (a new entry if it had none), and the mask
  // widens to let them through. So that nobody else gains anything by
  // the wider mask, every other group-class entry is first narrowed to
  // what the old mask let through. Without grants, the list itself.
  Acl WithGrants(std::span<const AclGrant> grants) const;

  // A new file in a folder with this default list: the list the file gets
  // with its requested `mode` applied to it, and `mode` narrowed to what
  // the list grants (posix_acl_create_masq()). nullopt if the result says
  // no more than the mode, so the file keeps no list.
  std::optional<Acl> InheritInto(uint32_t* mode) const;

  // The kernel's posix_acl_permission(): may `who` have every bit of
  // `want` on a file owned by `owner_uid`/`owner_gid` with this list?
  bool Permits(const Accessor& who, uint32_t owner_uid, uint32_t owner_gid,
               uint16_t want) const;

  bool operator==(const Acl&) const = default;

 private:
  explicit Acl(std::vector<AclEntry> entries) : entries_(std::move(entries)) {}
  AclEntry* Find(AclTag tag);
  std::vector<AclEntry> entries_;
};

// The access decision of the kernel's generic_permission() without
// capabilities other than `may_search_anything` for folders: the owner's
// bits, else the list if there is one, else the group or other bits.
bool MayAccess(const Accessor& who, uint32_t owner_uid, uint32_t owner_gid,
               uint32_t perm, const Acl* access_acl, bool is_folder,
               uint16_t want);

}  // namespace lpc
