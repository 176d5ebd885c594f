// Reads the daemon's /MOUNT/.stats text (format: lpc.7 "FILES", lpc.7).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lpc::shell {

// `port PATH owner=UID group=GID mode=0NNN ... connections=N records=N`
struct PortLine {
  std::string path;  // from the mount root, starting with '/', or "(unlinked)"
  std::map<std::string, std::string, std::less<>> fields;
  std::string text;  // the whole line, without its newline
};

// `conn ID port=PATH state=... client_pid=P ...`
struct ConnLine {
  uint64_t id = 0;
  std::string port;  // the port=PATH field
  std::map<std::string, std::string, std::less<>> fields;
  std::string text;
};

// `user UID ports=N connections=N ...`: one user's usage of the quotas
// (lpc.7 "QUOTAS").
struct UserLine {
  uint32_t uid = 0;
  std::map<std::string, std::string, std::less<>> fields;
  std::string text;
};

struct StatsSnapshot {
  std::vector<PortLine> ports;
  std::vector<ConnLine> conns;
  std::vector<UserLine> users;
};

// Parses the text of a .stats file. Lines of other kinds, and lines that do
// not parse, are skipped, so a daemon that adds kinds of lines or fields
// does not break `lpc ls`.
StatsSnapshot ParseStats(std::string_view text);

// Reads the whole file at path. Returns 0 or an errno.
int ReadWholeFile(const std::string& path, std::string& out);

}  // namespace lpc::shell
