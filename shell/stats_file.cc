#include "stats_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>

#include "name_escape.h"

namespace lpc::shell {

namespace {

// Splits "k1=v1 k2=v2 ..." into fields. Returns false if a word has no '='.
bool ParseFields(std::string_view text,
                 std::map<std::string, std::string, std::less<>>& fields) {
  while (!text.empty()) {
    size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view()
                                           : text.substr(space + 1);
    if (word.empty()) continue;
    size_t eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    fields.emplace(std::string(word.substr(0, eq)),
                   std::string(word.substr(eq + 1)));
  }
  return true;
}

// PATH may contain spaces, the fields never do: the path ends where the
// first field (whose name is known) begins, searched from the right.
std::optional<PortLine> ParsePortLine(std::string_view line) {
  std::string_view rest = line.substr(5);  // after "port "
  size_t owner = rest.rfind(" owner=");
  if (owner == std::string_view::npos || owner == 0) return std::nullopt;
  PortLine port;
  port.path = UnescapeName(rest.substr(0, owner));
  port.rest = std::string(rest.substr(owner));
  if (!ParseFields(rest.substr(owner + 1), port.fields)) return std::nullopt;
  port.text = std::string(line);
  return port;
}

std::optional<ConnLine> ParseConnLine(std::string_view line) {
  std::string_view rest = line.substr(5);  // after "conn "
  size_t space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  ConnLine conn;
  std::string_view id = rest.substr(0, space);
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), conn.id);
  if (ec != std::errc() || end != id.data() + id.size()) return std::nullopt;
  rest = rest.substr(space + 1);
  if (rest.substr(0, 5) != "port=") return std::nullopt;
  size_t state = rest.rfind(" state=");
  if (state == std::string_view::npos) return std::nullopt;
  conn.port = UnescapeName(rest.substr(5, state - 5));
  conn.rest = std::string(rest.substr(state));
  if (!ParseFields(rest.substr(state + 1), conn.fields)) return std::nullopt;
  conn.text = std::string(line);
  return conn;
}

std::optional<UserLine> ParseUserLine(std::string_view line) {
  std::string_view rest = line.substr(5);  // after "user "
  size_t space = rest.find(' ');
  std::string_view uid = rest.substr(0, space);
  UserLine user;
  auto [end, ec] =
      std::from_chars(uid.data(), uid.data() + uid.size(), user.uid);
  if (ec != std::errc() || end != uid.data() + uid.size()) return std::nullopt;
  if (space != std::string_view::npos &&
      !ParseFields(rest.substr(space + 1), user.fields)) {
    return std::nullopt;
  }
  user.text = std::string(line);
  return user;
}

}  // namespace

StatsSnapshot ParseStats(std::string_view text) {
  StatsSnapshot stats;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view()
                                             : text.substr(newline + 1);
    if (line.substr(0, 5) == "port ") {
      if (auto port = ParsePortLine(line)) stats.ports.push_back(*port);
    } else if (line.substr(0, 5) == "conn ") {
      if (auto conn = ParseConnLine(line)) stats.conns.push_back(*conn);
    } else if (line.substr(0, 5) == "user ") {
      if (auto user = ParseUserLine(line)) stats.users.push_back(*user);
    }
  }
  return stats;
}

std::string VisibleName(std::string_view raw) { return EscapeName(raw); }

std::string VisibleLine(const PortLine& port) {
  return "port " + VisibleName(port.path) + VisibleName(port.rest);
}

std::string VisibleLine(const ConnLine& conn) {
  return "conn " + std::to_string(conn.id) + " port=" + VisibleName(conn.port) +
         VisibleName(conn.rest);
}

int ReadWholeFile(const std::string& path, std::string& out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return err;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return 0;
}

}  // namespace lpc::shell
