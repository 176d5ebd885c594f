// lpc serve: an inetd for lpcfs ports. One poll loop serves every
// connection; each connection has its own CMD process joined to it by two
// pipes.
//
// The server handle is only read (CONNECT, DISCONNECT records). Each
// connection's data goes through its server communication port
// /MOUNT/.conn/ID (lpc.7 "SERVER COMMUNICATION PORT"), opened when its
// CONNECT record is read:
//  - poll() on .conn/ID says when that connection's queue to the client has
//    room (POLLOUT), where the server handle is always writable: no retry
//    timers for full client queues.
//  - .conn/ID is an inode of its own. Every handle of a port is the port's
//    inode, and the kernel serialises direct writes to one inode unless the
//    daemon opts out (FOPEN_PARALLEL_DIRECT_WRITES with st_size
//    LPC_STREAM_SIZE, lpc.h): a daemon without that makes a client whose
//    write() waits for queue room block our SEND records, and we would never
//    read the messages that let it go on. Seen with lpcfs before 7b9a8b1.
#include <fcntl.h>
#include <lpc.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "help.h"
#include "line_splitter.h"

extern char** environ;

namespace lpc::shell {

namespace {

// Output of one CMD waiting for its client beyond which we stop reading that
// CMD's stdout, so a client that does not read slows down only its own CMD
// (the pipe fills and CMD blocks).
constexpr size_t kToClientLimit = 64 * 1024;
// Client messages waiting for one CMD's stdin beyond which we stop reading
// that client's .conn/ID. The daemon's queue then fills and the client's
// writes wait or fail EAGAIN (lpc.7 "BACK-PRESSURE"), so a client that
// sends faster than its CMD reads costs lpc serve no more than this.
constexpr size_t kToCommandLimit = 64 * 1024;
// Output a CMD may write after its client has gone before we close its
// stdout (it then gets SIGPIPE), so a CMD that ignores its input and writes
// forever does not run on for nothing.
constexpr size_t kDiscardLimit = 64 * 1024;
// Records or messages read from one descriptor per wakeup: reading until
// EAGAIN saves a poll() (a round trip to the daemon) per message, the bound
// keeps one busy client from starving the others.
constexpr int kReadsPerWakeup = 64;
// How long CMDs get after SIGTERM at shutdown before SIGKILL.
constexpr int kShutdownGraceMs = 2000;

struct ServeOptions {
  std::string port_path;
  std::string mount;  // MountDir(), for the messages of failures
  mode_t mode = 0666;
  bool verbose = false;
  std::vector<std::string> command;
};

// One client connection and the CMD process serving it.
struct Connection {
  uint64_t id = 0;
  // /MOUNT/.conn/ID, O_NONBLOCK: the client's messages in, ours out. -1 if
  // it could not be opened because the connection was already over (the
  // client's messages then come as MESSAGE records) or once we ended it.
  int conn_fd = -1;
  bool input_open = true;  // the client may send more
  pid_t pid = -1;
  int stdin_fd = -1;   // our end of CMD's stdin pipe, O_NONBLOCK
  int stdout_fd = -1;  // our end of CMD's stdout pipe, O_NONBLOCK
  // Client messages (as lines) not yet written to CMD's stdin, from
  // to_cmd_offset on. Reading the client stops at kToCommandLimit: a client
  // waiting in write() for queue room stalls only itself, since Linux holds
  // the port's inode lock shared for it (FOPEN_PARALLEL_DIRECT_WRITES, see
  // the top of this file), and an appending write fails EAGAIN instead of
  // waiting.
  std::string to_cmd;
  size_t to_cmd_offset = 0;
  size_t ToCommandBytes() const { return to_cmd.size() - to_cmd_offset; }
  LineSplitter splitter{LPC_MAX_MESSAGE};
  std::deque<std::string> to_client;  // messages not yet written to conn_fd
  size_t to_client_bytes = 0;
  // Nothing can reach the client any more (it closed, or a write failed
  // EPIPE): output is discarded from then on.
  bool client_gone = false;
  size_t discarded = 0;
  bool ended = false;  // our side of the connection is closed
  bool reaped = true;  // no CMD process left to wait for
};

class Server {
 public:
  explicit Server(ServeOptions options) : options_(std::move(options)) {}
  ~Server();

  // Creates the port and serves until a signal or a fatal error. Returns the
  // exit status.
  int Run();

 private:
  bool Start();
  void PollOnce();
  // Ends connections whose CMD output is complete and delivered, and
  // forgets connections that are over.
  void Maintain();

  enum class ReadResult { kRecord, kEmpty, kFatal };
  ReadResult ReadRecord();
  void OnConnect(const lpc_record& record);
  void OnMessage(const lpc_record& record, std::string_view payload);
  void OnDisconnect(const lpc_record& record);

  bool Spawn(Connection& conn, const lpc_record& record);
  void ReadFromClient(Connection& conn);
  void FlushToClient(Connection& conn);
  void ClientInputEnded(Connection& conn);
  void WriteToCommand(Connection& conn);
  void ReadFromCommand(Connection& conn);
  void QueueToClient(Connection& conn, std::vector<std::string>& messages);
  void DropToClient(Connection& conn);
  void CloseStdin(Connection& conn);
  void CloseStdout(Connection& conn);

  void HandleSignals();
  void ReapChildren();
  void Shutdown();

  // Writes one record to the server handle: its header and `length`
  // payload bytes, in one write(). Returns 0 or an errno.
  int WriteRecord(uint32_t type, uint64_t conn_id, uint32_t flags,
                  const void* payload = nullptr, uint32_t length = 0);
  void Log(const std::string& text) const;
  static std::string Name(const Connection& conn) {
    return "conn " + std::to_string(conn.id);
  }

  ServeOptions options_;
  std::string conn_dir_;  // /MOUNT/.conn/
  int port_fd_ = -1;
  int signal_fd_ = -1;
  sigset_t original_mask_{};
  std::map<uint64_t, Connection> conns_;
  std::map<pid_t, uint64_t> conn_of_pid_;
  bool stop_ = false;
  int exit_code_ = kExitOk;
};

Server::~Server() {
  if (port_fd_ >= 0) close(port_fd_);
  if (signal_fd_ >= 0) close(signal_fd_);
}

void Server::Log(const std::string& text) const {
  if (options_.verbose) Warn("serve: " + text);
}

int Server::WriteRecord(uint32_t type, uint64_t conn_id, uint32_t flags,
                        const void* payload, uint32_t length) {
  lpc_record header{};
  header.type = type;
  header.length = length;
  header.conn_id = conn_id;
  header.flags = flags;
  std::vector<char> record(sizeof header + length);
  std::memcpy(record.data(), &header, sizeof header);
  if (length) std::memcpy(record.data() + sizeof header, payload, length);
  for (;;) {
    ssize_t n = write(port_fd_, record.data(), record.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    // A record is taken whole or not at all (lpc.7 "SERVER HANDLE").
    return static_cast<size_t>(n) == record.size() ? 0 : EIO;
  }
}

bool Server::Start() {
  // Signals arrive through signal_fd_, so the poll loop sees them. SIGCHLD
  // must not be ignored (an inherited SIG_IGN would auto-reap our CMDs);
  // SIGPIPE is ignored so a CMD that stops reading gives us EPIPE.
  std::signal(SIGCHLD, SIG_DFL);
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, sig);
  if (sigprocmask(SIG_BLOCK, &mask, &original_mask_) != 0) {
    WarnErrno("sigprocmask", errno);
    return false;
  }
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) {
    WarnErrno("signalfd", errno);
    return false;
  }

  // Three descriptors per connection: allow as many as the hard limit lets.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 16384) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 16384);
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  // --mode is applied exactly: the umask is for files, not for permissions
  // someone asked for by number (like mkfifo -m).
  mode_t old_umask = umask(0);
  port_fd_ =
      open(options_.port_path.c_str(),
           O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK | O_CLOEXEC, options_.mode);
  int open_errno = errno;
  umask(old_umask);
  if (port_fd_ < 0) {
    Warn(FailureText("create", options_.port_path, open_errno, options_.mount));
    return false;
  }
  // Auto-accept before reading any record: it also accepts the requests
  // already pending (lpc.7 "CONNECTING"), so we never write ACCEPT. The
  // port's limit is set to what one read of our record buffer holds,
  // whatever the daemon's -o max_message: a larger record would stay
  // queued and stop every connection of the port.
  lpc_port_limits limits{};
  limits.max_message = LPC_DEFAULT_MAX_MESSAGE;
  int err = WriteRecord(LPC_REC_PORT_OPTIONS, 0, LPC_PORT_AUTO_ACCEPT, &limits,
                        sizeof limits);
  if (err != 0) {
    WarnErrno("set auto-accept on " + options_.port_path, err);
    return false;
  }

  struct stat st {};
  char real[PATH_MAX];
  if (fstat(port_fd_, &st) != 0 ||
      realpath(options_.port_path.c_str(), real) == nullptr) {
    WarnErrno("stat " + options_.port_path, errno);
    return false;
  }
  std::string root = MountRootOf(real, st.st_dev);
  conn_dir_ = (root == "/" ? "" : root) + "/" + LPC_CONN_DIR + "/";
  struct stat conn_dir_st {};
  if (stat(conn_dir_.c_str(), &conn_dir_st) != 0 ||
      !S_ISDIR(conn_dir_st.st_mode)) {
    // A bind mount of a folder of the mount, for instance.
    Warn("serve: " + options_.port_path + ": no " + conn_dir_ +
         " (the port must be reached through the lpcfs mount's root)");
    return false;
  }
  Log("listening on " + options_.port_path);
  return true;
}

int Server::Run() {
  if (!Start()) return kExitFailure;
  while (!stop_) {
    Maintain();
    PollOnce();
  }
  Shutdown();
  return exit_code_;
}

void Server::PollOnce() {
  enum class Kind { kClient, kStdin, kStdout };
  struct Slot {
    uint64_t conn_id;
    Kind kind;
  };
  std::vector<pollfd> fds;
  std::vector<Slot> slots;
  fds.push_back({signal_fd_, POLLIN, 0});
  fds.push_back({port_fd_, POLLIN, 0});
  for (auto& [id, conn] : conns_) {
    if (conn.conn_fd >= 0) {
      short events = 0;
      if (conn.input_open && conn.ToCommandBytes() < kToCommandLimit) {
        events |= POLLIN;
      }
      if (!conn.client_gone && !conn.to_client.empty()) events |= POLLOUT;
      if (events != 0) {
        fds.push_back({conn.conn_fd, events, 0});
        slots.push_back({id, Kind::kClient});
      }
    }
    if (conn.stdin_fd >= 0 && conn.to_cmd_offset < conn.to_cmd.size()) {
      fds.push_back({conn.stdin_fd, POLLOUT, 0});
      slots.push_back({id, Kind::kStdin});
    }
    if (conn.stdout_fd >= 0 &&
        (conn.client_gone || conn.to_client_bytes < kToClientLimit)) {
      fds.push_back({conn.stdout_fd, POLLIN, 0});
      slots.push_back({id, Kind::kStdout});
    }
  }
  int ready = poll(fds.data(), fds.size(), -1);
  if (ready < 0) {
    if (errno == EINTR) return;
    WarnErrno("poll", errno);
    exit_code_ = kExitFailure;
    stop_ = true;
    return;
  }
  if (fds[0].revents != 0) HandleSignals();
  for (int i = 0; fds[1].revents != 0 && !stop_ && i < kReadsPerWakeup; ++i) {
    ReadResult result = ReadRecord();
    if (result == ReadResult::kFatal) {
      exit_code_ = kExitFailure;
      stop_ = true;
    }
    if (result != ReadResult::kRecord) break;
  }
  for (size_t i = 0; i < slots.size() && !stop_; ++i) {
    short revents = fds[i + 2].revents;
    if (revents == 0) continue;
    auto it = conns_.find(slots[i].conn_id);
    if (it == conns_.end()) continue;
    Connection& conn = it->second;
    switch (slots[i].kind) {
      case Kind::kClient:
        if (revents & (POLLIN | POLLHUP | POLLERR)) ReadFromClient(conn);
        if (revents & (POLLOUT | POLLHUP | POLLERR)) FlushToClient(conn);
        break;
      case Kind::kStdin:
        WriteToCommand(conn);
        break;
      case Kind::kStdout:
        ReadFromCommand(conn);
        break;
    }
  }
}

void Server::Maintain() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    Connection& conn = it->second;
    if (!conn.ended && conn.stdout_fd < 0 &&
        (conn.to_client.empty() || conn.client_gone)) {
      // CMD's output is complete and delivered: end the connection. The
      // client reads what is queued, then end of file.
      CloseStdin(conn);
      if (conn.conn_fd >= 0) close(conn.conn_fd);
      conn.conn_fd = -1;
      conn.ended = true;
      Log(Name(conn) + ": closed");
    }
    if (conn.ended && conn.reaped) {
      // Records that still come for this id (its DISCONNECT) are ignored.
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

Server::ReadResult Server::ReadRecord() {
  alignas(lpc_record) char buf[LPC_RECORD_MAX];
  ssize_t n = read(port_fd_, buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return ReadResult::kEmpty;
    Warn(FailureText("read", options_.port_path, errno, options_.mount));
    return ReadResult::kFatal;
  }
  if (n == 0) {
    Warn("read " + options_.port_path + ": unexpected end of file");
    return ReadResult::kFatal;
  }
  lpc_record record{};
  if (static_cast<size_t>(n) < sizeof record) {
    Warn("read " + options_.port_path + ": short record of " +
         std::to_string(n) + " bytes");
    return ReadResult::kRecord;
  }
  std::memcpy(&record, buf, sizeof record);
  if (record.length != static_cast<size_t>(n) - sizeof record) {
    Warn("read " + options_.port_path + ": record length " +
         std::to_string(record.length) + " but " +
         std::to_string(n - sizeof record) + " payload bytes");
    return ReadResult::kRecord;
  }
  std::string_view payload(buf + sizeof record, record.length);
  switch (record.type) {
    case LPC_REC_CONNECT:
      OnConnect(record);
      break;
    case LPC_REC_MESSAGE:
      OnMessage(record, payload);
      break;
    case LPC_REC_DISCONNECT:
      OnDisconnect(record);
      break;
    default:
      Warn("read " + options_.port_path + ": unknown record type " +
           std::to_string(record.type));
      break;
  }
  return ReadResult::kRecord;
}

void Server::OnConnect(const lpc_record& record) {
  auto [it, inserted] = conns_.try_emplace(record.conn_id);
  if (!inserted) {
    Warn("serve: conn " + std::to_string(record.conn_id) + ": connected twice");
    return;
  }
  Connection& conn = it->second;
  conn.id = record.conn_id;
  // Binding moves the client's messages, queued ones included, to this
  // file. It fails ENOENT only if the connection is over already (the
  // client closed); its messages then come as MESSAGE records.
  std::string conn_path = conn_dir_ + std::to_string(conn.id);
  conn.conn_fd = open(conn_path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (conn.conn_fd < 0) {
    int err = errno;
    if (err != ENOENT) {
      // Without .conn/ID we cannot talk to this client: end it.
      WarnErrno("open " + conn_path, err);
      WriteRecord(LPC_REC_DISCONNECT, conn.id, 0);
      conn.ended = true;
      return;
    }
    Log(Name(conn) + ": already over, its output will be discarded");
    conn.client_gone = true;
  }
  if (!Spawn(conn, record)) {
    // Nothing to run: Maintain() ends the connection at once.
    conn.client_gone = true;
    return;
  }
  Log(Name(conn) + ": client pid " + std::to_string(record.pid) + " uid " +
      std::to_string(record.uid) + " gid " + std::to_string(record.gid) + "; " +
      options_.command[0] + " is pid " + std::to_string(conn.pid));
}

void Server::OnMessage(const lpc_record& record, std::string_view payload) {
  auto it = conns_.find(record.conn_id);
  if (it == conns_.end()) return;
  Connection& conn = it->second;
  // CMD's stdin is closed (CMD stopped reading or its output ended): the
  // message has nowhere to go, like data sent to a closed socket.
  if (conn.stdin_fd < 0) return;
  conn.to_cmd += MessageAsLine(payload);
  WriteToCommand(conn);
}

void Server::OnDisconnect(const lpc_record& record) {
  auto it = conns_.find(record.conn_id);
  if (it == conns_.end()) return;
  Connection& conn = it->second;
  if (conn.conn_fd < 0) Log(Name(conn) + ": client closed");
  conn.client_gone = true;
  DropToClient(conn);
  // A bound connection's input ends when .conn/ID reads end of file (its
  // messages may still be queued there). Otherwise every MESSAGE of the
  // connection came before this record (lpc.7 "Reading records").
  if (conn.conn_fd < 0) ClientInputEnded(conn);
}

bool Server::Spawn(Connection& conn, const lpc_record& record) {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    WarnErrno("serve: " + Name(conn) + ": pipe", errno);
    for (int fd : {in[0], in[1], out[0], out[1]}) {
      if (fd >= 0) close(fd);
    }
    return false;
  }

  // The environment: ours, minus any LPC_* we set, plus this connection's.
  std::vector<std::string> env_strings = {
      "LPC_PORT=" + options_.port_path,
      "LPC_CONN_ID=" + std::to_string(record.conn_id),
      "LPC_CLIENT_PID=" + std::to_string(record.pid),
      "LPC_CLIENT_UID=" + std::to_string(record.uid),
      "LPC_CLIENT_GID=" + std::to_string(record.gid),
  };
  std::vector<char*> envp;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view var(*e);
    bool ours = false;
    for (const std::string& set : env_strings) {
      std::string_view name =
          std::string_view(set).substr(0, set.find('=') + 1);
      if (var.substr(0, name.size()) == name) ours = true;
    }
    if (!ours) envp.push_back(*e);
  }
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<char*> argv;
  for (std::string& arg : options_.command) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &original_mask_);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int err =
      posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  if (err != 0) {
    WarnErrno("serve: " + Name(conn) + ": run " + options_.command[0], err);
    close(in[1]);
    close(out[0]);
    return false;
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  conn.pid = pid;
  conn.reaped = false;
  conn.stdin_fd = in[1];
  conn.stdout_fd = out[0];
  conn_of_pid_[pid] = conn.id;
  return true;
}

void Server::ReadFromClient(Connection& conn) {
  char buf[LPC_RECORD_MAX];
  for (int i = 0; i < kReadsPerWakeup && conn.input_open &&
                  conn.ToCommandBytes() < kToCommandLimit;
       ++i) {
    // One read() returns one message (lpc.7 "MESSAGES").
    ssize_t n = read(conn.conn_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      if (errno != EPIPE && errno != ENOTCONN) {
        WarnErrno("serve: " + Name(conn) + ": read", errno);
      }
      n = 0;
    }
    if (n == 0) {
      // The client has closed and everything it sent has been read.
      Log(Name(conn) + ": client closed");
      conn.client_gone = true;
      DropToClient(conn);
      ClientInputEnded(conn);
      break;
    }
    if (conn.stdin_fd >= 0) {
      conn.to_cmd += MessageAsLine(std::string_view(buf, n));
    }
  }
  WriteToCommand(conn);
}

void Server::FlushToClient(Connection& conn) {
  while (!conn.to_client.empty() && !conn.client_gone && conn.conn_fd >= 0) {
    const std::string& message = conn.to_client.front();
    ssize_t n = write(conn.conn_fd, message.data(), message.size());
    if (n >= 0) {
      conn.to_client_bytes -= message.size();
      conn.to_client.pop_front();
      continue;
    }
    if (errno == EINTR) continue;
    // The client's queue is full: POLLOUT says when it has room again.
    if (errno == EAGAIN) return;
    // EPIPE: the client has closed. Nobody will read this.
    if (errno != EPIPE && errno != ENOTCONN) {
      WarnErrno("serve: " + Name(conn) + ": write", errno);
    }
    conn.client_gone = true;
  }
  if (conn.client_gone || conn.conn_fd < 0) DropToClient(conn);
}

void Server::ClientInputEnded(Connection& conn) {
  conn.input_open = false;
  // CMD's stdin closes once the messages already received are written.
  if (conn.to_cmd_offset == conn.to_cmd.size()) CloseStdin(conn);
}

void Server::WriteToCommand(Connection& conn) {
  while (conn.stdin_fd >= 0 && conn.to_cmd_offset < conn.to_cmd.size()) {
    ssize_t n = write(conn.stdin_fd, conn.to_cmd.data() + conn.to_cmd_offset,
                      conn.to_cmd.size() - conn.to_cmd_offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      // EPIPE: CMD closed its stdin or exited. Its input goes nowhere now.
      if (errno != EPIPE) {
        WarnErrno("serve: " + Name(conn) + ": write to CMD", errno);
      }
      CloseStdin(conn);
      return;
    }
    conn.to_cmd_offset += static_cast<size_t>(n);
  }
  if (conn.to_cmd_offset == conn.to_cmd.size()) {
    conn.to_cmd.clear();
    conn.to_cmd_offset = 0;
    if (!conn.input_open) CloseStdin(conn);
  } else if (conn.to_cmd_offset > 65536 &&
             conn.to_cmd_offset > conn.to_cmd.size() / 2) {
    conn.to_cmd.erase(0, conn.to_cmd_offset);
    conn.to_cmd_offset = 0;
  }
}

void Server::ReadFromCommand(Connection& conn) {
  char buf[16384];
  ssize_t n = read(conn.stdout_fd, buf, sizeof buf);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    WarnErrno("serve: " + Name(conn) + ": read from CMD", errno);
    n = 0;  // handled as end of file
  }
  std::vector<std::string> messages;
  if (n == 0) {
    conn.splitter.Finish(messages);
    QueueToClient(conn, messages);
    CloseStdout(conn);
    return;
  }
  if (conn.client_gone) {
    conn.discarded += static_cast<size_t>(n);
    if (conn.discarded > kDiscardLimit) CloseStdout(conn);
    return;
  }
  conn.splitter.Feed(std::string_view(buf, static_cast<size_t>(n)), messages);
  QueueToClient(conn, messages);
}

void Server::QueueToClient(Connection& conn,
                           std::vector<std::string>& messages) {
  if (conn.client_gone || messages.empty()) return;
  for (std::string& message : messages) {
    conn.to_client_bytes += message.size();
    conn.to_client.push_back(std::move(message));
  }
  FlushToClient(conn);
}

void Server::DropToClient(Connection& conn) {
  conn.to_client.clear();
  conn.to_client_bytes = 0;
}

void Server::CloseStdin(Connection& conn) {
  if (conn.stdin_fd >= 0) close(conn.stdin_fd);
  conn.stdin_fd = -1;
  conn.to_cmd.clear();
  conn.to_cmd_offset = 0;
}

void Server::CloseStdout(Connection& conn) {
  if (conn.stdout_fd >= 0) close(conn.stdout_fd);
  conn.stdout_fd = -1;
}

void Server::HandleSignals() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo != SIGCHLD) {
      Log(std::string("stopping on ") + strsignal(info.ssi_signo));
      stop_ = true;
    }
  }
  // SIGCHLD signals merge: reap whatever has exited in any case.
  ReapChildren();
}

void Server::ReapChildren() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    auto it = conn_of_pid_.find(pid);
    if (it == conn_of_pid_.end()) continue;
    auto conn = conns_.find(it->second);
    if (conn != conns_.end()) {
      conn->second.reaped = true;
      if (WIFSIGNALED(status)) {
        Log(Name(conn->second) + ": " + options_.command[0] +
            " killed by signal " + std::to_string(WTERMSIG(status)));
      } else {
        Log(Name(conn->second) + ": " + options_.command[0] + " exited " +
            std::to_string(WEXITSTATUS(status)));
      }
    }
    conn_of_pid_.erase(it);
  }
}

void Server::Shutdown() {
  // Releasing the server handle removes the port and ends every connection
  // (lpc.7 "PORTS"): clients drain what is queued, then read EOF.
  if (port_fd_ >= 0) close(port_fd_);
  port_fd_ = -1;
  for (auto& [id, conn] : conns_) {
    if (conn.conn_fd >= 0) close(conn.conn_fd);
    conn.conn_fd = -1;
    CloseStdin(conn);
    CloseStdout(conn);
    if (!conn.reaped) kill(conn.pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(kShutdownGraceMs);
  while (!conn_of_pid_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    pollfd pfd = {signal_fd_, POLLIN, 0};
    poll(&pfd, 1, static_cast<int>(left));
    HandleSignals();
  }
  for (auto& [pid, id] : conn_of_pid_) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  conn_of_pid_.clear();
  conns_.clear();
}

// Whether CMD can be run: a path must be executable, a bare name must be
// found in $PATH (where posix_spawnp will look for it).
bool CommandExists(const std::string& name) {
  auto executable = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) &&
           access(path.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return executable(name);
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon - start);
    if (dir.empty()) dir = ".";
    if (executable(dir + "/" + name)) return true;
    if (colon == std::string::npos) return false;
    start = colon + 1;
  }
}

}  // namespace

int RunServe(std::vector<std::string> args) {
  ArgReader reader("serve", std::move(args));
  std::optional<std::string> mount;
  ServeOptions options;
  while (auto option = reader.NextOption()) {
    if (*option == "-h" || *option == "--help") {
      reader.NoValue();
      return PrintHelp("serve");
    } else if (*option == "-m" || *option == "--mount") {
      mount = reader.Value();
    } else if (*option == "-M" || *option == "--mode") {
      std::string text = reader.Value();
      auto mode = ParseMode(text);
      if (!mode) reader.Fail("invalid mode '" + text + "' (octal, like 0660)");
      options.mode = *mode;
    } else if (*option == "-v" || *option == "--verbose") {
      reader.NoValue();
      options.verbose = true;
    } else {
      reader.Fail("unknown option " + *option);
    }
  }
  if (reader.AtEnd()) reader.Fail("missing PORT");
  std::string port = reader.Take();
  if (port.empty()) reader.Fail("empty PORT");
  if (reader.AtEnd()) reader.Fail("missing -- CMD after PORT");
  if (reader.Take() != "--") reader.Fail("expected -- between PORT and CMD");
  options.command = reader.TakeRest();
  if (options.command.empty() || options.command[0].empty()) {
    reader.Fail("missing CMD after --");
  }
  if (!CommandExists(options.command[0])) {
    Die(kExitFailure, "serve: " + options.command[0] + ": command not found");
  }
  options.mount = MountDir(mount);
  options.port_path = PortPath(options.mount, port);
  // Before creating anything: open(O_CREAT) in a folder that is not on
  // lpcfs would make a plain file there, and our first record would be
  // written into it.
  if (auto problem = MountProblem("create", options.port_path, options.mount)) {
    Die(kExitFailure, *problem);
  }
  Server server(std::move(options));
  return server.Run();
}

}  // namespace lpc::shell
