#include "cli.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace lpc::shell {
namespace {

TEST(ParseMode, AcceptsOctalPermissionBits) {
  EXPECT_EQ(ParseMode("0666"), 0666u);
  EXPECT_EQ(ParseMode("600"), 0600u);
  EXPECT_EQ(ParseMode("0"), 0u);
  EXPECT_EQ(ParseMode("1777"), 01777u);
  EXPECT_EQ(ParseMode("07777"), 07777u);
}

TEST(ParseMode, RejectsTheRest) {
  for (const char* bad :
       {"", "8", "0x1ff", "rw", "-1", "017777", "777777", " 644", "644 "}) {
    EXPECT_FALSE(ParseMode(bad)) << bad;
  }
}

TEST(ParseSeconds, AcceptsPositiveDecimals) {
  EXPECT_EQ(ParseSeconds("2"), 2.0);
  EXPECT_EQ(ParseSeconds("0.5"), 0.5);
  EXPECT_EQ(ParseSeconds(".25"), 0.25);
}

TEST(ParseSeconds, RejectsTheRest) {
  for (const char* bad : {"", "0", "0.0", "-1", "1e3", "inf", "nan", "0x10",
                          "2s", " 2", "1e7", "."}) {
    EXPECT_FALSE(ParseSeconds(bad)) << bad;
  }
}

TEST(ParseCount, AcceptsPositiveDecimalIntegers) {
  EXPECT_EQ(ParseCount("1"), 1u);
  EXPECT_EQ(ParseCount("0042"), 42u);
  EXPECT_EQ(ParseCount("18446744073709551615"), UINT64_MAX);
}

TEST(ParseCount, RejectsTheRest) {
  for (const char* bad : {"", "0", "-1", "+1", " 1", "1 ", "1.5", "0x10",
                          "18446744073709551616", "ten"}) {
    EXPECT_FALSE(ParseCount(bad)) << bad;
  }
}

TEST(PortPath, RelativeToTheMountUnlessAbsolute) {
  EXPECT_EQ(PortPath("/lpc", "echo"), "/lpc/echo");
  EXPECT_EQ(PortPath("/lpc/", "svc/db"), "/lpc/svc/db");
  EXPECT_EQ(PortPath("/lpc", "/tmp/m/echo"), "/tmp/m/echo");
}

TEST(MountDir, OptionThenEnvironmentThenDefault) {
  unsetenv("LPC_MOUNT");
  EXPECT_EQ(MountDir(std::nullopt), "/lpc");
  setenv("LPC_MOUNT", "/mnt/x", 1);
  EXPECT_EQ(MountDir(std::nullopt), "/mnt/x");
  EXPECT_EQ(MountDir(std::string("/opt")), "/opt");
  setenv("LPC_MOUNT", "", 1);
  EXPECT_EQ(MountDir(std::nullopt), "/lpc");
  unsetenv("LPC_MOUNT");
}

TEST(ArgReader, ReadsOptionsUntilTheFirstOperand) {
  ArgReader reader("call", {"--mount", "/m", "-t2", "--lines", "--timeout=3",
                            "port", "--not-an-option"});
  EXPECT_EQ(reader.NextOption(), "--mount");
  EXPECT_EQ(reader.Value(), "/m");
  EXPECT_EQ(reader.NextOption(), "-t");
  EXPECT_EQ(reader.Value(), "2");
  EXPECT_EQ(reader.NextOption(), "--lines");
  reader.NoValue();
  EXPECT_EQ(reader.NextOption(), "--timeout");
  EXPECT_EQ(reader.Value(), "3");
  EXPECT_EQ(reader.NextOption(), std::nullopt);
  EXPECT_EQ(reader.Take(), "port");
  EXPECT_EQ(reader.TakeRest(), std::vector<std::string>{"--not-an-option"});
  EXPECT_TRUE(reader.AtEnd());
}

TEST(ArgReader, DoubleDashEndsOptionsAndDashIsAnOperand) {
  ArgReader reader("call", {"--", "-x"});
  EXPECT_EQ(reader.NextOption(), std::nullopt);
  EXPECT_EQ(reader.Take(), "-x");
  ArgReader dash("call", {"-", "b"});
  EXPECT_EQ(dash.NextOption(), std::nullopt);
  EXPECT_EQ(dash.Take(), "-");
}

TEST(ArgReaderDeathTest, MissingValueIsAUsageError) {
  ArgReader reader("call", {"--mount"});
  ASSERT_EQ(reader.NextOption(), "--mount");
  EXPECT_EXIT(reader.Value(), testing::ExitedWithCode(2),
              "lpc: call: option --mount needs a value");
}

TEST(ArgReaderDeathTest, ValueOnAFlagIsAUsageError) {
  ArgReader reader("call", {"--lines=yes"});
  ASSERT_EQ(reader.NextOption(), "--lines");
  EXPECT_EXIT(reader.NoValue(), testing::ExitedWithCode(2),
              "option --lines takes no value");
}

}  // namespace
}  // namespace lpc::shell
