#include <gtest/gtest.h>
#include <unistd.h>

#include "caller.h"

namespace lpc {
namespace {

TEST(ParseProcStatus, ReadsTgidGroupsAndCapabilities) {
  auto st = parse_proc_status(
      "Name:\tbash\nTgid:\t4242\nPid:\t4243\nGroups:\t4 24 27 \n"
      "CapPrm:\t000001ffffffffff\nCapEff:\t0000000000000400\n");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->tgid, 4242u);
  EXPECT_EQ(st->groups, (std::vector<uint32_t>{4, 24, 27}));
  EXPECT_EQ(st->cap_permitted, 0x1ffffffffffull);
  EXPECT_EQ(st->cap_effective, 0x400ull);
}

TEST(ParseProcStatus, EmptyGroupsLine) {
  auto st = parse_proc_status("Tgid:\t7\nGroups:\t\n");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->groups.empty());
}

TEST(ParseProcStatus, RejectsTextWithoutTgid) {
  EXPECT_FALSE(parse_proc_status("Name:\tx\n"));
  EXPECT_FALSE(parse_proc_status(""));
}

TEST(ReadProcStatus, OwnProcessAndMissingThread) {
  auto st = read_proc_status(static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->tgid, static_cast<uint32_t>(getpid()));
  EXPECT_FALSE(read_proc_status(0));
}

}  // namespace
}  // namespace lpc
