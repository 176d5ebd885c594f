// The `lpc` subcommands. Each takes the arguments after its name and returns
// the process exit status (cli.h ExitCode); usage errors exit directly.
#ifndef LPC_SHELL_COMMANDS_H
#define LPC_SHELL_COMMANDS_H

#include <string>
#include <vector>

namespace lpc::shell {

int RunServe(std::vector<std::string> args);
int RunCall(std::vector<std::string> args);
int RunLs(std::vector<std::string> args);
int RunStat(std::vector<std::string> args);

}  // namespace lpc::shell

#endif  // LPC_SHELL_COMMANDS_H
