#include "namespace.h"

#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>

namespace lpc {
namespace {

constexpr NodeId kRoot = Namespace::kRootIno;

TEST(Namespace, RootIsStickyAndHoldsReservedEntries) {
  Namespace ns;
  EXPECT_EQ(ns.root()->attr.perm, 01777u);
  auto conn = ns.Child(kRoot, ".conn");
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn.value()->attr.perm, 0555u);
  EXPECT_EQ(conn.value()->attr.ino, ns.conn_dir());
  EXPECT_TRUE(ns.Child(kRoot, ".stats"));
  auto windows = ns.Child(kRoot, ".windows");
  ASSERT_TRUE(windows);
  EXPECT_EQ(windows.value()->attr.perm, 0555u);
  EXPECT_EQ(windows.value()->attr.ino, ns.windows_dir());
  EXPECT_TRUE(ns.IsDaemonFolder(ns.conn_dir()));
  EXPECT_TRUE(ns.IsDaemonFolder(ns.windows_dir()));
  EXPECT_FALSE(ns.IsDaemonFolder(kRoot));
}

TEST(Namespace, AddFindAndPaths) {
  Namespace ns;
  Node* dir =
      ns.Add(kRoot, "app", NodeKind::kDirectory, 0755, 1000, 1000).value();
  Node* port =
      ns.Add(dir->attr.ino, "svc", NodeKind::kPort, 0666, 1000, 1000).value();
  EXPECT_EQ(ns.PathOf(*port), "/app/svc");
  // ., .., .conn, .windows, .sections, .views, app
  EXPECT_EQ(ns.root()->attr.nlink, 7u);
  EXPECT_EQ(ns.Add(dir->attr.ino, "svc", NodeKind::kPort, 0666, 0, 0).error(),
            Error::kExists);
  EXPECT_EQ(ns.Add(port->attr.ino, "x", NodeKind::kPort, 0666, 0, 0).error(),
            Error::kNotDirectory);
  EXPECT_EQ(
      ns.Add(kRoot, std::string(256, 'a'), NodeKind::kPort, 0666, 0, 0).error(),
      Error::kNameTooLong);
  for (const char* bad : {"", ".", ".."}) {
    EXPECT_EQ(ns.Add(kRoot, bad, NodeKind::kPort, 0666, 0, 0).error(),
              Error::kExists)
        << "'" << bad << "'";
  }
  EXPECT_EQ(ns.Child(dir->attr.ino, "..").value(), ns.root());
}

TEST(Namespace, UnlinkedNodeLivesUntilForgotten) {
  Namespace ns;
  Node* port = ns.Add(kRoot, "p", NodeKind::kPort, 0600, 0, 0).value();
  NodeId ino = port->attr.ino;
  ns.RememberLookup(port);
  ASSERT_TRUE(ns.Unlink(kRoot, "p"));
  ASSERT_EQ(ns.Find(ino), port);
  EXPECT_EQ(port->attr.nlink, 0u);
  EXPECT_EQ(ns.PathOf(*port), "(unlinked)");
  EXPECT_EQ(ns.Child(kRoot, "p").error(), Error::kNotFound);
  ns.Forget(ino, 1);
  EXPECT_EQ(ns.Find(ino), nullptr);
}

TEST(Namespace, HeldNodeSurvivesForgetUntilDropped) {
  Namespace ns;
  Node* port = ns.Add(kRoot, "p", NodeKind::kPort, 0600, 0, 0).value();
  NodeId ino = port->attr.ino;
  port->port = PortId(7);
  ASSERT_TRUE(ns.Unlink(kRoot, "p"));
  ns.Forget(ino, 5);
  ASSERT_NE(ns.Find(ino), nullptr);
  ns.Drop(port);
  EXPECT_EQ(ns.Find(ino), nullptr);
}

TEST(Namespace, RenameRules) {
  Namespace ns;
  NodeId a = ns.MakeFolder(kRoot, "a", 0755, 0, 0, 0).value()->attr.ino;
  NodeId b = ns.MakeFolder(a, "b", 0755, 0, 0, 0).value()->attr.ino;
  ns.Add(kRoot, "p", NodeKind::kPort, 0666, 0, 0);
  ns.Add(kRoot, "q", NodeKind::kPort, 0666, 0, 0);
  const std::string too_long(256, 'x');
  struct Case {
    const char* what;
    NodeId from;
    const char* name;
    NodeId to;
    const char* new_name;
    unsigned flags;
    Error error;
  } cases[] = {
      {"over an existing port", kRoot, "p", kRoot, "q", 0, Error::kExists},
      {"folder over a folder", a, "b", kRoot, "a", 0, Error::kExists},
      {"folder into itself", kRoot, "a", b, "x", 0, Error::kInvalid},
      {"exchange", kRoot, "p", kRoot, "z", RENAME_EXCHANGE, Error::kInvalid},
      {"missing source", kRoot, "nope", kRoot, "z", 0, Error::kNotFound},
      {".stats", kRoot, ".stats", kRoot, "s", 0, Error::kNotPermitted},
      {".conn", kRoot, ".conn", kRoot, "c", 0, Error::kNotPermitted},
      {"into .conn", kRoot, "p", ns.conn_dir(), "p", 0, Error::kNotPermitted},
      {".windows", kRoot, ".windows", kRoot, "w", 0, Error::kNotPermitted},
      {"into .windows", kRoot, "p", ns.windows_dir(), "p", 0,
       Error::kNotPermitted},
      {"too long", kRoot, "p", kRoot, too_long.c_str(), 0, Error::kNameTooLong},
  };
  for (const Case& c : cases) {
    auto r = ns.Rename(c.from, c.name, c.to, c.new_name, c.flags);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error(), c.error) << c.what;
  }
  EXPECT_TRUE(ns.Rename(kRoot, "p", kRoot, "p", 0)) << "to itself";
  EXPECT_TRUE(ns.Rename(kRoot, "p", b, "moved", RENAME_NOREPLACE));
  EXPECT_EQ(ns.PathOf(*ns.Child(b, "moved").value()), "/a/b/moved");
  EXPECT_TRUE(ns.Rename(a, "b", kRoot, "c", 0));
  EXPECT_TRUE(ns.IsWithin(ns.Child(kRoot, "c").value()->attr.ino, kRoot));
  EXPECT_FALSE(ns.IsWithin(ns.Child(kRoot, "c").value()->attr.ino, a));
  EXPECT_EQ(ns.Find(a)->attr.nlink, 2u);
}

TEST(Namespace, FoldersRemoveAndUnlinkRules) {
  Namespace ns;
  NodeId app = ns.MakeFolder(kRoot, "app", 0755, 0, 5, 5).value()->attr.ino;
  ns.Add(app, "svc", NodeKind::kPort, 0666, 5, 5);
  EXPECT_EQ(ns.RemoveFolder(kRoot, "app").error(), Error::kNotEmpty);
  EXPECT_EQ(ns.RemoveFolder(kRoot, ".conn").error(), Error::kBusy);
  EXPECT_EQ(ns.RemoveFolder(kRoot, ".stats").error(), Error::kNotDirectory);
  EXPECT_EQ(ns.RemoveFolder(app, "svc").error(), Error::kNotDirectory);
  EXPECT_EQ(ns.Unlink(kRoot, "app").error(), Error::kIsDirectory);
  EXPECT_EQ(ns.Unlink(kRoot, ".stats").error(), Error::kNotPermitted);
  EXPECT_EQ(ns.MakeFolder(ns.conn_dir(), "x", 0755, 0, 0, 0).error(),
            Error::kNotPermitted);
  EXPECT_EQ(ns.RemoveFolder(kRoot, ".windows").error(), Error::kBusy);
  EXPECT_EQ(ns.MakeFolder(ns.windows_dir(), "x", 0755, 0, 0, 0).error(),
            Error::kNotPermitted);
  EXPECT_TRUE(ns.Unlink(app, "svc"));
  EXPECT_TRUE(ns.RemoveFolder(kRoot, "app"));
}

TEST(Namespace, SetgidFolderPassesItsGroupToFolders) {
  Namespace ns;
  Node* shared = ns.MakeFolder(kRoot, "shared", 02775, 0, 1, 50).value();
  Node* sub = ns.MakeFolder(shared->attr.ino, "sub", 0700, 0, 2, 60).value();
  EXPECT_EQ(sub->attr.gid, 50u);
  EXPECT_EQ(sub->attr.perm, uint32_t{02700});
}

TEST(Namespace, SetAttrTruncationRules) {
  Namespace ns;
  NodeId port =
      ns.Add(kRoot, "p", NodeKind::kPort, 0666, 0, 0).value()->attr.ino;
  NodeId dir = ns.MakeFolder(kRoot, "d", 0755, 0, 0, 0).value()->attr.ino;
  SetAttrRequest trunc;
  trunc.set_size = true;
  EXPECT_TRUE(ns.SetAttr(port, trunc)) << "truncate to 0 is a no-op";
  trunc.size = 5;
  EXPECT_EQ(ns.SetAttr(port, trunc).error(), Error::kInvalid);
  EXPECT_EQ(ns.SetAttr(dir, trunc).error(), Error::kIsDirectory);
  EXPECT_EQ(ns.SetAttr(ns.stats_file(), trunc).error(), Error::kNotPermitted);
  SetAttrRequest chmod;
  chmod.set_perm = true;
  chmod.perm = 0100640;  // the type bits are not the node's to change
  EXPECT_EQ(ns.SetAttr(port, chmod).value().perm, 0640u);
}

}  // namespace
}  // namespace lpc
