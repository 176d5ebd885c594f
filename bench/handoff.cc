// The 64 MiB hand-off of issue 8: a client gives a server 64 MiB it can
// read, and waits for its answer. Through lpcfs the data sits in a section
// the client filled, and one LPC_IOC_CALL carries a view of it; the server
// opens /lpc/.views/ID, maps it and answers. Through a Unix stream socket
// the client writes the 64 MiB and the server reads them into its own
// buffer. Next to both: one memcpy() of 64 MiB, the floor of any copy.

#include <fcntl.h>
#include <lpc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "figures.h"
#include "pair.h"
#include "process.h"
#include "records.h"
#include "util.h"

namespace lpcbench {
namespace {

constexpr size_t kHandoffBytes = size_t{64} << 20;
constexpr size_t kPage = 4096;

// A private anonymous buffer, every page touched once so that no page
// fault lands in a timed hand-off.
class Buffer {
 public:
  explicit Buffer(size_t size) : size_(size) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) ThrowErrno("mmap buffer");
    data_ = static_cast<char*>(p);
    std::memset(data_, 1, size_);
  }
  ~Buffer() { ::munmap(data_, size_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  char* get() { return data_; }

 private:
  size_t size_;
  char* data_;
};

// The byte the client stamps at the start of every page, so that the
// server can tell it maps the data of this hand-off, not stale pages.
char Stamp(size_t iteration, size_t page) {
  return char(iteration * 31 + page * 7 + 1);
}

void StampPages(char* p, size_t iteration) {
  for (size_t page = 0; page < kHandoffBytes / kPage; ++page) {
    p[page * kPage] = Stamp(iteration, page);
  }
}

// The server checks a few pages of every hand-off (not all: that would
// be reading the data, which neither server does), all of the first.
void CheckStamps(const char* p, size_t iteration, bool all, const char* what) {
  const size_t pages = kHandoffBytes / kPage;
  const size_t some[] = {0, 1, pages / 3, pages / 2, pages - 1};
  auto check = [&](size_t page) {
    if (p[page * kPage] != Stamp(iteration, page)) {
      throw std::runtime_error(std::string(what) + ": page " +
                               std::to_string(page) + " of hand-off " +
                               std::to_string(iteration) +
                               " is not what the client stored");
    }
  };
  if (all) {
    for (size_t page = 0; page < pages; ++page) check(page);
  } else {
    for (size_t page : some) check(page);
  }
}

// One LPC_IOC_CALL buffer: the header, the MESSAGE record with its view
// and a one-byte message going in; the reply record coming back.
struct CallBuffer {
  lpc_transfer transfer;
  lpc_record record;
  lpc_view view;
  char message[8];
  char reply_room[64];
};

size_t Iterations(const Config& cfg) {
  // A 64 MiB stream copy takes tens of ms here: a few per round suffice.
  return std::max<size_t>(3, cfg.handoff_iterations);
}

}  // namespace

std::vector<uint64_t> HandoffView(const Config& cfg, bool populate) {
  const size_t n = Iterations(cfg);
  SharedSamples samples(n);
  std::string path = PortPath(cfg, populate ? "handoff-populate" : "handoff");
  std::string views = cfg.mount + "/" LPC_VIEWS_DIR "/";
  RunPair(
      cfg, populate ? "lpcfs view hand-off (populate)" : "lpcfs view hand-off",
      [&](int ready) {
        Fd handle = CreatePort(path);
        SendToken(ready);
        char buf[LPC_RECORD_MAX];
        Record r = ReadRecord(handle.get(), buf);
        if (r.header.type != LPC_REC_CONNECT) Unexpected(r, "before CONNECT");
        AcceptConnect(handle.get(), r);
        for (size_t i = 0;; ++i) {
          Record m = ReadRecord(handle.get(), buf);
          if (m.header.type == LPC_REC_DISCONNECT) return;
          if (m.header.type != LPC_REC_MESSAGE ||
              !(m.header.flags & LPC_MESSAGE_VIEW)) {
            Unexpected(m, "waiting for a call with a view");
          }
          lpc_view view;
          std::memcpy(&view, m.payload, sizeof view);
          // The server maps what the view names: open the view's file,
          // map the range, and it has the data in memory.
          Fd section(::open((views + std::to_string(view.id)).c_str(),
                            O_RDONLY | O_CLOEXEC));
          if (!section) ThrowErrno("open view " + std::to_string(view.id));
          void* p = ::mmap(nullptr, view.length, PROT_READ,
                           MAP_SHARED | (populate ? MAP_POPULATE : 0),
                           section.get(), off_t(view.offset));
          if (p == MAP_FAILED) ThrowErrno("mmap view");
          CheckStamps(static_cast<const char*>(p), i, i == 0, "lpcfs server");
          ::munmap(p, view.length);
          section.reset();
          WriteRecord(handle.get(), LPC_REC_REPLY, m.header.conn_id,
                      m.header.msg_id, "k", 1);
        }
      },
      [&] {
        // The client's data is in a section it filled: the producer
        // writes where the consumer will read.
        std::string name = cfg.mount + "/" LPC_SECTIONS_DIR "/handoff-" +
                           std::to_string(::getpid());
        Fd section(
            ::open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
        if (!section) ThrowErrno("create " + name);
        if (::ftruncate(section.get(), off_t(kHandoffBytes)) != 0) {
          ThrowErrno("ftruncate section");
        }
        struct stat st {};
        if (::fstat(section.get(), &st) != 0) ThrowErrno("fstat section");
        void* mapped = ::mmap(nullptr, kHandoffBytes, PROT_READ | PROT_WRITE,
                              MAP_SHARED, section.get(), 0);
        if (mapped == MAP_FAILED) ThrowErrno("mmap section");
        char* data = static_cast<char*>(mapped);
        std::memset(data, 1, kHandoffBytes);
        Fd port(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (!port) ThrowErrno("connect to " + path);
        for (size_t i = 0; i < n + 1; ++i) {
          // Produced before the clock starts, and written back, so that
          // no write-back of this hand-off's stores runs while it is
          // timed (as the socket client's buffer is ready before it).
          StampPages(data, i);
          if (::msync(data, kHandoffBytes, MS_SYNC) != 0) ThrowErrno("msync");
          CallBuffer call{};
          call.transfer.send_length = sizeof call.record + sizeof call.view + 1;
          call.record.type = LPC_REC_MESSAGE;
          call.record.flags = LPC_MESSAGE_VIEW;
          call.record.length = sizeof call.view + 1;
          call.view.section = st.st_ino;
          call.view.offset = 0;
          call.view.length = kHandoffBytes;
          call.view.access = LPC_VIEW_READ;
          call.message[0] = 'h';
          uint64_t t0 = NowNs();
          if (::ioctl(port.get(), LPC_IOC_CALL(sizeof call), &call) != 0) {
            ThrowErrno("LPC_IOC_CALL with a view");
          }
          uint64_t t1 = NowNs();
          if (call.transfer.received != 1 ||
              call.record.type != LPC_REC_REPLY) {
            throw std::runtime_error("the call's answer is not a reply");
          }
          // The first hand-off is the checked one, untimed.
          if (i > 0) samples.data()[i - 1] = t1 - t0;
        }
        ::munmap(mapped, kHandoffBytes);
        ::unlink(name.c_str());
      },
      [] {});
  return samples.Copy();
}

std::vector<uint64_t> HandoffUnixStream(const Config& cfg) {
  const size_t n = Iterations(cfg);
  SharedSamples samples(n);
  int sv[2];
  Check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
  Fd client_end(sv[0]), server_end(sv[1]);
  RunPair(
      cfg, "unix stream 64 MiB hand-off",
      [&](int ready) {
        client_end.reset();
        Buffer into(kHandoffBytes);
        SendToken(ready);
        int fd = server_end.get();
        for (size_t i = 0;; ++i) {
          if (!ReadExact(fd, into.get(), kHandoffBytes, "server read")) return;
          CheckStamps(into.get(), i, i == 0, "stream server");
          WriteMessage(fd, "k", 1, "server answer");
        }
      },
      [&] {
        server_end.reset();
        Buffer from(kHandoffBytes);
        int fd = client_end.get();
        for (size_t i = 0; i < n + 1; ++i) {
          StampPages(from.get(), i);
          uint64_t t0 = NowNs();
          const char* p = from.get();
          size_t left = kHandoffBytes;
          while (left > 0) {
            ssize_t w = ::write(fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) ThrowErrno("client write");
            p += w;
            left -= size_t(w);
          }
          char answer;
          if (ReadMessage(fd, &answer, 1, "client read answer") != 1) {
            throw std::runtime_error("the stream server went away");
          }
          uint64_t t1 = NowNs();
          if (i > 0) samples.data()[i - 1] = t1 - t0;
        }
      },
      [&] {
        client_end.reset();
        server_end.reset();
      });
  return samples.Copy();
}

std::vector<uint64_t> Memcpy64MiB(const Config& cfg) {
  const size_t n = Iterations(cfg);
  Buffer from(kHandoffBytes), to(kHandoffBytes);
  std::vector<uint64_t> samples;
  for (size_t i = 0; i < n + 1; ++i) {
    StampPages(from.get(), i);
    uint64_t t0 = NowNs();
    std::memcpy(to.get(), from.get(), kHandoffBytes);
    uint64_t t1 = NowNs();
    CheckStamps(to.get(), i, i == 0, "memcpy");
    if (i > 0) samples.push_back(t1 - t0);
  }
  return samples;
}

}  // namespace lpcbench
