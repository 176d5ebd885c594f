// How .stats writes names (lpc.7 "Names in .stats"): table of cases.
#include "name_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace lpc {
namespace {

struct EscapeCase {
  std::string raw;
  std::string escaped;
};

const EscapeCase kEscapeCases[] = {
    {"plain", "plain"},
    {"with space", "with space"},
    {"", ""},
    {"back\\slash", "back\\\\slash"},
    {"new\nline", "new\\nline"},
    {"tab\there", "tab\\there"},
    {"\a\b\v\f\r", "\\a\\b\\v\\f\\r"},
    {"esc\x1b[31mred", "esc\\033[31mred"},
    {"del\x7f", "del\\177"},
    {std::string("nul\0x", 5), "nul\\000x"},
    {"\x01\x1f", "\\001\\037"},
    // Well-formed UTF-8 stays as it is.
    {"caf\xc3\xa9", "caf\xc3\xa9"},
    {"\xe2\x82\xac\xf0\x9f\x98\x80", "\xe2\x82\xac\xf0\x9f\x98\x80"},
    // Not UTF-8: each stray byte in octal.
    {"\xff", "\\377"},
    {"a\x80z", "a\\200z"},
    {"\xc3", "\\303"},                             // cut short
    {"\xc3(", "\\303("},                           // bad continuation
    {"\xc0\xaf", "\\300\\257"},                    // overlong '/'
    {"\xed\xa0\x80", "\\355\\240\\200"},           // a surrogate
    {"\xf4\x90\x80\x80", "\\364\\220\\200\\200"},  // above U+10FFFF
    // The C1 controls U+0080..U+009F (CSI is U+009B).
    {"\xc2\x9b"
     "31m",
     "\\302\\23331m"},
    {"\xc2\xa0", "\xc2\xa0"},  // U+00A0 is no control
    // What once forged a line.
    {"x owner=0\nport /fake owner=0", "x owner=0\\nport /fake owner=0"},
};

TEST(EscapeName, Table) {
  for (const EscapeCase& c : kEscapeCases) {
    EXPECT_EQ(EscapeName(c.raw), c.escaped) << "raw: " << c.raw;
    EXPECT_EQ(UnescapeName(c.escaped), c.raw) << "escaped: " << c.escaped;
    // No escaped name holds a control character.
    for (char ch : EscapeName(c.raw)) {
      auto u = static_cast<unsigned char>(ch);
      EXPECT_TRUE(u >= 0x20 && u != 0x7f) << "in " << EscapeName(c.raw);
    }
  }
}

TEST(EscapeName, EveryByteRoundTrips) {
  std::string all;
  for (int b = 1; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(UnescapeName(EscapeName(all)), all);
}

TEST(UnescapeName, BackslashesThatStartNoEscapeStay) {
  const EscapeCase cases[] = {
      {"\\", "\\"},       {"a\\", "a\\"},   {"\\q", "\\q"},
      {"\\8", "\\8"},     {"\\47", "\\47"},  // three digits or none
      {"\\400", "\\400"},                    // beyond a byte
      {"!1", "\\0411"},
  };
  for (const EscapeCase& c : cases) {
    EXPECT_EQ(UnescapeName(c.escaped), c.raw) << c.escaped;
  }
}

}  // namespace
}  // namespace lpc
