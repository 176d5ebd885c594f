// lpc ls and lpc stat: read-only views of a mount's .stats file.
#include <grp.h>
#include <lpc.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capability_names.h"
#include "cli.h"
#include "commands.h"
#include "help.h"
#include "stats_file.h"

namespace lpc::shell {

namespace {

std::string UserName(const std::string& uid_text) {
  char* end = nullptr;
  unsigned long uid = std::strtoul(uid_text.c_str(), &end, 10);
  if (uid_text.empty() || *end != '\0') return uid_text;
  passwd* pw = getpwuid(static_cast<uid_t>(uid));
  return pw != nullptr ? pw->pw_name : uid_text;
}

std::string GroupName(gid_t gid) {
  group* gr = getgrgid(gid);
  return gr != nullptr ? gr->gr_name : std::to_string(gid);
}

std::string Field(const PortLine& port, std::string_view name) {
  auto it = port.fields.find(name);
  return it == port.fields.end() ? "?" : it->second;
}

StatsSnapshot ReadStats(const std::string& mount) {
  std::string path = mount;
  if (path.empty() || path.back() != '/') path += '/';
  path += LPC_STATS_FILE;
  std::string text;
  int err = ReadWholeFile(path, text);
  if (err != 0) Die(kExitFailure, FailureText("read", path, err, mount));
  return ParseStats(text);
}

}  // namespace

int RunLs(std::vector<std::string> args) {
  ArgReader reader("ls", std::move(args));
  std::optional<std::string> mount_option;
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("ls");
    } else if (*option == "-m" || *option == "--mount") {
      mount_option = reader.Value();
    } else {
      reader.Fail("unknown option " + *option);
    }
  }
  if (!reader.AtEnd())
    reader.Fail("unexpected argument '" + reader.Peek() + "'");
  std::string mount = MountDir(mount_option);
  StatsSnapshot stats = ReadStats(mount);
  while (mount.size() > 1 && mount.back() == '/') mount.pop_back();
  if (mount == "/") mount.clear();

  struct Row {
    std::string owner, connections, path;
  };
  std::vector<Row> rows;
  size_t owner_width = 0, connections_width = 0;
  for (const PortLine& port : stats.ports) {
    Row row;
    row.owner = UserName(Field(port, "owner"));
    row.connections = Field(port, "connections");
    // Names may hold anything but '/' and NUL: shown visibly, never raw.
    row.path = VisibleName(port.path.empty() || port.path[0] != '/'
                               ? port.path
                               : mount + port.path);
    owner_width = std::max(owner_width, row.owner.size());
    connections_width = std::max(connections_width, row.connections.size());
    rows.push_back(std::move(row));
  }
  for (const Row& row : rows) {
    std::printf("%-*s %*s %s\n", static_cast<int>(owner_width),
                row.owner.c_str(), static_cast<int>(connections_width),
                row.connections.c_str(), row.path.c_str());
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

int RunStat(std::vector<std::string> args) {
  ArgReader reader("stat", std::move(args));
  std::optional<std::string> mount_option;
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("stat");
    } else if (*option == "-m" || *option == "--mount") {
      mount_option = reader.Value();
    } else {
      reader.Fail("unknown option " + *option);
    }
  }
  if (reader.AtEnd()) reader.Fail("missing PORT");
  std::string port = reader.Take();
  if (port.empty()) reader.Fail("empty PORT");
  if (!reader.AtEnd())
    reader.Fail("unexpected argument '" + reader.Peek() + "'");
  std::string mount = MountDir(mount_option);
  std::string path = PortPath(mount, port);

  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    Die(kExitFailure, FailureText("stat", path, errno, mount));
  }
  if (S_ISDIR(st.st_mode)) {
    Die(kExitFailure, "stat " + path + ": is a directory, not a port");
  }
  char real[PATH_MAX];
  if (realpath(path.c_str(), real) == nullptr) {
    DieErrno(kExitFailure, "stat " + path, errno);
  }
  bool on_lpcfs = false;
  if (int err = CheckOnLpcfs(real, &on_lpcfs); err != 0) {
    DieErrno(kExitFailure, "statfs " + path, err);
  }
  if (!on_lpcfs) Die(kExitFailure, "stat " + path + ": not on an lpcfs mount");
  std::string real_path = real;
  std::string root = MountRootOf(real_path, st.st_dev);
  // The port's path as .stats writes it: from the mount root, with '/'.
  std::string from_root =
      root == "/" ? real_path : real_path.substr(root.size());

  StatsSnapshot stats = ReadStats(root);
  auto it =
      std::find_if(stats.ports.begin(), stats.ports.end(),
                   [&](const PortLine& p) { return p.path == from_root; });
  if (it == stats.ports.end()) {
    Die(kExitFailure, "stat " + VisibleName(path) + ": not a port (not in " +
                          VisibleName(root) + "/" + LPC_STATS_FILE + ")");
  }

  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o",
                static_cast<unsigned>(st.st_mode & 07777));
  std::printf("path: %s\n", VisibleName(real_path).c_str());
  std::printf("owner: %s (%u)\n", UserName(std::to_string(st.st_uid)).c_str(),
              static_cast<unsigned>(st.st_uid));
  std::printf("group: %s (%u)\n", GroupName(st.st_gid).c_str(),
              static_cast<unsigned>(st.st_gid));
  std::printf("mode: %s\n", mode);
  std::printf("%s\n", VisibleLine(*it).c_str());
  std::set<uint32_t> users = {static_cast<uint32_t>(st.st_uid)};
  for (const ConnLine& conn : stats.conns) {
    if (conn.port != from_root) continue;
    std::printf("%s\n", VisibleLine(conn).c_str());
    // The client's effective capabilities at connect, named as
    // cap_to_text(3) does ("=" for none).
    if (auto caps = conn.fields.find("client_caps");
        caps != conn.fields.end()) {
      std::printf(
          "  client capabilities: %s\n",
          CapabilityNames(std::strtoull(caps->second.c_str(), nullptr, 16))
              .c_str());
    }
    if (auto uid = conn.fields.find("client_uid"); uid != conn.fields.end()) {
      users.insert(static_cast<uint32_t>(
          std::strtoul(uid->second.c_str(), nullptr, 10)));
    }
  }
  // What the owner and the port's clients hold, against their quotas.
  for (const UserLine& user : stats.users) {
    if (users.count(user.uid)) std::printf("%s\n", user.text.c_str());
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

}  // namespace lpc::shell
