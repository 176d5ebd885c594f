// The help texts of `lpc` and its subcommands: the documentation the man
// pages are written from, so keep them complete.
#pragma once

#include <string_view>

namespace lpc::shell {

// The usage line of a subcommand ("" or unknown: the top level).
std::string_view UsageLine(std::string_view command);
// The full --help text of a subcommand ("" or unknown: the top level).
std::string_view HelpText(std::string_view command);
// Prints HelpText(command) on stdout; returns exit status 0.
int PrintHelp(std::string_view command);

}  // namespace lpc::shell
