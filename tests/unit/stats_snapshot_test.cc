// StatsSnapshot: lines rendered only as read (core/stats_snapshot.h).
#include "stats_snapshot.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace lpc {
namespace {

StatsSnapshot Sample() {
  StatsSnapshot s;
  auto folder = std::make_shared<const std::string>("/deep/er");
  size_t a = s.AddPath({folder, "/a"});
  s.AddLine("port ", a, " x=1\n");
  s.AddLine("conn 7 port=", a, " y=2\n");
  size_t b = s.AddPath({folder, "/b"});
  s.AddLine("port ", b, " x=3\n");
  size_t root = s.AddPath({nullptr, "/r"});
  s.AddLine("port ", root, " x=4\n");
  s.AddText("usage uid=1\n");
  return s;
}

const char kSampleText[] =
    "port /deep/er/a x=1\n"
    "conn 7 port=/deep/er/a y=2\n"
    "port /deep/er/b x=3\n"
    "port /r x=4\n"
    "usage uid=1\n";

TEST(StatsSnapshot, TextAndSize) {
  StatsSnapshot s = Sample();
  EXPECT_EQ(s.Text(), kSampleText);
  EXPECT_EQ(s.size(), sizeof kSampleText - 1);
  EXPECT_EQ(StatsSnapshot().Text(), "");
  EXPECT_EQ(StatsSnapshot().Read(0, 10), "");
}

// Every read of every offset and size returns the bytes of the whole text
// there: the kernel reads a file in pieces at any offset.
TEST(StatsSnapshot, ReadsAnyRange) {
  StatsSnapshot s = Sample();
  const std::string text = kSampleText;
  for (size_t off = 0; off <= text.size() + 2; ++off) {
    for (size_t n = 0; n <= text.size() + 2; ++n) {
      std::string want = off < text.size() ? text.substr(off, n) : "";
      ASSERT_EQ(s.Read(off, n), want) << "offset " << off << " size " << n;
    }
  }
}

TEST(StatsSnapshot, SmallReadsAddUpToTheText) {
  StatsSnapshot s = Sample();
  const size_t sizes[] = {1, 3, 7, 64};
  for (size_t n : sizes) {
    std::string all;
    for (uint64_t off = 0;; off += n) {
      std::string part = s.Read(off, n);
      if (part.empty()) break;
      all += part;
    }
    EXPECT_EQ(all, kSampleText) << "reads of " << n;
  }
}

}  // namespace
}  // namespace lpc
