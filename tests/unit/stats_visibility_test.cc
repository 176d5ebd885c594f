// What a reader of .stats sees (lpc.7 "What a reader sees"), and the
// bound on open .stats files per user ("Cost"): tables of cases through
// the Broker.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "broker_fixture.h"

namespace lpc::testing {
namespace {

constexpr uint32_t kAlice = 1001;
constexpr uint32_t kBob = 1002;
constexpr uint32_t kShared = 2000;  // a group bob is in
constexpr uint64_t kCapDacOverride = uint64_t{1} << 1;
constexpr uint64_t kCapDacReadSearch = uint64_t{1} << 2;
constexpr uint64_t kCapFowner = uint64_t{1} << 3;

Caller User(uint32_t uid, uint64_t caps = 0) {
  Caller c;
  c.sender = {7, uid, uid};
  if (uid == kBob) c.groups = {kBob, kShared};
  c.cap_effective = caps;
  return c;
}

// An access ACL in the kernel's xattr encoding: owner rwx, bob `bob`,
// group ---, mask `bob`, other ---.
Bytes AclGrantingBob(uint16_t bob) {
  struct Entry {
    uint16_t tag, perm;
    uint32_t id;
  };
  const Entry entries[] = {{0x01, 7, 0},
                           {0x02, bob, kBob},
                           {0x04, 0, 0},
                           {0x10, bob, 0},
                           {0x20, 0, 0}};
  Bytes out(4 + sizeof entries);
  const uint32_t version = 2;
  std::memcpy(out.data(), &version, 4);
  std::memcpy(out.data() + 4, entries, sizeof entries);
  return out;
}

struct Folder {
  Folder(uint32_t p, uint32_t g = kAlice,
         std::optional<uint16_t> acl = std::nullopt)
      : perm(p), gid(g), acl_bob(acl) {}
  uint32_t perm;
  uint32_t gid;
  std::optional<uint16_t> acl_bob;  // an ACL entry for bob, with these bits
};

struct VisibilityCase {
  const char* what;
  std::vector<Folder> folders;  // outermost first, all alice's
  Caller reader;
  bool sees;
};

class StatsVisibilityTest : public BrokerTest {
 protected:
  // Alice's port "svc" at the end of the chain of folders, with one
  // connection; returns its server handle.
  HandleId Build(const std::vector<Folder>& folders) {
    Caller alice = User(kAlice);
    NodeId dir = Namespace::kRootIno;
    for (size_t i = 0; i < folders.size(); ++i) {
      auto made = broker_.MakeFolder(dir, "d" + std::to_string(i), 0700, 0,
                                     alice.sender);
      EXPECT_TRUE(made);
      dir = made->ino;
      SetAttrRequest attrs;
      attrs.set_perm = attrs.set_gid = true;
      attrs.perm = folders[i].perm;
      attrs.gid = folders[i].gid;
      EXPECT_TRUE(broker_.SetAttr(dir, attrs));
      if (folders[i].acl_bob) {
        Bytes acl = AclGrantingBob(*folders[i].acl_bob);
        EXPECT_TRUE(broker_.SetAcl(dir, AclKind::kAccess, SpanOf(acl), alice));
      }
    }
    auto port = broker_.CreatePort(dir, "svc", 0666, 0, true, alice);
    EXPECT_TRUE(port);
    port_ino_ = port->attr.ino;
    AcceptedClient(port->handle);
    return port->handle;
  }
};

TEST_F(StatsVisibilityTest, ShowsWhatPathsFind) {
  const VisibilityCase cases[] = {
      {"0700 folder of another user", {{0700}}, User(kBob), false},
      {"0711: others may search", {{0711}}, User(kBob), true},
      {"0701", {{0701}}, User(kBob), true},
      {"0744: read is not search", {{0744}}, User(kBob), false},
      {"group x for a group bob is in", {{0710, kShared}}, User(kBob), true},
      {"group x for a group bob is not in", {{0710}}, User(kBob), false},
      {"ACL grants bob x", {{0700, kAlice, 1}}, User(kBob), true},
      {"ACL grants bob rw only", {{0700, kAlice, 6}}, User(kBob), false},
      {"ACL entry for bob without x beats other x",
       {{0701, kAlice, 4}},
       User(kBob),
       false},
      {"the owner", {{0700}}, User(kAlice), true},
      {"CAP_DAC_READ_SEARCH", {{0700}}, User(kBob, kCapDacReadSearch), true},
      {"CAP_DAC_OVERRIDE", {{0700}}, User(kBob, kCapDacOverride), true},
      {"another capability", {{0700}}, User(kBob, kCapFowner), false},
      {"uid 0 without capabilities", {{0700}}, User(0), false},
      {"open outer, closed inner", {{0711}, {0700}}, User(kBob), false},
      {"closed outer, open inner", {{0700}, {0777}}, User(kBob), false},
      {"open all the way", {{0711}, {0755}, {0701}}, User(kBob), true},
  };
  for (const VisibilityCase& c : cases) {
    SCOPED_TRACE(c.what);
    HandleId server = Build(c.folders);
    std::string text = broker_.StatsText(c.reader);
    bool port_line = text.find("port /d0/") != std::string::npos;
    bool conn_line = text.find("conn ") != std::string::npos;
    EXPECT_EQ(port_line, c.sees) << text;
    EXPECT_EQ(conn_line, c.sees) << "its connections go with it:\n" << text;
    // Everything is there for the full view.
    EXPECT_NE(broker_.StatsText().find("port /d0/"), std::string::npos);
    broker_.Release(server);
    for (size_t i = c.folders.size(); i-- > 0;) {
      std::string path;
      NodeId dir = Namespace::kRootIno;
      for (size_t j = 0; j < i; ++j) {
        dir = broker_.Lookup(dir, "d" + std::to_string(j))->ino;
      }
      EXPECT_TRUE(broker_.RemoveFolder(dir, "d" + std::to_string(i)));
    }
  }
}

TEST_F(StatsVisibilityTest, UnlinkedPortsOnlyToTheirOwner) {
  const struct {
    const char* what;
    Caller reader;
    bool sees;
  } cases[] = {
      {"owner", User(kAlice), true},
      {"another user", User(kBob), false},
      {"CAP_DAC_READ_SEARCH", User(kBob, kCapDacReadSearch), true},
  };
  HandleId server = Build({{0755}});
  NodeId d0 = broker_.Lookup(Namespace::kRootIno, "d0")->ino;
  ASSERT_TRUE(broker_.Unlink(d0, "svc"));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::string text = broker_.StatsText(c.reader);
    EXPECT_EQ(text.find("port (unlinked) ") != std::string::npos, c.sees)
        << text;
    EXPECT_EQ(text.find(" port=(unlinked) ") != std::string::npos, c.sees)
        << text;
  }
  broker_.Release(server);
}

TEST_F(StatsVisibilityTest, OpenUsesTheReadersIdentity) {
  Build({{0700}});
  NodeId stats = broker_.Lookup(Namespace::kRootIno, ".stats")->ino;
  for (uint32_t uid : {kAlice, kBob}) {
    Req r = d_.Issue(RequestKind::kOpen);
    broker_.Open(r.token, stats, O_RDONLY, User(uid));
    HandleId h = OpenedHandle(r);
    std::string text = DataOf(Read(h, 65536));
    EXPECT_EQ(text.find("port /d0/svc ") != std::string::npos, uid == kAlice)
        << "uid " << uid << ":\n"
        << text;
    broker_.Release(h);
  }
}

TEST_F(StatsVisibilityTest, NamesAreEscaped) {
  Caller alice = User(kAlice);
  auto dir = broker_.MakeFolder(Namespace::kRootIno, "a\nport /x owner=0", 0755,
                                0, alice.sender);
  ASSERT_TRUE(dir);
  auto port =
      broker_.CreatePort(dir->ino, "p\x1b]0;t\x07\\", 0666, 0, true, alice);
  ASSERT_TRUE(port);
  port_ino_ = port->attr.ino;
  AcceptedClient(port->handle);
  std::string text = broker_.StatsText(User(kBob));
  EXPECT_EQ(
      text.find("port /a\\nport /x owner=0/p\\033]0;t\\a\\\\ owner=1001 "), 0u)
      << text;
  EXPECT_NE(text.find(" port=/a\\nport /x owner=0/p\\033]0;t\\a\\\\ state="),
            std::string::npos)
      << text;
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 2u) << "one port line and one conn line:\n" << text;
}

// Snapshots share the paths of folders (core/stats_text.h FolderPaths):
// a rename shows in the next snapshot, and an open one keeps its text.
TEST_F(StatsVisibilityTest, RenamedFolderShowsInLaterSnapshots) {
  Build({{0755}, {0755}});
  NodeId stats = broker_.Lookup(Namespace::kRootIno, ".stats")->ino;
  Req r = d_.Issue(RequestKind::kOpen);
  broker_.Open(r.token, stats, O_RDONLY, User(kBob));
  HandleId before = OpenedHandle(r);
  std::string old_text = broker_.StatsText(User(kBob));
  EXPECT_NE(old_text.find("port /d0/d1/svc "), std::string::npos) << old_text;
  const struct {
    const char* from;
    const char* to;
    const char* path;
  } renames[] = {{"d0", "outer", "/outer/d1/svc"},
                 {"outer", "d\\\n", "/d\\\\\\n/d1/svc"},
                 {"d\\\n", "d0", "/d0/d1/svc"}};
  for (const auto& step : renames) {
    ASSERT_TRUE(broker_.Rename(Namespace::kRootIno, step.from,
                               Namespace::kRootIno, step.to, 0));
    std::string text = broker_.StatsText(User(kBob));
    EXPECT_NE(text.find(std::string("port ") + step.path + " "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(std::string(" port=") + step.path + " "),
              std::string::npos)
        << text;
  }
  EXPECT_EQ(DataOf(Read(before, 65536)), old_text)
      << "an open snapshot keeps what it showed";
  broker_.Release(before);
}

class StatsHandleLimitTest : public BrokerTest {
 protected:
  static Limits TwoHandles() {
    Limits l;
    l.stats_handles = 2;
    return l;
  }
  StatsHandleLimitTest() : BrokerTest(TwoHandles()) {}
  Req OpenStats(uint32_t uid) {
    NodeId stats = broker_.Lookup(Namespace::kRootIno, ".stats")->ino;
    Req r = d_.Issue(RequestKind::kOpen);
    broker_.Open(r.token, stats, O_RDONLY, User(uid));
    return r;
  }
};

TEST_F(StatsHandleLimitTest, PerUser) {
  HandleId a1 = OpenedHandle(OpenStats(kAlice));
  HandleId a2 = OpenedHandle(OpenStats(kAlice));
  EXPECT_EQ(ErrorOf(OpenStats(kAlice)), Error::kTooManyOpen);
  EXPECT_EQ(ToErrno(Error::kTooManyOpen), EMFILE);
  // Another user's count is its own.
  HandleId b1 = OpenedHandle(OpenStats(kBob));
  // Closing one makes room again.
  broker_.Release(a1);
  HandleId a3 = OpenedHandle(OpenStats(kAlice));
  EXPECT_EQ(ErrorOf(OpenStats(kAlice)), Error::kTooManyOpen);
  for (HandleId h : {a2, a3, b1}) broker_.Release(h);
  EXPECT_EQ(broker_.handle_count(), 0u);
}

}  // namespace
}  // namespace lpc::testing
