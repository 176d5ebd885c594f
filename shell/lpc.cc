// lpc: the shell's way to lpcfs ports. `lpc serve` runs a command per
// connection, `lpc call` is a client, `lpc wait` waits for a server,
// `lpc ls`, `lpc stat` and `lpc top` read .stats, `lpc monitor` .monitor.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "help.h"

#ifndef LPC_VERSION
#define LPC_VERSION "unknown"
#endif

using namespace lpc::shell;

int main(int argc, char** argv) {
  EnsureStandardDescriptors();
  if (argc < 2) {
    std::fprintf(stderr, "lpc: missing command\n%s\nTry 'lpc --help'.\n",
                 std::string(UsageLine("")).c_str());
    return kExitUsage;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);

  if (command == "-h" || command == "--help") return PrintHelp("");
  if (command == "--version") {
    std::printf("lpc (lpcfs) %s\n", LPC_VERSION);
    return kExitOk;
  }
  if (command == "help") {
    if (args.size() > 1) ArgReader("help", args).Fail("too many arguments");
    if (!args.empty() && args[0] != "serve" && args[0] != "call" &&
        args[0] != "wait" && args[0] != "ls" && args[0] != "stat" &&
        args[0] != "top" && args[0] != "monitor") {
      ArgReader("help", args).Fail("unknown command '" + args[0] + "'");
    }
    return PrintHelp(args.empty() ? "" : args[0]);
  }

  using Runner = int (*)(std::vector<std::string>);
  Runner run = nullptr;
  if (command == "serve") run = RunServe;
  if (command == "call") run = RunCall;
  if (command == "wait") run = RunWait;
  if (command == "ls") run = RunLs;
  if (command == "stat") run = RunStat;
  if (command == "top") run = RunTop;
  if (command == "monitor") run = RunMonitor;
  if (run == nullptr) {
    std::fprintf(stderr, "lpc: unknown command '%s'\n%s\nTry 'lpc --help'.\n",
                 command.c_str(), std::string(UsageLine("")).c_str());
    return kExitUsage;
  }
  return run(std::move(args));
}
