// Conformance driver in C++: runs scenarios.tsv against MOUNT.
//
//   lpc-conformance-driver SCENARIOS MOUNT
//
// Prints "NAME<TAB>RESULTS" per scenario (scenarios.tsv says how).

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::vector<std::string> Split(std::string_view text, std::string_view sep) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t end = text.find(sep, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + sep.size();
  }
}

std::string Replace(std::string text, std::string_view from,
                    std::string_view to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos;
       at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string ErrnoName(int error) {
  switch (error) {
    case ENOENT:
      return "ENOENT";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case EACCES:
      return "EACCES";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    default:
      return "errno " + std::to_string(error);
  }
}

// One scenario on one connection; returns its results.
std::string Run(const std::vector<std::string>& steps,
                const std::string& mount) {
  std::string results;
  int fd = -1;
  for (const std::string& step : steps) {
    size_t space = step.find(' ');
    std::string op = step.substr(0, space);
    std::string arg = step.substr(space + 1);
    std::string result;
    if (op == "connect") {
      fd = open((mount + "/" + arg).c_str(), O_RDWR | O_CLOEXEC);
      result = fd < 0 ? ErrnoName(errno) : "ok";
    } else if (op == "write") {
      std::string data = Replace(arg, "\\n", "\n");
      result = write(fd, data.data(), data.size()) ==
                       static_cast<ssize_t>(data.size())
                   ? "ok"
                   : ErrnoName(errno);
    } else if (op == "read") {
      std::string buf(std::stoul(arg), '\0');
      ssize_t n = read(fd, buf.data(), buf.size());
      if (n < 0) {
        result = ErrnoName(errno);
      } else if (n == 0) {
        result = "eof";
      } else {
        result = Replace(buf.substr(0, n), "\n", "\\n");
      }
    } else if (op == "poll") {
      pollfd p{fd, POLLIN, 0};
      int n = poll(&p, 1, std::stoi(arg));
      result = n < 0 ? ErrnoName(errno) : n == 0 ? "nothing" : "readable";
    } else {
      result = "unknown step " + step;
    }
    results += (results.empty() ? "" : " ") + result;
    if (fd < 0) break;  // a failed connect ends the scenario
  }
  if (fd >= 0) close(fd);
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SCENARIOS MOUNT\n", argv[0]);
    return 2;
  }
  std::ifstream table(argv[1]);
  if (!table) {
    std::perror(argv[1]);
    return 1;
  }
  for (std::string line; std::getline(table, line);) {
    if (line.empty() || line.starts_with("#")) continue;
    std::vector<std::string> fields = Split(line, "\t");
    std::cout << fields.at(0) << '\t' << Run(Split(fields.at(1), "; "), argv[2])
              << std::endl;
  }
  return 0;
}
