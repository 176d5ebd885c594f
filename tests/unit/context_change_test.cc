// ContextChangeFlags on a table of writers against one connect identity
// (lpc.7 "CREDENTIALS", LPC_MESSAGE_* in include/lpc.h).
#include "context_change.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "lpc.h"

namespace lpc {
namespace {

constexpr uint32_t kIdentity = LPC_MESSAGE_IDENTITY_CHANGED;
constexpr uint32_t kProcess = LPC_MESSAGE_PROCESS_CHANGED;

Caller AtConnect() {
  Caller c;
  c.sender = {/*pid=*/100, /*uid=*/1000, /*gid=*/1000, /*start_time=*/5000};
  c.groups = {1000, 27};
  return c;
}

std::shared_ptr<const std::vector<uint32_t>> Groups(std::vector<uint32_t> g) {
  return std::make_shared<const std::vector<uint32_t>>(std::move(g));
}

struct Case {
  const char* what;
  Writer writer;
  uint32_t flags;
};

TEST(ContextChangeFlags, Table) {
  const Case cases[] = {
      {"the connecting process, unchanged",
       Writer({100, 1000, 1000, 5000}, Groups({1000, 27})), 0},
      {"groups unknown: compared by ids only", Writer({100, 1000, 1000, 5000}),
       0},
      {"another fsuid", Writer({100, 0, 1000, 5000}, Groups({1000, 27})),
       kIdentity},
      {"another fsgid", Writer({100, 1000, 0, 5000}, Groups({1000, 27})),
       kIdentity},
      {"other groups, same ids",
       Writer({100, 1000, 1000, 5000}, Groups({1000})), kIdentity},
      {"a forked child", Writer({101, 1000, 1000, 5001}, Groups({1000, 27})),
       kProcess},
      {"a reused pid: same pid, later start",
       Writer({100, 1000, 1000, 9000}, Groups({1000, 27})), kProcess},
      {"start time unknown: compared by pid",
       Writer({100, 1000, 1000, 0}, Groups({1000, 27})), 0},
      {"pid unknown for the writer", Writer({0, 1000, 1000, 0}), kProcess},
      {"another process of another user",
       Writer({200, 1001, 1001, 7000}, Groups({1001})), kIdentity | kProcess},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ContextChangeFlags(AtConnect(), c.writer), c.flags) << c.what;
  }
}

TEST(ContextChangeFlags, PidUnknownOnBothSidesCannotBeToldApart) {
  Caller unseen = AtConnect();
  unseen.sender.pid = 0;
  unseen.sender.start_time = 0;
  EXPECT_EQ(ContextChangeFlags(unseen, Writer({0, 1000, 1000, 0})), 0u);
  EXPECT_EQ(ContextChangeFlags(unseen, Writer({100, 1000, 1000, 5000})),
            uint32_t{kProcess});
}

}  // namespace
}  // namespace lpc
