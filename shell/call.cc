// lpc call: a client. Connects (one open() of the port), sends messages and
// prints replies. In lockstep (the default and --lines) each message goes
// out and the next message comes back in one LPC_IOC_TRANSFER on the client
// port (lpc.h "ioctls"), one round trip to the daemon instead of a write()
// and a read(); --eof, and every reply that the ioctl leaves queued, use
// write() and read() (one read() returns bytes of one message only, lpc.7
// "MESSAGES").
#include <fcntl.h>
#include <lpc.h>
#include <poll.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "help.h"
#include "line_splitter.h"

namespace lpc::shell {

namespace {

// A line, and so a message, is at most what any port takes; the port's
// own limit may be lower (64 KiB unless its server says otherwise), which
// the daemon tells with EMSGSIZE.
constexpr size_t kMaxLine = LPC_MAX_MESSAGE_LIMIT;

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;

enum class ReplyRule {
  kMessage,  // one reply message per message sent
  kLine,     // one reply line (messages up to a newline) per message sent
  kEof,      // everything until the server closes
};

struct CallOptions {
  std::string port_path;
  std::string mount;  // MountDir(), for the messages of failures
  std::optional<double> timeout;
  std::string timeout_text;  // as given, for messages
  ReplyRule rule = ReplyRule::kMessage;
  // The MESSAGE arguments; nullopt: read messages from stdin.
  std::optional<std::vector<std::string>> messages;
  // --server-user: send nothing unless this user serves the port.
  std::optional<uid_t> server_user;
  std::string server_user_text;  // as given, for messages
};

// A user name or a numeric uid. Empty if it names nobody.
std::optional<uid_t> ParseUser(const std::string& text) {
  if (passwd* pw = getpwnam(text.c_str())) return pw->pw_uid;
  char* end = nullptr;
  errno = 0;
  unsigned long uid = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno || text[0] == '-' ||
      uid >= static_cast<unsigned long>(static_cast<uid_t>(-1))) {
    return std::nullopt;
  }
  return static_cast<uid_t>(uid);
}

// The serving process's uid in the value of LPC_SERVER_XATTR ("uid=U gid=G
// pid=P start_time=T", lpc.7 "WHO SERVES A NAME").
std::optional<uid_t> ServerUidOf(const std::string& value) {
  if (value.rfind("uid=", 0) != 0) return std::nullopt;
  char* end = nullptr;
  unsigned long uid = std::strtoul(value.c_str() + 4, &end, 10);
  if (end == value.c_str() + 4 || (*end != ' ' && *end != '\0')) {
    return std::nullopt;
  }
  return static_cast<uid_t>(uid);
}

// Who serves a port: its owner (stat) and the uid of the process serving
// it (LPC_SERVER_XATTR). fd >= 0: of that open port, else of the path.
// Returns 0 or errno.
int WhoServes(const std::string& path, int fd, uid_t* owner,
              std::optional<uid_t>* process) {
  struct stat st;
  if ((fd >= 0 ? fstat(fd, &st) : stat(path.c_str(), &st)) != 0) return errno;
  *owner = st.st_uid;
  char value[128];
  ssize_t n = fd >= 0 ? fgetxattr(fd, LPC_SERVER_XATTR, value, sizeof value - 1)
                      : getxattr(path.c_str(), LPC_SERVER_XATTR, value,
                                 sizeof value - 1);
  if (n < 0) {
    if (errno != ENODATA) return errno;
    process->reset();  // nobody serves it any more
    return 0;
  }
  *process = ServerUidOf(std::string(value, static_cast<size_t>(n)));
  return 0;
}

volatile sig_atomic_t g_alarm_fired = 0;
void OnAlarm(int) { g_alarm_fired = 1; }

Deadline DeadlineAfter(const std::optional<double>& seconds) {
  if (!seconds) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(*seconds));
}

// Milliseconds until the deadline for poll(): -1 without one, never less
// than 0, rounded up so we do not wake just before it.
int PollTimeout(const Deadline& deadline) {
  if (!deadline) return -1;
  auto left = *deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  double ms = std::chrono::duration<double, std::milli>(left).count();
  return static_cast<int>(std::min(std::ceil(ms), 1e9));
}

// Stdin as messages: each line without its newline; an empty line becomes
// "\n" (a message cannot be empty); a last line without newline counts.
class InputLines {
 public:
  // One read() of stdin. Appends the messages it completes to `out`.
  // Returns false at end of input (the rest has been appended). Exits 2 on
  // a line longer than a message.
  bool ReadSome(std::deque<std::string>& out) {
    char buf[65536];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return true;
      DieErrno(kExitFailure, "read standard input", errno);
    }
    if (n == 0) {
      if (!partial_.empty()) Add(std::move(partial_), out);
      partial_.clear();
      return false;
    }
    std::string_view data(buf, static_cast<size_t>(n));
    for (;;) {
      size_t newline = data.find('\n');
      if (newline == std::string_view::npos) break;
      partial_.append(data.substr(0, newline));
      Add(std::move(partial_), out);
      partial_.clear();
      data.remove_prefix(newline + 1);
    }
    partial_.append(data);
    // A line that can no longer fit is an error now, not at its newline.
    if (partial_.size() > kMaxLine) TooLong(line_number_ + 1);
    return true;
  }

 private:
  void Add(std::string line, std::deque<std::string>& out) {
    ++line_number_;
    if (line.size() > kMaxLine) TooLong(line_number_);
    if (line.empty()) line = "\n";
    out.push_back(std::move(line));
  }
  [[noreturn]] static void TooLong(size_t line_number) {
    Die(kExitUsage, "call: line " + std::to_string(line_number) +
                        " of standard input is longer than " +
                        std::to_string(kMaxLine) +
                        " bytes, the most any port takes");
  }

  std::string partial_;
  size_t line_number_ = 0;
};

// The buffer of one LPC_IOC_TRANSFER that sends a message and receives the
// next one: struct lpc_transfer, then data[], as large as an ioctl's
// buffer gets. A message received that would not fit stays queued for
// read() (lpc.h LPC_IOC_TRANSFER), so the size only decides which path a
// reply takes; a message to send that would not fit goes by write().
class ExchangeBuffer {
 public:
  static constexpr size_t kSize = LPC_IOCTL_MAX;
  static constexpr size_t kMaxMessage =
      kSize - sizeof(lpc_transfer) - sizeof(lpc_record);

  // Sets up the buffer to send `message` (at most kMaxMessage bytes) as
  // one LPC_REC_MESSAGE and then to receive one message, waiting at most
  // timeout_ms (0: no limit).
  void Prepare(std::string_view message, uint32_t timeout_ms) {
    lpc_record record{};
    record.type = LPC_REC_MESSAGE;
    record.length = static_cast<uint32_t>(message.size());
    std::memcpy(data(), &record, sizeof record);
    std::memcpy(data() + sizeof record, message.data(), message.size());
    lpc_transfer t{};
    t.timeout_ms = timeout_ms;
    t.send_length = static_cast<uint32_t>(sizeof record + message.size());
    t.max_records = 1;
    std::memcpy(bytes_.data(), &t, sizeof t);
  }
  // ioctl(fd, LPC_IOC_TRANSFER(kSize), buffer): 0 or errno.
  int Transfer(int fd) {
    return ioctl(fd, LPC_IOC_TRANSFER(kSize), bytes_.data()) < 0 ? errno : 0;
  }
  lpc_transfer header() const {
    lpc_transfer t;
    std::memcpy(&t, bytes_.data(), sizeof t);
    return t;
  }
  // The payload of the message received, if one was. Exits 1 if the
  // daemon's answer is not framed as lpc.h says.
  std::optional<std::string_view> Received() const {
    lpc_transfer t = header();
    if (t.received == 0) return std::nullopt;
    lpc_record record;
    if (t.received != 1 || t.received_length < sizeof record ||
        t.received_length > kSize - sizeof t) {
      Die(kExitFailure, "transfer: malformed answer from the daemon");
    }
    std::memcpy(&record, data(), sizeof record);
    if (record.type != LPC_REC_MESSAGE ||
        record.length > t.received_length - sizeof record) {
      Die(kExitFailure, "transfer: malformed answer from the daemon");
    }
    return std::string_view(data() + sizeof record, record.length);
  }

 private:
  char* data() { return bytes_.data() + sizeof(lpc_transfer); }
  const char* data() const { return bytes_.data() + sizeof(lpc_transfer); }

  alignas(8) std::array<char, kSize> bytes_{};
};

class Call {
 public:
  explicit Call(CallOptions options) : options_(std::move(options)) {}
  ~Call() {
    if (fd_ >= 0) close(fd_);
  }
  int Run();

 private:
  void Connect();
  // --server-user: exits 5 unless that user owns the port and runs the
  // process serving it. fd >= 0: the open connection, else the path.
  void CheckServer(int fd) const;
  int RunLockstep();
  int RunUntilEof();

  // Sends one message and receives the next one with one ioctl, waiting
  // for room (until the deadline). Returns 0 when the message went out
  // (then `reply` is the message received, if the ioctl took one), EPIPE
  // (the server has gone), ETIMEDOUT, or ENOTTY (the daemon has no ioctls:
  // nothing was sent); other errors exit 1.
  int Exchange(const std::string& message, const Deadline& deadline,
               std::optional<std::string>* reply);
  // Waits until the port has room to send, or the deadline: 0 or ETIMEDOUT.
  int WaitForRoom(const Deadline& deadline);
  // Sends one message, waiting for room (until the deadline). Returns 0,
  // EPIPE (the server has gone) or ETIMEDOUT; other errors exit 1.
  int Send(const std::string& message, const Deadline& deadline);
  // Waits for one reply message and prints it. Returns 0, or exits 3 on
  // timeout and 4 at end of file. Sets *ends_line when it ends in '\n'.
  void ReceiveOne(const Deadline& deadline, bool* ends_line);
  // Prints one reply message as the reply rule says. Sets *ends_line.
  void PrintReply(std::string_view reply, bool* ends_line) const;
  // One read() of the port into buf: its size (0: end of file), or -1 when
  // nothing is queued (EAGAIN). Other errors exit 1.
  ssize_t TryRead(char* buf, size_t size);

  [[noreturn]] void Closed() const {
    Die(kExitServerClosed,
        options_.port_path + ": the server closed the connection");
  }
  [[noreturn]] void TimedOut(std::string_view what) const {
    Die(kExitTimeout, options_.port_path + ": " + std::string(what) +
                          " within " + options_.timeout_text + " s");
  }
  void Print(std::string_view data) const {
    int err = WriteAll(STDOUT_FILENO, data);
    if (err != 0) DieErrno(kExitFailure, "write standard output", err);
  }

  CallOptions options_;
  int fd_ = -1;
  // False once the daemon answered an ioctl with ENOTTY (a daemon from
  // before the ioctls): write() and read() from then on.
  bool use_ioctl_ = true;
  ExchangeBuffer exchange_;
  // Room for the largest message any port carries: one read() takes one
  // whole message, so a reply is printed as one.
  std::vector<char> read_buffer_ = std::vector<char>(1 << 20);
};

void Call::Connect() {
  // The open() waits until the server accepts or rejects. --timeout bounds
  // it with SIGALRM (no SA_RESTART): the interrupted open() fails EINTR and
  // the daemon withdraws the request (lpc.7 "CONNECTING"). The timer repeats
  // so an alarm that fires just before open() starts is not lost.
  if (options_.timeout) {
    struct sigaction action {};
    action.sa_handler = OnAlarm;
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, nullptr);
    double whole = std::floor(*options_.timeout);
    itimerval timer{};
    timer.it_value.tv_sec = static_cast<time_t>(whole);
    timer.it_value.tv_usec =
        static_cast<suseconds_t>((*options_.timeout - whole) * 1e6);
    if (timer.it_value.tv_sec == 0 && timer.it_value.tv_usec == 0) {
      timer.it_value.tv_usec = 1;
    }
    timer.it_interval.tv_usec = 50000;
    setitimer(ITIMER_REAL, &timer, nullptr);
  }
  int err = 0;
  for (;;) {
    fd_ = open(options_.port_path.c_str(), O_RDWR | O_CLOEXEC);
    err = errno;
    if (fd_ >= 0 || err != EINTR || g_alarm_fired) break;
  }
  if (options_.timeout) {
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    signal(SIGALRM, SIG_IGN);
  }
  if (fd_ < 0) {
    if (err == EINTR && g_alarm_fired) TimedOut("not accepted");
    Die(kExitFailure,
        FailureText("connect", options_.port_path, err, options_.mount));
  }
  // Non-blocking, and poll() decides when to read and write, so --timeout
  // also bounds a write waiting for room in a full queue.
  fcntl(fd_, F_SETFL, O_NONBLOCK);
}

void Call::CheckServer(int fd) const {
  uid_t owner = 0;
  std::optional<uid_t> process;
  int err = WhoServes(options_.port_path, fd, &owner, &process);
  if (err != 0)
    Die(kExitFailure,
        FailureText("check", options_.port_path, err, options_.mount));
  uid_t want = *options_.server_user;
  if (owner == want && process == want) return;
  std::string who = "owned by uid " + std::to_string(owner) + ", ";
  who += process ? "served by uid " + std::to_string(*process)
                 : std::string("served by no process");
  Die(kExitWrongServer, options_.port_path + ": " + who + ", not by " +
                            options_.server_user_text + "; nothing sent");
}

// Milliseconds for lpc_transfer.timeout_ms: 0 (no limit) without a
// deadline, at least 1 with one, since 0 would wait for ever.
uint32_t TransferTimeout(const Deadline& deadline) {
  if (!deadline) return 0;
  return static_cast<uint32_t>(std::max(PollTimeout(deadline), 1));
}

int Call::WaitForRoom(const Deadline& deadline) {
  pollfd pfd = {fd_, POLLOUT, 0};
  int ready = poll(&pfd, 1, PollTimeout(deadline));
  if (ready < 0 && errno != EINTR) DieErrno(kExitFailure, "poll", errno);
  return ready == 0 ? ETIMEDOUT : 0;
}

int Call::Exchange(const std::string& message, const Deadline& deadline,
                   std::optional<std::string>* reply) {
  reply->reset();
  for (;;) {
    // The receive waits at most until the deadline; what it then leaves
    // to wait for, ReceiveOne() waits for and reports.
    exchange_.Prepare(message, TransferTimeout(deadline));
    int err = exchange_.Transfer(fd_);
    if (err == 0) {
      // Sending never waits and a batch that sent nothing fails, so the
      // message is out. Nothing received means the receive timed out, was
      // interrupted, met the end of the connection or a message too long
      // for the buffer: read() tells which.
      if (exchange_.header().sent != 1) {
        Die(kExitFailure, "send " + options_.port_path + ": the daemon sent " +
                              std::to_string(exchange_.header().sent) +
                              " messages of 1");
      }
      if (auto received = exchange_.Received()) reply->emplace(*received);
      return 0;
    }
    // Failed: nothing was sent (lpc.h "ioctls"), so as with write().
    switch (err) {
      case EPIPE:
      case ENOTTY:
        return err;
      case EINTR:
        continue;
      case EAGAIN:  // no room in the queue to the server (sending never waits)
        if (WaitForRoom(deadline) == ETIMEDOUT) return ETIMEDOUT;
        continue;
      default:
        Die(kExitFailure,
            FailureText("send", options_.port_path, err, options_.mount));
    }
  }
}

int Call::Send(const std::string& message, const Deadline& deadline) {
  for (;;) {
    ssize_t n = write(fd_, message.data(), message.size());
    if (n >= 0) {
      if (static_cast<size_t>(n) != message.size()) {
        Die(kExitFailure, "send " + options_.port_path + ": short write of " +
                              std::to_string(n) + " bytes");
      }
      return 0;
    }
    if (errno == EPIPE) return EPIPE;
    if (errno == EINTR) continue;
    if (errno != EAGAIN)
      Die(kExitFailure,
          FailureText("send", options_.port_path, errno, options_.mount));
    if (WaitForRoom(deadline) == ETIMEDOUT) return ETIMEDOUT;
  }
}

ssize_t Call::TryRead(char* buf, size_t size) {
  for (;;) {
    ssize_t n = read(fd_, buf, size);
    if (n >= 0) return n;
    if (errno == EAGAIN) return -1;
    if (errno != EINTR)
      Die(kExitFailure,
          FailureText("read", options_.port_path, errno, options_.mount));
  }
}

void Call::ReceiveOne(const Deadline& deadline, bool* ends_line) {
  char* buf = read_buffer_.data();
  ssize_t n;
  // Read first and poll only when nothing is queued: each poll() of a FUSE
  // file is a round trip to the daemon.
  while ((n = TryRead(buf, read_buffer_.size())) < 0) {
    pollfd pfd = {fd_, POLLIN, 0};
    int ready = poll(&pfd, 1, PollTimeout(deadline));
    if (ready == 0) TimedOut("no reply");
    if (ready < 0 && errno != EINTR) DieErrno(kExitFailure, "poll", errno);
  }
  if (n == 0) Closed();
  PrintReply(std::string_view(buf, static_cast<size_t>(n)), ends_line);
}

void Call::PrintReply(std::string_view reply, bool* ends_line) const {
  *ends_line = !reply.empty() && reply.back() == '\n';
  if (options_.rule == ReplyRule::kMessage) {
    Print(MessageAsLine(reply));
  } else {
    Print(reply);
  }
}

int Call::RunLockstep() {
  std::deque<std::string> queue;
  std::optional<InputLines> input;
  if (options_.messages) {
    queue.assign(options_.messages->begin(), options_.messages->end());
  } else {
    input.emplace();
  }
  bool input_done = !input;
  for (;;) {
    if (queue.empty()) {
      if (input_done) return kExitOk;
      input_done = !input->ReadSome(queue);
      continue;
    }
    std::string message = std::move(queue.front());
    queue.pop_front();
    Deadline deadline = DeadlineAfter(options_.timeout);
    std::optional<std::string> reply;
    int err = ENOTTY;
    if (use_ioctl_ && message.size() <= ExchangeBuffer::kMaxMessage) {
      err = Exchange(message, deadline, &reply);
      use_ioctl_ = err != ENOTTY;
    }
    if (err == ENOTTY) err = Send(message, deadline);
    if (err == EPIPE) Closed();
    if (err == ETIMEDOUT) TimedOut("no room to send");
    bool ends_line = false;
    if (reply) {
      PrintReply(*reply, &ends_line);
    } else {
      ReceiveOne(deadline, &ends_line);
    }
    while (options_.rule == ReplyRule::kLine && !ends_line) {
      ReceiveOne(deadline, &ends_line);
    }
  }
}

int Call::RunUntilEof() {
  std::deque<std::string> queue;
  std::optional<InputLines> input;
  if (options_.messages) {
    queue.assign(options_.messages->begin(), options_.messages->end());
  } else {
    input.emplace();
  }
  bool input_done = !input;
  bool sending = true;
  Deadline idle_deadline = DeadlineAfter(options_.timeout);
  char* buf = read_buffer_.data();
  for (;;) {
    // Stdin is read only while few messages wait, so a server that does not
    // read does not make us buffer all of stdin.
    bool want_input = sending && !input_done && queue.size() < 64;
    bool want_send = sending && !queue.empty();
    pollfd fds[2] = {
        {fd_, static_cast<short>(POLLIN | (want_send ? POLLOUT : 0)), 0},
        {want_input ? STDIN_FILENO : -1, POLLIN, 0},
    };
    int ready = poll(fds, 2, PollTimeout(idle_deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      DieErrno(kExitFailure, "poll", errno);
    }
    if (ready == 0) TimedOut("nothing sent or received");
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      // Read until nothing is queued (a poll() per message would double
      // the round trips), a bounded number so sending goes on too.
      std::string out;
      bool at_eof = false;
      for (int i = 0; i < 64; ++i) {
        ssize_t n = TryRead(buf, read_buffer_.size());
        if (n < 0) break;
        if (n == 0) {
          at_eof = true;
          break;
        }
        out.append(buf, static_cast<size_t>(n));
      }
      Print(out);
      if (at_eof) return kExitOk;
      if (!out.empty()) idle_deadline = DeadlineAfter(options_.timeout);
      continue;  // replies first: they make room for more messages
    }
    if (want_send && (fds[0].revents & POLLOUT)) {
      ssize_t n = write(fd_, queue.front().data(), queue.front().size());
      if (n >= 0) {
        queue.pop_front();
        idle_deadline = DeadlineAfter(options_.timeout);
      } else if (errno == EPIPE) {
        // The server has gone: print what it sent, up to end of file.
        sending = false;
        queue.clear();
      } else if (errno != EAGAIN && errno != EINTR) {
        Die(kExitFailure,
            FailureText("send", options_.port_path, errno, options_.mount));
      }
    }
    if (want_input && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      input_done = !input->ReadSome(queue);
    }
  }
}

int Call::Run() {
  // Checked on the name first, so that a squatter does not even see a
  // connect, then on the open port, which is the one messages go to even if
  // the name was replaced in between (lpc.7 "WHO SERVES A NAME").
  if (options_.server_user) CheckServer(-1);
  Connect();
  if (options_.server_user) CheckServer(fd_);
  if (options_.rule == ReplyRule::kEof) return RunUntilEof();
  return RunLockstep();
}

}  // namespace

int RunCall(std::vector<std::string> args) {
  ArgReader reader("call", std::move(args));
  std::optional<std::string> mount;
  CallOptions options;
  bool lines = false;
  bool eof = false;
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("call");
    } else if (*option == "-m" || *option == "--mount") {
      mount = reader.Value();
    } else if (*option == "-t" || *option == "--timeout") {
      options.timeout_text = reader.Value();
      options.timeout = ParseSeconds(options.timeout_text);
      if (!options.timeout) {
        reader.Fail("invalid timeout '" + options.timeout_text +
                    "' (seconds, like 2 or 0.5)");
      }
    } else if (*option == "-u" || *option == "--server-user") {
      options.server_user_text = reader.Value();
      options.server_user = ParseUser(options.server_user_text);
      if (!options.server_user) {
        reader.Fail("unknown user '" + options.server_user_text + "'");
      }
    } else if (*option == "-l" || *option == "--lines") {
      reader.NoValue();
      lines = true;
    } else if (*option == "-e" || *option == "--eof") {
      reader.NoValue();
      eof = true;
    } else {
      reader.Fail("unknown option " + *option);
    }
  }
  if (lines && eof) reader.Fail("--lines and --eof do not go together");
  if (lines) options.rule = ReplyRule::kLine;
  if (eof) options.rule = ReplyRule::kEof;
  if (reader.AtEnd()) reader.Fail("missing PORT");
  std::string port = reader.Take();
  if (port.empty()) reader.Fail("empty PORT");
  if (!reader.AtEnd()) {
    options.messages = reader.TakeRest();
    for (size_t i = 0; i < options.messages->size(); ++i) {
      const std::string& message = (*options.messages)[i];
      if (message.empty()) {
        reader.Fail("MESSAGE " + std::to_string(i + 1) + " is empty");
      }
      if (message.size() > kMaxLine) {
        reader.Fail("MESSAGE " + std::to_string(i + 1) + " is longer than " +
                    std::to_string(kMaxLine) +
                    " bytes, the most any port takes");
      }
    }
  }
  options.mount = MountDir(mount);
  options.port_path = PortPath(options.mount, port);
  Call call(std::move(options));
  return call.Run();
}

}  // namespace lpc::shell
