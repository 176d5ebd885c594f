#include "namespace.h"

#include <gtest/gtest.h>

namespace lpc {
namespace {

TEST(Namespace, RootIsStickyAndHoldsReservedEntries) {
  Namespace ns;
  EXPECT_EQ(ns.root()->attr.perm, 01777u);
  auto conn = ns.child(Namespace::kRootIno, ".conn");
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn.value()->attr.perm, 0555u);
  EXPECT_TRUE(ns.child(Namespace::kRootIno, ".stats"));
}

TEST(Namespace, AddFindAndPaths) {
  Namespace ns;
  Node* dir =
      ns.add(Namespace::kRootIno, "app", NodeKind::kDirectory, 0755, 1000, 1000)
          .value();
  Node* port =
      ns.add(dir->attr.ino, "svc", NodeKind::kPort, 0666, 1000, 1000).value();
  EXPECT_EQ(ns.path_of(*port), "/app/svc");
  EXPECT_EQ(ns.root()->attr.nlink, 4u);  // ., .., .conn, app
  EXPECT_EQ(ns.add(dir->attr.ino, "svc", NodeKind::kPort, 0666, 0, 0).error(),
            Error::kExists);
  EXPECT_EQ(ns.add(port->attr.ino, "x", NodeKind::kPort, 0666, 0, 0).error(),
            Error::kNotDirectory);
  EXPECT_EQ(ns.add(Namespace::kRootIno, std::string(256, 'a'), NodeKind::kPort,
                   0666, 0, 0)
                .error(),
            Error::kNameTooLong);
  EXPECT_EQ(ns.child(dir->attr.ino, "..").value(), ns.root());
}

TEST(Namespace, DetachedNodeLivesUntilForgotten) {
  Namespace ns;
  Node* port =
      ns.add(Namespace::kRootIno, "p", NodeKind::kPort, 0600, 0, 0).value();
  Ino ino = port->attr.ino;
  ns.remember_lookup(port);
  ns.detach(port);
  ASSERT_EQ(ns.find(ino), port);
  EXPECT_EQ(port->attr.nlink, 0u);
  EXPECT_EQ(ns.path_of(*port), "(unlinked)");
  EXPECT_EQ(ns.child(Namespace::kRootIno, "p").error(), Error::kNotFound);
  ns.forget(ino, 1);
  EXPECT_EQ(ns.find(ino), nullptr);
}

TEST(Namespace, HeldNodeSurvivesForget) {
  Namespace ns;
  Node* port =
      ns.add(Namespace::kRootIno, "p", NodeKind::kPort, 0600, 0, 0).value();
  port->held = true;
  ns.detach(port);
  ns.forget(port->attr.ino, 5);
  EXPECT_NE(ns.find(port->attr.ino), nullptr);
}

TEST(Namespace, MoveAndIsWithin) {
  Namespace ns;
  Node* a = ns.add(Namespace::kRootIno, "a", NodeKind::kDirectory, 0755, 0, 0)
                .value();
  Node* b = ns.add(a->attr.ino, "b", NodeKind::kDirectory, 0755, 0, 0).value();
  EXPECT_TRUE(ns.is_within(b->attr.ino, a->attr.ino));
  EXPECT_FALSE(ns.is_within(a->attr.ino, b->attr.ino));
  ns.move(b, Namespace::kRootIno, "c");
  EXPECT_EQ(ns.path_of(*b), "/c");
  EXPECT_EQ(a->attr.nlink, 2u);
}

}  // namespace
}  // namespace lpc
