// window_fill: a server fills its callers' buffers through memory windows
// (lpc.7 "MEMORY WINDOWS"; the daemon runs with -o memory_windows).
//
//   lpc-example-window-fill server MOUNT NAME
//   lpc-example-window-fill client MOUNT NAME SIZE
//
// The client allocates SIZE bytes, attaches them to one LPC_IOC_CALL as a
// write-only window and waits. The server reads the call, opens
// MOUNT/.windows/ID and fills the window 1 MiB per pwrite() with bytes
// that depend on their offset, then replies "filled N". The client then
// checks every byte of its buffer: no copy of the data went through a
// message. The server serves until SIGTERM or SIGINT; it answers a call
// without a window with "ERR no window".

#include <fcntl.h>
#include <lpc.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kChunk = size_t{1} << 20;

// What the server writes at `offset` of a window: the client recomputes it.
char ByteAt(uint64_t offset) { return static_cast<char>(offset % 251); }

int Fail(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
  return 1;
}

volatile sig_atomic_t stopping = 0;
void Stop(int) { stopping = 1; }

// One record written to the server handle.
bool WriteRecord(int handle, uint32_t type, uint64_t conn, uint64_t msg,
                 const std::string& payload) {
  std::vector<char> out(sizeof(lpc_record) + payload.size());
  lpc_record h{};
  h.type = type;
  h.length = static_cast<uint32_t>(payload.size());
  h.conn_id = conn;
  h.msg_id = msg;
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + sizeof h, payload.data(), payload.size());
  return write(handle, out.data(), out.size()) ==
         static_cast<ssize_t>(out.size());
}

// Fills window `w` through its file; returns the bytes written, or -1.
long long Fill(const std::string& mount, const lpc_window& w) {
  std::string path = mount + "/" LPC_WINDOWS_DIR "/" + std::to_string(w.id);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::vector<char> chunk(kChunk);
  uint64_t done = 0;
  while (done < w.length) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, w.length - done));
    for (size_t i = 0; i < n; ++i) chunk[i] = ByteAt(done + i);
    ssize_t wrote = pwrite(fd, chunk.data(), n, static_cast<off_t>(done));
    if (wrote <= 0) break;  // EFAULT: the client has no memory there
    done += static_cast<uint64_t>(wrote);
  }
  close(fd);
  return static_cast<long long>(done);
}

int Serve(const std::string& mount, const std::string& name) {
  std::string port = mount + "/" + name;
  int handle = open(port.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
  if (handle < 0) return Fail(port.c_str());
  // Auto-accept: the example is about windows, not about accepting.
  lpc_record options{};
  options.type = LPC_REC_PORT_OPTIONS;
  options.flags = LPC_PORT_AUTO_ACCEPT;
  if (write(handle, &options, sizeof options) != sizeof options) {
    return Fail("port options");
  }
  struct sigaction sa {};
  sa.sa_handler = Stop;  // no SA_RESTART: read() returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::printf("listening on %s\n", port.c_str());
  std::fflush(stdout);
  std::vector<char> buf(LPC_RECORD_MAX);
  while (!stopping) {
    ssize_t n = read(handle, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < static_cast<ssize_t>(sizeof(lpc_record))) return Fail("read");
    lpc_record h;
    std::memcpy(&h, buf.data(), sizeof h);
    if (h.type != LPC_REC_MESSAGE || !(h.flags & LPC_MESSAGE_CALL)) continue;
    std::string reply = "ERR no window";
    if ((h.flags & LPC_MESSAGE_WINDOW) && h.length >= sizeof(lpc_window)) {
      lpc_window w;
      std::memcpy(&w, buf.data() + sizeof h, sizeof w);
      long long filled = Fill(mount, w);
      reply = filled < 0 ? std::string("ERR ") + std::strerror(errno)
                         : "filled " + std::to_string(filled);
      std::printf("call %llu from pid %u: %s\n",
                  static_cast<unsigned long long>(h.msg_id), h.pid,
                  reply.c_str());
      std::fflush(stdout);
    }
    if (!WriteRecord(handle, LPC_REC_REPLY, h.conn_id, h.msg_id, reply)) {
      return Fail("reply");
    }
  }
  close(handle);
  return 0;
}

int Call(const std::string& mount, const std::string& name, size_t size) {
  std::string port = mount + "/" + name;
  int fd = open(port.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Fail(port.c_str());
  std::vector<char> buffer(size, '\0');
  lpc_window w{};
  w.address = reinterpret_cast<uint64_t>(buffer.data());
  w.length = size;
  w.access = LPC_WINDOW_WRITE;
  // The ioctl buffer: header, one MESSAGE record (window, then the
  // message "fill"), and room for the reply.
  struct {
    lpc_transfer t;
    lpc_record r;
    lpc_window window;
    char message[8];
    char reply[256];
  } call{};
  call.r.type = LPC_REC_MESSAGE;
  call.r.flags = LPC_MESSAGE_WINDOW;
  call.window = w;
  std::memcpy(call.message, "fill", 4);
  call.r.length = sizeof call.window + 4;
  call.t.send_length = sizeof call.r + call.r.length;
  if (ioctl(fd, LPC_IOC_CALL(sizeof call), &call) != 0) {
    return Fail("LPC_IOC_CALL");
  }
  // The reply record is at data[0], where the request was.
  const char* payload = reinterpret_cast<const char*>(&call.r) + sizeof call.r;
  std::string reply(payload, call.r.length);
  std::printf("%s\n", reply.c_str());
  for (size_t i = 0; i < size; ++i) {
    if (buffer[i] != ByteAt(i)) {
      std::printf("byte %zu is wrong\n", i);
      return 1;
    }
  }
  std::printf("all %zu bytes as the server wrote them\n", size);
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string role = argc > 1 ? argv[1] : "";
  if (role == "server" && argc == 4) return Serve(argv[2], argv[3]);
  if (role == "client" && argc == 5) {
    return Call(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10));
  }
  std::fprintf(stderr,
               "usage: %s server MOUNT NAME\n"
               "       %s client MOUNT NAME SIZE\n",
               argv[0], argv[0]);
  return 2;
}
