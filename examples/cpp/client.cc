// client: sends request lines to an lpcfs port and prints one reply per line.
//
//   lpc-example-client [--pipeline] PORT_PATH [REQUEST...]
//
// Without REQUEST arguments, one request per line of stdin. Each request is
// sent as one message (one write(), 1..256 bytes) and answered by one reply
// (one read() returns at most one message). Normally the client waits for
// each reply before sending the next request; --pipeline sends every request
// first and then reads the replies, which fills the client's incoming queue
// and so exercises the server's handling of EAGAIN.
//
// Opening the port is the connection request: it fails with the errno the
// server rejected it with (ECONNREFUSED by default). Exits 1 with the error
// text when the connection or a request fails.

#include <fcntl.h>
#include <lpc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

class Connection {
 public:
  explicit Connection(std::string path) : path_(std::move(path)) {}
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool Open() {
    fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC);
    return fd_ >= 0 || Fail(std::strerror(errno));
  }

  bool Send(std::string_view request) {
    if (request.empty()) return Fail("empty requests cannot be sent");
    if (write(fd_, request.data(), request.size()) < 0) {
      return Fail(std::strerror(errno));
    }
    return true;
  }

  bool PrintReply() {
    char reply[LPC_MAX_MESSAGE];
    ssize_t n = read(fd_, reply, sizeof reply);
    if (n < 0) return Fail(std::strerror(errno));
    if (n == 0) return Fail("server closed the connection");
    std::printf("%.*s\n", static_cast<int>(n), reply);
    return true;
  }

 private:
  bool Fail(const char* what) {
    std::fprintf(stderr, "lpc-example-client: %s: %s\n", path_.c_str(), what);
    return false;
  }

  std::string path_;
  int fd_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  bool pipeline = !args.empty() && args.front() == "--pipeline";
  if (pipeline) args.erase(args.begin());
  if (args.empty() || args.front().starts_with("-")) {
    std::fprintf(stderr, "usage: %s [--pipeline] PORT_PATH [REQUEST...]\n",
                 argv[0]);
    return 2;
  }
  // A reply printed is visible at once, also when stdout is a file or pipe.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  Connection connection{std::string(args.front())};
  if (!connection.Open()) return 1;
  // The requests from argv or, without any, the lines of stdin, read only
  // when needed so that an interactive client sees each reply at once.
  auto next_arg = args.begin() + 1;
  auto next_request = [&](std::string& request) -> bool {
    if (args.size() > 1) {
      if (next_arg == args.end()) return false;
      request = *next_arg++;
      return true;
    }
    return static_cast<bool>(std::getline(std::cin, request));
  };

  std::string request;
  if (!pipeline) {
    while (next_request(request)) {
      if (!connection.Send(request) || !connection.PrintReply()) return 1;
    }
    return 0;
  }
  size_t sent = 0;
  for (; next_request(request); ++sent) {
    if (!connection.Send(request)) return 1;
  }
  for (; sent > 0; --sent) {
    if (!connection.PrintReply()) return 1;
  }
  return 0;
}
