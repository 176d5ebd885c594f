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
// Paths are decoded: .stats escapes names (lpc.7 "Names in .stats"), and
// `path`/`port` hold the bytes the names have; show them with VisibleName.
struct PortLine {
  std::string path;  // from the mount root, starting with '/', or "(unlinked)"
  std::map<std::string, std::string, std::less<>> fields;
  std::string text;  // the whole line, without its newline
  std::string rest;  // what follows the path: " owner=..."
};

// `conn ID port=PATH state=... client_pid=P ...`
struct ConnLine {
  uint64_t id = 0;
  std::string port;  // the port=PATH field
  std::map<std::string, std::string, std::less<>> fields;
  std::string text;
  std::string rest;  // what follows the port path: " state=..."
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

// A name or path for a terminal: every control character and byte that is
// not well-formed UTF-8 made visible as an escape, as .stats writes it.
std::string VisibleName(std::string_view raw);

// A line of .stats for a terminal: its path shown with VisibleName.
std::string VisibleLine(const PortLine& port);
std::string VisibleLine(const ConnLine& conn);

// Reads the whole file at path. Returns 0 or an errno.
int ReadWholeFile(const std::string& path, std::string& out);

}  // namespace lpc::shell
