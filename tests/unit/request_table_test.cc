// The daemon's table of requests the broker may still answer: tokens are
// never reused, and a request is answered by whoever takes it first.
#include "request_table.h"

#include <gtest/gtest.h>

namespace lpc {
namespace {

// Stand-ins for fuse_req_t addresses; the table never dereferences them.
fuse_req_t FakeRequest(uintptr_t n) { return reinterpret_cast<fuse_req_t>(n); }

TEST(RequestTable, TokensAreNeverReusedEvenForTheSameAddress) {
  RequestTable t;
  Token a = t.Add(FakeRequest(0x1000));
  EXPECT_EQ(t.Take(a), FakeRequest(0x1000));
  // libfuse hands the freed address to the next request at once.
  Token b = t.Add(FakeRequest(0x1000));
  EXPECT_NE(a, b);
  EXPECT_EQ(t.Take(a), nullptr) << "a stale token finds nothing";
  EXPECT_EQ(t.stale_replies(), 1u);
  EXPECT_EQ(t.Take(b), FakeRequest(0x1000));
  EXPECT_EQ(t.size(), 0u);
}

TEST(RequestTable, InterruptedIsPerRequest) {
  RequestTable t;
  Token a = t.Add(FakeRequest(0x10));
  Token b = t.Add(FakeRequest(0x20));
  t.MarkInterrupted(a);
  EXPECT_TRUE(t.Interrupted(a));
  EXPECT_FALSE(t.Interrupted(b));
  t.Take(a);
  EXPECT_FALSE(t.Interrupted(a)) << "answered: nothing to interrupt";
  t.MarkInterrupted(a);  // a late interrupt changes nothing
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace lpc
