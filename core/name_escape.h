// How .stats writes names (lpc.7 "STATS", "Names in .stats"), and how
// to read them back. Plain functions on bytes; the shell's `lpc ls` and
// `lpc stat` use them too.
#pragma once

#include <string>
#include <string_view>

namespace lpc {

// Appends `name` to `out` escaped as lpc.7 "STATS" says, the way `ls -b`
// does: a backslash is doubled, \a \b \t \n \v \f \r stand for those
// control characters, and every other control character (C0, DEL, and
// the C1 range U+0080 to U+009F) and every byte that is not part of a
// well-formed UTF-8 character is a backslash and three octal digits. A
// line of .stats therefore never holds a newline or a terminal control
// sequence that a name brought in.
void AppendEscapedName(std::string_view name, std::string& out);
std::string EscapeName(std::string_view name);

// The bytes an escaped name stands for. A backslash that starts no escape
// stands for itself, so text from a daemon that did not escape reads as
// it was.
std::string UnescapeName(std::string_view escaped);

}  // namespace lpc
