// image_server: serves "imaging" requests whose image travels in a view
// (lpc.7 "VIEWS"): the client puts the image in a section it maps, and
// calls with a view of it; the server maps the same pages, reads them and
// writes its result into them, with no copy of the image either way.
//
//   lpc-example-image-server MOUNT
//
// Creates MOUNT/imaging (auto-accept) and, for each call, opens
// MOUNT/.views/ID, inverts every byte of the viewed range in place (the
// image's negative) and replies "sum=S" with the sum of the bytes it read.
// Calls without a view are answered "no view". Runs until SIGTERM, then
// exits 0.
#include <fcntl.h>
#include <lpc.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t stopping = 0;

int Fail(const std::string& what) {
  std::fprintf(stderr, "lpc-example-image-server: %s: %s\n", what.c_str(),
               std::strerror(errno));
  return 1;
}

bool WriteRecord(int srv, uint32_t type, uint64_t conn, uint64_t msg,
                 const std::string& payload, uint32_t flags = 0) {
  std::vector<char> rec(sizeof(lpc_record) + payload.size());
  lpc_record h{};
  h.type = type;
  h.conn_id = conn;
  h.msg_id = msg;
  h.flags = flags;
  h.length = static_cast<uint32_t>(payload.size());
  std::memcpy(rec.data(), &h, sizeof h);
  std::memcpy(rec.data() + sizeof h, payload.data(), payload.size());
  return write(srv, rec.data(), rec.size()) == static_cast<ssize_t>(rec.size());
}

// Maps the section a view names and works on its range; the answer.
std::string Process(const std::string& mount, const lpc_view& view) {
  const std::string path =
      mount + "/" LPC_VIEWS_DIR "/" + std::to_string(view.id);
  const bool writable = view.access & LPC_VIEW_WRITE;
  int fd = open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return std::string("open: ") + std::strerror(errno);
  // mmap offsets are whole pages: map from the page the range starts in.
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t start = view.offset / page * page;
  const size_t span = static_cast<size_t>(view.offset - start + view.length);
  void* p = mmap(nullptr, span, PROT_READ | (writable ? PROT_WRITE : 0),
                 MAP_SHARED, fd, static_cast<off_t>(start));
  close(fd);  // the mapping keeps the section open
  if (p == MAP_FAILED) return std::string("mmap: ") + std::strerror(errno);
  auto* bytes = static_cast<unsigned char*>(p) + (view.offset - start);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < view.length; ++i) {
    sum += bytes[i];
    if (writable) bytes[i] = static_cast<unsigned char>(255 - bytes[i]);
  }
  munmap(p, span);
  return "sum=" + std::to_string(sum);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: lpc-example-image-server MOUNT\n");
    return 2;
  }
  const std::string mount = argv[1];
  const std::string port = mount + "/imaging";
  int srv = open(port.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
  if (srv < 0) return Fail(port);
  if (!WriteRecord(srv, LPC_REC_PORT_OPTIONS, 0, 0, "", LPC_PORT_AUTO_ACCEPT)) {
    return Fail("auto-accept");
  }
  // SIGTERM ends the blocked read() with EINTR (no SA_RESTART): exit 0.
  struct sigaction stop {};
  stop.sa_handler = [](int) { stopping = 1; };
  sigaction(SIGTERM, &stop, nullptr);
  std::printf("listening on %s\n", port.c_str());
  std::fflush(stdout);
  std::vector<char> buf(LPC_RECORD_MAX);
  for (;;) {
    ssize_t n = read(srv, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      if (stopping) return 0;
      continue;
    }
    if (n < static_cast<ssize_t>(sizeof(lpc_record))) return Fail("read");
    lpc_record h;
    std::memcpy(&h, buf.data(), sizeof h);
    if (h.type != LPC_REC_MESSAGE) continue;  // connects, disconnects
    std::string answer = "no view";
    if ((h.flags & LPC_MESSAGE_VIEW) && h.length >= sizeof(lpc_view)) {
      lpc_view view;
      std::memcpy(&view, buf.data() + sizeof h, sizeof view);
      answer = Process(mount, view);
      std::printf("view %llu of %llu bytes: %s\n",
                  static_cast<unsigned long long>(view.id),
                  static_cast<unsigned long long>(view.length), answer.c_str());
      std::fflush(stdout);
    }
    // The reply ends the view: its name goes with it.
    if ((h.flags & LPC_MESSAGE_CALL) &&
        !WriteRecord(srv, LPC_REC_REPLY, h.conn_id, h.msg_id, answer)) {
      std::fprintf(stderr, "reply: %s\n", std::strerror(errno));
    }
  }
}
