#include "line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lpc::shell {
namespace {

using Messages = std::vector<std::string>;

Messages SplitAll(const std::vector<std::string>& feeds, size_t max = 256) {
  LineSplitter splitter(max);
  Messages out;
  for (const std::string& feed : feeds) splitter.Feed(feed, out);
  splitter.Finish(out);
  return out;
}

TEST(LineSplitter, OneMessagePerLineWithItsNewline) {
  EXPECT_EQ(SplitAll({"a\nbb\n\nccc\n"}),
            (Messages{"a\n", "bb\n", "\n", "ccc\n"}));
}

TEST(LineSplitter, HoldsAPartialLineUntilItsNewline) {
  LineSplitter splitter(256);
  Messages out;
  splitter.Feed("hel", out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(splitter.held(), 3u);
  splitter.Feed("lo\nwor", out);
  EXPECT_EQ(out, Messages{"hello\n"});
  splitter.Feed("ld\n", out);
  EXPECT_EQ(out, (Messages{"hello\n", "world\n"}));
  EXPECT_EQ(splitter.held(), 0u);
}

TEST(LineSplitter, FinishReleasesAnUnterminatedLine) {
  EXPECT_EQ(SplitAll({"a\nno newline"}), (Messages{"a\n", "no newline"}));
  EXPECT_EQ(SplitAll({""}), Messages{});
}

TEST(LineSplitter, LongLinesAreCutAtTheLimit) {
  std::string line(600, 'x');
  Messages out = SplitAll({line + "\n"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], std::string(256, 'x'));
  EXPECT_EQ(out[1], std::string(256, 'x'));
  EXPECT_EQ(out[2], std::string(88, 'x') + "\n");
}

TEST(LineSplitter, ALineOfExactlyTheLimitLeavesItsNewlineAlone) {
  Messages out = SplitAll({std::string(256, 'y') + "\nz\n"});
  EXPECT_EQ(out, (Messages{std::string(256, 'y'), "\n", "z\n"}));
  out = SplitAll({std::string(255, 'y') + "\n"});
  EXPECT_EQ(out, Messages{std::string(255, 'y') + "\n"});
}

TEST(LineSplitter, FullPiecesOfAPartialLineGoAtOnce) {
  LineSplitter splitter(4);
  Messages out;
  splitter.Feed("abcdefghij", out);
  EXPECT_EQ(out, (Messages{"abcd", "efgh"}));
  EXPECT_EQ(splitter.held(), 2u);
}

TEST(LineSplitter, MessagesPutTogetherAreTheStream) {
  // Byte by byte and in one piece give the same messages.
  std::string stream;
  for (int i = 0; i < 50; ++i) {
    stream += std::string(static_cast<size_t>(i * 13 % 700), 'a' + i % 26);
    stream += '\n';
  }
  stream += "tail";
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  Messages whole = SplitAll({stream});
  EXPECT_EQ(SplitAll(bytes), whole);
  std::string joined;
  for (const std::string& m : whole) {
    EXPECT_GE(m.size(), 1u);
    EXPECT_LE(m.size(), 256u);
    joined += m;
  }
  EXPECT_EQ(joined, stream);
}

TEST(MessageAsLine, AddsANewlineUnlessThereIsOne) {
  EXPECT_EQ(MessageAsLine("hello"), "hello\n");
  EXPECT_EQ(MessageAsLine("hello\n"), "hello\n");
  EXPECT_EQ(MessageAsLine("\n"), "\n");
  EXPECT_EQ(MessageAsLine("a\nb"), "a\nb\n");
}

}  // namespace
}  // namespace lpc::shell
