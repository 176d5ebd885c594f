// The `lpc` subcommands. Each takes the arguments after its name and returns
// the process exit status (cli.h ExitCode); usage errors exit directly.
#pragma once

#include <string>
#include <vector>

namespace lpc::shell {

int RunServe(std::vector<std::string> args);
int RunCall(std::vector<std::string> args);
int RunWait(std::vector<std::string> args);
int RunLs(std::vector<std::string> args);
int RunStat(std::vector<std::string> args);
int RunTop(std::vector<std::string> args);
int RunMonitor(std::vector<std::string> args);

}  // namespace lpc::shell
