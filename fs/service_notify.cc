#include "service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace lpc {

std::string NotifyReady() {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (!env || !*env) return {};
  std::string_view name(env);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() >= sizeof addr.sun_path ||
      (name[0] != '/' && name[0] != '@')) {
    return "NOTIFY_SOCKET is not a socket path: " + std::string(name);
  }
  std::memcpy(addr.sun_path, name.data(), name.size());
  if (name[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  constexpr std::string_view kReady = "READY=1";
  ssize_t sent = sendto(fd, kReady.data(), kReady.size(), MSG_NOSIGNAL,
                        reinterpret_cast<const sockaddr*>(&addr), len);
  int error = errno;
  close(fd);
  if (sent < 0) {
    return "sending READY=1 to " + std::string(name) + ": " +
           std::strerror(error);
  }
  return {};
}

}  // namespace lpc
