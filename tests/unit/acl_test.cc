// core/acl and the Namespace's ACL rules without a mount: decoding the
// kernel's xattr format (and refusing what posix_acl_valid() refuses),
// the mode a list implies, chmod, inheritance, and the access decision.
// tests/integration/acl_test.cc compares the same rules with tmpfs.
#include "acl.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "namespace.h"

namespace lpc {
namespace {

constexpr NodeId kRoot = Namespace::kRootIno;

std::vector<std::byte> Xattr(std::initializer_list<AclEntry> entries,
                             uint32_t version = 2) {
  std::vector<std::byte> out(4 + 8 * entries.size());
  std::memcpy(out.data(), &version, 4);  // the test host is little-endian
  size_t at = 4;
  for (const AclEntry& e : entries) {
    uint16_t tag = static_cast<uint16_t>(e.tag);
    std::memcpy(out.data() + at, &tag, 2);
    std::memcpy(out.data() + at + 2, &e.perm, 2);
    // Unnamed entries carry ACL_UNDEFINED_ID, as the kernel writes them.
    bool named = e.tag == AclTag::kUser || e.tag == AclTag::kGroup;
    uint32_t id = named ? e.id : 0xffffffffu;
    std::memcpy(out.data() + at + 4, &id, 4);
    at += 8;
  }
  return out;
}

constexpr AclEntry Owner(uint16_t p) { return {AclTag::kUserObj, p, 0}; }
constexpr AclEntry User(uint32_t id, uint16_t p) {
  return {AclTag::kUser, p, id};
}
constexpr AclEntry GroupObj(uint16_t p) { return {AclTag::kGroupObj, p, 0}; }
constexpr AclEntry Group(uint32_t id, uint16_t p) {
  return {AclTag::kGroup, p, id};
}
constexpr AclEntry Mask(uint16_t p) { return {AclTag::kMask, p, 0}; }
constexpr AclEntry Other(uint16_t p) { return {AclTag::kOther, p, 0}; }

Acl Decoded(std::initializer_list<AclEntry> entries) {
  auto acl = Acl::Decode(Xattr(entries));
  EXPECT_TRUE(acl) << "the list should decode";
  return acl ? acl.value() : Acl::FromMode(0);
}

TEST(Acl, DecodeRefusesWhatTheKernelRefuses) {
  struct Case {
    const char* what;
    std::vector<std::byte> xattr;
    Error error;
  };
  std::vector<std::byte> truncated = Xattr({Owner(6), GroupObj(4), Other(4)});
  truncated.pop_back();
  const Case cases[] = {
      {"no header", {}, Error::kInvalid},
      {"version 1", Xattr({Owner(6), GroupObj(4), Other(4)}, 1),
       Error::kNotSupported},
      {"a partial entry", truncated, Error::kInvalid},
      {"no owner", Xattr({GroupObj(4), Other(4)}), Error::kInvalid},
      {"no other", Xattr({Owner(6), GroupObj(4)}), Error::kInvalid},
      {"two owners", Xattr({Owner(6), Owner(6), GroupObj(4), Other(4)}),
       Error::kInvalid},
      {"named user without mask",
       Xattr({Owner(6), User(1000, 6), GroupObj(4), Other(4)}),
       Error::kInvalid},
      {"out of order", Xattr({GroupObj(4), Owner(6), Other(4)}),
       Error::kInvalid},
      {"same user twice",
       Xattr(
           {Owner(6), User(7, 6), User(7, 4), GroupObj(4), Mask(6), Other(0)}),
       Error::kInvalid},
      {"users not sorted by id",
       Xattr(
           {Owner(6), User(9, 6), User(7, 4), GroupObj(4), Mask(6), Other(0)}),
       Error::kInvalid},
      {"perm beyond rwx", Xattr({Owner(8), GroupObj(4), Other(4)}),
       Error::kInvalid},
      {"unknown tag",
       Xattr({Owner(6),
              {static_cast<AclTag>(0x40), 4, 0},
              GroupObj(4),
              Other(4)}),
       Error::kInvalid},
  };
  for (const Case& c : cases) {
    auto acl = Acl::Decode(c.xattr);
    ASSERT_FALSE(acl) << c.what;
    EXPECT_EQ(c.error, acl.error()) << c.what;
  }
}

TEST(Acl, EncodeRoundTripsAndNamedIdsOnlyWhereTheyMean) {
  std::vector<std::byte> xattr =
      Xattr({Owner(7), User(1000, 6), User(1001, 4), GroupObj(5), Group(50, 2),
             Mask(6), Other(1)});
  Acl acl = Acl::Decode(xattr).value();
  EXPECT_EQ(xattr, acl.Encode());
  EXPECT_EQ(7u, acl.entries().size());
  // An id on an unnamed entry means nothing and is not kept.
  Acl plain = Decoded({{AclTag::kUserObj, 6, 99}, GroupObj(4), Other(4)});
  EXPECT_EQ(0u, plain.entries()[0].id);
}

TEST(Acl, ModeBitsAreOwnerMaskOrGroupAndOther) {
  EXPECT_EQ(0640u, Decoded({Owner(6), GroupObj(4), Other(0)}).ModeBits());
  // With a mask, the group bits of the mode are the mask.
  EXPECT_EQ(0620u,
            Decoded({Owner(6), User(5, 7), GroupObj(4), Mask(2), Other(0)})
                .ModeBits());
  EXPECT_TRUE(Decoded({Owner(6), GroupObj(4), Other(4)}).EquivalentToMode());
  EXPECT_FALSE(Decoded({Owner(6), User(5, 4), GroupObj(4), Mask(4), Other(4)})
                   .EquivalentToMode());
  // A mask alone, equal to the group entry, still says more than a mode:
  // the kernel keeps such a list too.
  EXPECT_FALSE(
      Decoded({Owner(6), GroupObj(4), Mask(4), Other(4)}).EquivalentToMode());
  EXPECT_EQ(Acl::FromMode(0751), Decoded({Owner(7), GroupObj(5), Other(1)}));
}

TEST(Acl, ChmodRewritesOwnerMaskAndOtherButKeepsNamedEntries) {
  Acl acl = Decoded({Owner(6), User(5, 7), GroupObj(4), Mask(6), Other(4)});
  acl.Chmod(0710);
  EXPECT_EQ(Decoded({Owner(7), User(5, 7), GroupObj(4), Mask(1), Other(0)}),
            acl);
  Acl plain = Acl::FromMode(0644);
  plain.Chmod(0600);  // without a mask the group entry takes the bits
  EXPECT_EQ(Acl::FromMode(0600), plain);
}

TEST(Acl, InheritanceNarrowsTheModeAndTheList) {
  Acl dflt = Decoded({Owner(7), User(5, 6), GroupObj(5), Mask(7), Other(5)});
  uint32_t mode = 0640;
  std::optional<Acl> got = dflt.InheritInto(&mode);
  ASSERT_TRUE(got);
  EXPECT_EQ(0640u, mode);
  EXPECT_EQ(Decoded({Owner(6), User(5, 6), GroupObj(5), Mask(4), Other(0)}),
            *got);
  // A default that says no more than the mode leaves no list behind.
  Acl minimal = Acl::FromMode(0750);
  mode = 0666;
  EXPECT_FALSE(minimal.InheritInto(&mode));
  EXPECT_EQ(0640u, mode);
}

TEST(Acl, PermitsFollowsTheKernelsOrder) {
  Acl acl = Decoded(
      {Owner(0), User(5, 6), GroupObj(4), Group(60, 6), Mask(4), Other(2)});
  const uint32_t in_60[] = {60};
  Accessor owner{.uid = 1, .gid = 1, .groups = {}};
  Accessor named{.uid = 5, .gid = 9, .groups = {}};
  Accessor group_member{.uid = 6, .gid = 9, .groups = in_60};
  Accessor other{.uid = 7, .gid = 9, .groups = {}};
  // The owner entry is final even when it grants nothing.
  EXPECT_FALSE(acl.Permits(owner, 1, 1, kAclRead));
  // A named user is limited by the mask.
  EXPECT_TRUE(acl.Permits(named, 1, 1, kAclRead));
  EXPECT_FALSE(acl.Permits(named, 1, 1, kAclWrite));
  EXPECT_FALSE(acl.Permits(group_member, 1, 1, kAclWrite));
  EXPECT_TRUE(acl.Permits(group_member, 1, 1, kAclRead));
  // A member of any matching group is not judged by other.
  EXPECT_FALSE(acl.Permits(group_member, 1, 1, kAclWrite));
  EXPECT_TRUE(acl.Permits(other, 1, 1, kAclWrite));
  EXPECT_FALSE(acl.Permits(other, 1, 1, kAclRead));
}

TEST(Acl, MayAccessUsesTheListOrTheMode) {
  Accessor other{.uid = 7, .gid = 9, .groups = {}};
  EXPECT_TRUE(MayAccess(other, 1, 1, 0755, nullptr, true, kAclExecute));
  EXPECT_FALSE(MayAccess(other, 1, 1, 0750, nullptr, true, kAclExecute));
  Acl acl = Decoded({Owner(7), User(7, 1), GroupObj(0), Mask(1), Other(0)});
  EXPECT_TRUE(MayAccess(other, 1, 1, 0710, &acl, true, kAclExecute));
  Accessor searcher{
      .uid = 8, .gid = 9, .groups = {}, .may_search_anything = true};
  EXPECT_TRUE(MayAccess(searcher, 1, 1, 0700, nullptr, true, kAclExecute));
}

TEST(NamespaceAcl, SettingAnAccessListSetsTheModeAndAnEquivalentOneIsDropped) {
  Namespace ns;
  Node* port =
      ns.AddCreated(kRoot, "p", NodeKind::kPort, 0666, 022, 1, 1).value();
  NodeId ino = port->attr.ino;
  EXPECT_EQ(0644u, port->attr.perm);
  EXPECT_EQ(Error::kNoData, ns.GetAcl(ino, AclKind::kAccess).error());

  auto list = Xattr({Owner(6), User(5, 6), GroupObj(4), Mask(6), Other(0)});
  Attr attr = ns.SetAcl(ino, AclKind::kAccess, list, true).value();
  EXPECT_EQ(0660u, attr.perm);
  EXPECT_EQ(list, ns.GetAcl(ino, AclKind::kAccess).value());
  EXPECT_EQ(std::vector<AclKind>{AclKind::kAccess}, ns.AclsOf(ino));

  // chmod rewrites the mask, not the named entry.
  SetAttrRequest chmod;
  chmod.set_perm = true;
  chmod.perm = 0640;
  ns.SetAttr(ino, chmod).value();
  EXPECT_EQ(Xattr({Owner(6), User(5, 6), GroupObj(4), Mask(4), Other(0)}),
            ns.GetAcl(ino, AclKind::kAccess).value());

  // A list the mode says all of is not kept (setfacl -b then ls shows
  // no '+'), and the mode still follows it.
  attr = ns.SetAcl(ino, AclKind::kAccess,
                   Xattr({Owner(6), GroupObj(0), Other(0)}), true)
             .value();
  EXPECT_EQ(0600u, attr.perm);
  EXPECT_EQ(Error::kNoData, ns.GetAcl(ino, AclKind::kAccess).error());
  EXPECT_TRUE(ns.AclsOf(ino).empty());
}

TEST(NamespaceAcl, SgidIsClearedOnlyWhenTheCallerMayNotKeepIt) {
  Namespace ns;
  NodeId dir = ns.MakeFolder(kRoot, "d", 02770, 0, 1, 50).value()->attr.ino;
  auto list = Xattr({Owner(7), GroupObj(7), Other(0)});
  EXPECT_EQ(02770u, ns.SetAcl(dir, AclKind::kAccess, list, true)->perm);
  EXPECT_EQ(0770u, ns.SetAcl(dir, AclKind::kAccess, list, false)->perm);
}

TEST(NamespaceAcl, DefaultListsAreInheritedAndTheUmaskIgnored) {
  Namespace ns;
  NodeId dir = ns.MakeFolder(kRoot, "d", 0777, 0, 1, 1).value()->attr.ino;
  auto dflt = Xattr({Owner(7), GroupObj(5), Group(60, 7), Mask(7), Other(5)});
  ns.SetAcl(dir, AclKind::kDefault, dflt, true).value();
  EXPECT_EQ(dflt, ns.GetAcl(dir, AclKind::kDefault).value());

  Node* port =
      ns.AddCreated(dir, "p", NodeKind::kPort, 0666, 077, 2, 2).value();
  EXPECT_EQ(0664u, port->attr.perm) << "the umask 077 must be ignored";
  // Named entries are copied as they are; the mask limits them.
  EXPECT_EQ(Xattr({Owner(6), GroupObj(5), Group(60, 7), Mask(6), Other(4)}),
            ns.GetAcl(port->attr.ino, AclKind::kAccess).value());
  EXPECT_EQ(Error::kNoData,
            ns.GetAcl(port->attr.ino, AclKind::kDefault).error());

  // A folder keeps the default list as its own default too.
  Node* sub = ns.MakeFolder(dir, "sub", 0750, 077, 2, 2).value();
  EXPECT_EQ(0750u, sub->attr.perm);
  EXPECT_EQ(dflt, ns.GetAcl(sub->attr.ino, AclKind::kDefault).value());

  // Removing the default list brings the umask back.
  ns.SetAcl(dir, AclKind::kDefault, {}, true).value();
  Node* later =
      ns.AddCreated(dir, "q", NodeKind::kPort, 0666, 077, 2, 2).value();
  EXPECT_EQ(0600u, later->attr.perm);
}

TEST(NamespaceAcl, ReservedFilesTakeNoListAndPortsNoDefault) {
  Namespace ns;
  auto list = Xattr({Owner(7), User(5, 7), GroupObj(5), Mask(7), Other(5)});
  EXPECT_EQ(Error::kNotPermitted,
            ns.SetAcl(ns.conn_dir(), AclKind::kAccess, list, true).error());
  Node* port =
      ns.AddCreated(kRoot, "p", NodeKind::kPort, 0666, 0, 1, 1).value();
  auto got = ns.SetAcl(port->attr.ino, AclKind::kDefault, list, true);
  ASSERT_FALSE(got) << "a default list on a port";
  EXPECT_EQ(Error::kAccessDenied, got.error()) << "as the kernel says";
}

}  // namespace
}  // namespace lpc
