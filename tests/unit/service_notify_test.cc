// The readiness message for systemd (fs/service_notify.h), received on a
// socket of the test's own, as systemd would.
#include "service_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lpc {
namespace {

// A datagram socket bound to `name` (a path, or '@' for the abstract
// namespace); NOTIFY_SOCKET names it while the object lives.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) : name_(name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                  static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                         name.size())) == 0;
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~NotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
    if (name_[0] == '/') unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  // The next datagram, or "" if none is waiting.
  std::string Received() {
    char buf[256];
    ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(NotifyReady, SendsReadyToThePathInNotifySocket) {
  NotifySocket sock("/tmp/lpcfs-notify-test." + std::to_string(getpid()));
  ASSERT_TRUE(sock.bound());
  EXPECT_EQ(NotifyReady(), "");
  EXPECT_EQ(sock.Received(), "READY=1");
}

TEST(NotifyReady, SendsToAnAbstractName) {
  NotifySocket sock("@lpcfs-notify-test." + std::to_string(getpid()));
  ASSERT_TRUE(sock.bound());
  EXPECT_EQ(NotifyReady(), "");
  EXPECT_EQ(sock.Received(), "READY=1");
}

TEST(NotifyReady, DoesNothingWithoutNotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(NotifyReady(), "");
}

TEST(NotifyReady, SaysWhatFailed) {
  setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
  EXPECT_NE(NotifyReady().find("/nonexistent/notify"), std::string::npos);
  setenv("NOTIFY_SOCKET", "relative", 1);
  EXPECT_NE(NotifyReady(), "");
  unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace lpc
