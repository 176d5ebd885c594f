// lpc ls, lpc stat and lpc top: read-only views of a mount's .stats file.
#include <grp.h>
#include <lpc.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
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

using Json = nlohmann::ordered_json;

// A field of .stats as a JSON number, or null if the daemon did not write
// it (an older daemon) or it is not a number.
Json Number(const std::map<std::string, std::string, std::less<>>& fields,
            std::string_view name) {
  auto it = fields.find(name);
  if (it == fields.end() || it->second.empty()) return nullptr;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(it->second.c_str(), &end, 10);
  if (*end != '\0' || errno != 0) return nullptr;
  return n;
}

Json Text(const std::map<std::string, std::string, std::less<>>& fields,
          std::string_view name) {
  auto it = fields.find(name);
  if (it == fields.end()) return nullptr;
  return it->second;
}

// A name as JSON: "path" holds its bytes, where nlohmann writes control
// characters as \uXXXX and every byte that is not well-formed UTF-8 as
// U+FFFD (error_handler_t::replace, in Print); "path_escaped" holds it as
// .stats escapes it, byte for byte (lpc.7 "Names in .stats").
void AddPath(Json& out, const std::string& path) {
  out["path"] = path;
  out["path_escaped"] = VisibleName(path);
}

// What .stats says of a port (lpc(1) "JSON OUTPUT").
Json PortJson(const PortLine& port, const std::string& full_path) {
  Json out;
  AddPath(out, full_path);
  const auto& f = port.fields;
  out["owner"] = Number(f, "owner");
  out["owner_name"] = UserName(Field(port, "owner"));
  out["group"] = Number(f, "group");
  out["group_name"] = out["group"].is_number()
                          ? Json(GroupName(out["group"].get<gid_t>()))
                          : Json(nullptr);
  out["mode"] = Text(f, "mode");
  out["server_pid"] = Number(f, "server_pid");
  Json auto_accept = Number(f, "auto_accept");
  out["auto_accept"] =
      auto_accept.is_null() ? Json(nullptr) : Json(auto_accept != 0);
  out["pending"] = Number(f, "pending");
  out["connections"] = Number(f, "connections");
  out["records"] = Number(f, "records");
  Json counters;
  for (const char* name :
       {"messages_to_server", "bytes_to_server", "messages_to_client",
        "bytes_to_client", "refused", "rejected_records"}) {
    counters[name] = Number(f, name);
  }
  out["counters"] = std::move(counters);
  return out;
}

// "MSGS/BYTES" as {"messages": M, "bytes": B}.
Json Queue(const ConnLine& conn, std::string_view name) {
  auto it = conn.fields.find(name);
  if (it == conn.fields.end()) return nullptr;
  size_t slash = it->second.find('/');
  if (slash == std::string::npos) return nullptr;
  std::map<std::string, std::string, std::less<>> parts = {
      {"messages", it->second.substr(0, slash)},
      {"bytes", it->second.substr(slash + 1)}};
  return Json{{"messages", Number(parts, "messages")},
              {"bytes", Number(parts, "bytes")}};
}

Json ConnJson(const ConnLine& conn) {
  const auto& f = conn.fields;
  Json out;
  out["id"] = conn.id;
  out["state"] = Text(f, "state");
  out["client_pid"] = Number(f, "client_pid");
  out["client_uid"] = Number(f, "client_uid");
  out["client_caps"] = Text(f, "client_caps");
  if (auto caps = f.find("client_caps"); caps != f.end()) {
    out["client_capabilities"] =
        CapabilityNames(std::strtoull(caps->second.c_str(), nullptr, 16));
  } else {
    out["client_capabilities"] = nullptr;
  }
  out["to_server"] = Queue(conn, "to_server");
  out["to_client"] = Queue(conn, "to_client");
  Json bound = Number(f, "bound");
  out["bound"] = bound.is_null() ? Json(nullptr) : Json(bound != 0);
  out["calls"] = Number(f, "calls");
  out["replies_dropped"] = Number(f, "replies_dropped");
  out["since"] = Number(f, "since");
  return out;
}

Json UserJson(const UserLine& user) {
  Json out;
  out["uid"] = user.uid;
  for (const auto& [name, value] : user.fields) {
    out[name] = Number(user.fields, name);
  }
  return out;
}

// One JSON document and a newline. Names may hold any byte but '/' and
// NUL, so invalid UTF-8 is replaced rather than thrown on (AddPath).
int PrintJson(const Json& doc) {
  std::string text =
      doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 && !std::ferror(stdout) ? kExitOk
                                                          : kExitFailure;
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
  bool json = false;
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("ls");
    } else if (*option == "--json") {
      reader.NoValue();
      json = true;
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

  auto full_path = [&](const PortLine& port) {
    return port.path.empty() || port.path[0] != '/' ? port.path
                                                    : mount + port.path;
  };
  if (json) {
    Json ports = Json::array();
    for (const PortLine& port : stats.ports) {
      ports.push_back(PortJson(port, full_path(port)));
    }
    return PrintJson(ports);
  }

  struct Row {
    std::string owner, pid, connections, path;
  };
  std::vector<Row> rows = {{"OWNER", "PID", "CONNECTIONS", "PORT"}};
  for (const PortLine& port : stats.ports) {
    // Names may hold anything but '/' and NUL: shown visibly, never raw.
    rows.push_back({UserName(Field(port, "owner")), Field(port, "server_pid"),
                    Field(port, "connections"), VisibleName(full_path(port))});
  }
  size_t owner_width = 0, pid_width = 0, connections_width = 0;
  for (const Row& row : rows) {
    owner_width = std::max(owner_width, row.owner.size());
    pid_width = std::max(pid_width, row.pid.size());
    connections_width = std::max(connections_width, row.connections.size());
  }
  for (const Row& row : rows) {
    std::printf("%-*s %*s %*s %s\n", static_cast<int>(owner_width),
                row.owner.c_str(), static_cast<int>(pid_width), row.pid.c_str(),
                static_cast<int>(connections_width), row.connections.c_str(),
                row.path.c_str());
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

int RunStat(std::vector<std::string> args) {
  ArgReader reader("stat", std::move(args));
  std::optional<std::string> mount_option;
  bool json = false;
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("stat");
    } else if (*option == "--json") {
      reader.NoValue();
      json = true;
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

  if (json) {
    Json doc = PortJson(*it, real_path);
    std::set<uint32_t> users = {static_cast<uint32_t>(st.st_uid)};
    Json clients = Json::array();
    for (const ConnLine& conn : stats.conns) {
      if (conn.port != from_root) continue;
      Json c = ConnJson(conn);
      if (c["client_uid"].is_number()) {
        users.insert(c["client_uid"].get<uint32_t>());
      }
      clients.push_back(std::move(c));
    }
    doc["clients"] = std::move(clients);
    Json quota = Json::array();
    for (const UserLine& user : stats.users) {
      if (users.count(user.uid)) quota.push_back(UserJson(user));
    }
    doc["users"] = std::move(quota);
    return PrintJson(doc);
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

namespace {

uint64_t CountOf(const std::map<std::string, std::string, std::less<>>& fields,
                 std::string_view name) {
  auto it = fields.find(name);
  return it == fields.end() ? 0
                            : std::strtoull(it->second.c_str(), nullptr, 10);
}

// Messages per second between two readings of a counter, or "-" when there
// is no earlier reading (the first frame, a new port).
std::string Rate(std::optional<uint64_t> before, uint64_t now, double seconds) {
  if (!before || seconds <= 0 || now < *before) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f",
                static_cast<double>(now - *before) / seconds);
  return buf;
}

}  // namespace

int RunTop(std::vector<std::string> args) {
  ArgReader reader("top", std::move(args));
  std::optional<std::string> mount_option;
  double delay = 2;
  uint64_t iterations = 0;  // 0: until interrupted
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("top");
    } else if (*option == "-m" || *option == "--mount") {
      mount_option = reader.Value();
    } else if (*option == "-d" || *option == "--delay") {
      std::string text = reader.Value();
      std::optional<double> seconds = ParseSeconds(text);
      if (!seconds) reader.Fail("invalid delay '" + text + "'");
      delay = *seconds;
    } else if (*option == "-n" || *option == "--iterations") {
      std::string text = reader.Value();
      std::optional<uint64_t> n = ParseCount(text);
      if (!n) reader.Fail("invalid iterations '" + text + "'");
      iterations = *n;
    } else {
      reader.Fail("unknown option " + *option);
    }
  }
  if (!reader.AtEnd())
    reader.Fail("unexpected argument '" + reader.Peek() + "'");
  std::string mount = MountDir(mount_option);
  std::string shown_mount = mount;
  while (mount.size() > 1 && mount.back() == '/') mount.pop_back();
  if (mount == "/") mount.clear();
  // Redraw in place on a terminal; elsewhere (a pipe, a test) frames follow
  // each other, a blank line apart, with no escape sequences.
  const bool terminal = isatty(STDOUT_FILENO) == 1;

  struct Reading {
    uint64_t to_server = 0, to_client = 0;
  };
  // A port is its path and its server: a name served again is a new port.
  std::map<std::string, Reading> last;
  auto last_time = std::chrono::steady_clock::now();
  for (uint64_t frame = 0; iterations == 0 || frame < iterations; ++frame) {
    if (frame > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    }
    StatsSnapshot stats = ReadStats(shown_mount);
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - last_time).count();
    last_time = now;

    // Messages queued now, each way, by port path (as the conn lines name
    // their ports).
    std::map<std::string, std::pair<uint64_t, uint64_t>> queued;
    for (const ConnLine& conn : stats.conns) {
      auto& [in, out] = queued[conn.port];
      if (auto f = conn.fields.find("to_server"); f != conn.fields.end()) {
        in += std::strtoull(f->second.c_str(), nullptr, 10);
      }
      if (auto f = conn.fields.find("to_client"); f != conn.fields.end()) {
        out += std::strtoull(f->second.c_str(), nullptr, 10);
      }
    }

    std::vector<std::vector<std::string>> rows = {
        {"PID", "CONNS", "PEND", "IN/S", "OUT/S", "QIN", "QOUT", "REFUSED",
         "REJECTED", "PORT"}};
    std::map<std::string, Reading> readings;
    for (const PortLine& port : stats.ports) {
      const auto& f = port.fields;
      std::string key = port.path + '\0' + Field(port, "server_pid");
      Reading now_reading{CountOf(f, "messages_to_server"),
                          CountOf(f, "messages_to_client")};
      std::optional<uint64_t> in_before, out_before;
      if (auto it = last.find(key); it != last.end()) {
        in_before = it->second.to_server;
        out_before = it->second.to_client;
      }
      readings[key] = now_reading;
      auto q = queued[port.path];
      std::string path = port.path.empty() || port.path[0] != '/'
                             ? port.path
                             : mount + port.path;
      rows.push_back({Field(port, "server_pid"), Field(port, "connections"),
                      Field(port, "pending"),
                      Rate(in_before, now_reading.to_server, seconds),
                      Rate(out_before, now_reading.to_client, seconds),
                      std::to_string(q.first), std::to_string(q.second),
                      Field(port, "refused"), Field(port, "rejected_records"),
                      VisibleName(path)});
    }
    last = std::move(readings);

    std::vector<size_t> widths(rows[0].size(), 0);
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        widths[i] = std::max(widths[i], row[i].size());
      }
    }
    std::string text;
    if (terminal) {
      text += "\033[H\033[2J";  // home, clear the screen
    } else if (frame > 0) {
      text += "\n";
    }
    char clock[16] = "";
    time_t wall = time(nullptr);
    tm local{};
    if (localtime_r(&wall, &local) != nullptr) {
      std::strftime(clock, sizeof clock, "%H:%M:%S", &local);
    }
    char head[64];
    std::snprintf(head, sizeof head, "%zu ports, every %g s",
                  stats.ports.size(), delay);
    text += "lpc top - " + VisibleName(shown_mount) + " - " + clock + " - " +
            head + "\n";
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i + 1 == row.size()) {
          text += row[i];  // PORT: last, as it may hold spaces
        } else {
          text += std::string(widths[i] - row[i].size(), ' ') + row[i] + ' ';
        }
      }
      text += '\n';
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) return kExitFailure;
  }
  return kExitOk;
}

}  // namespace lpc::shell
