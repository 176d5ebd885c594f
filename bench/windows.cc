// Memory window bandwidth (issue 8; lpc.7 "MEMORY WINDOWS"): a server
// reads a client's 64 MiB buffer through /lpc/.windows/ID, 1 MiB per
// pread(), next to the same server reading it with process_vm_readv(2)
// itself, the floor of what the daemon does per chunk.

#include <fcntl.h>
#include <lpc.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "figures.h"
#include "pair.h"
#include "records.h"
#include "util.h"

namespace lpcbench {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Slots of the shared record of one run: what the server measured.
enum WindowSlot { kMebibytes = 0, kElapsedNs = 1, kWindowSlots = 2 };

// The client's side: a buffer of window_mib MiB, every page touched (a
// read of a page never written would copy the shared zero page), and one
// LPC_IOC_CALL whose message names it, attached as a window when
// `as_window`, else only as its address in the message. It returns when
// the server has read it all and replied.
void CallWithBuffer(const std::string& path, size_t bytes, bool as_window) {
  std::vector<char> buffer(bytes, 'w');
  Fd port(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!port) ThrowErrno("connect to " + path);
  lpc_window w{};
  w.address = reinterpret_cast<uint64_t>(buffer.data());
  w.length = bytes;
  w.access = LPC_WINDOW_READ;
  // The message is the struct itself, so the server learns the address
  // either way; attached, the daemon's copy with the id comes first.
  struct {
    lpc_transfer t;
    lpc_record r;
    lpc_window first;   // the attribute, or the message
    lpc_window second;  // the message after the attribute
    char reply[256];
  } call{};
  call.r.type = LPC_REC_MESSAGE;
  call.first = w;
  size_t payload = sizeof w;
  if (as_window) {
    call.r.flags = LPC_MESSAGE_WINDOW;
    call.second = w;
    payload += sizeof w;
  }
  call.r.length = uint32_t(payload);
  call.t.send_length = uint32_t(sizeof call.r + payload);
  if (::ioctl(port.get(), LPC_IOC_CALL(sizeof call), &call) != 0) {
    ThrowErrno("LPC_IOC_CALL with a 64 MiB buffer");
  }
}

// The server's side: reads the call, opens what reads the client's
// memory (`open_reader`), reads the whole buffer `passes` times in 1 MiB
// chunks with `read_chunk(offset, into)`, records the time, replies.
template <class Open, class ReadChunk>
void ServeBuffer(int handle, size_t bytes, size_t passes, SharedSamples& out,
                 Open open_reader, ReadChunk read_chunk) {
  char buf[LPC_RECORD_MAX];
  Record r = ReadRecord(handle, buf);
  if (r.header.type == LPC_REC_CONNECT) r = ReadRecord(handle, buf);
  if (r.header.type != LPC_REC_MESSAGE) Unexpected(r, "waiting for the call");
  // The window as the daemon delivered it (its id filled in), or as the
  // client sent it in the message.
  lpc_window w;
  if (r.header.length < sizeof w) Unexpected(r, "no window in the call");
  std::memcpy(&w, r.payload, sizeof w);
  open_reader(r.header, w);
  std::vector<char> chunk(kMiB);
  std::memset(chunk.data(), 0, chunk.size());
  uint64_t t0 = NowNs();
  for (size_t pass = 0; pass < passes; ++pass) {
    for (size_t off = 0; off < bytes; off += kMiB) {
      size_t n = read_chunk(w, off, chunk.data());
      if (n != kMiB) {
        throw std::runtime_error("read " + std::to_string(n) + " bytes at " +
                                 std::to_string(off) + ", not 1 MiB");
      }
    }
  }
  uint64_t t1 = NowNs();
  if (chunk[0] != 'w') throw std::runtime_error("read other bytes than sent");
  out.data()[kMebibytes] = passes * (bytes / kMiB);
  out.data()[kElapsedNs] = t1 - t0;
  WriteRecord(handle, LPC_REC_REPLY, r.header.conn_id, r.header.msg_id, "ok",
              2);
}

template <class Open, class ReadChunk>
Throughput BufferRead(const Config& cfg, const char* what, const char* tag,
                      bool as_window, Open open_reader, ReadChunk read_chunk) {
  const size_t bytes = cfg.window_mib * kMiB;
  const size_t passes = cfg.window_passes;
  SharedSamples out(kWindowSlots);
  std::string path = PortPath(cfg, tag);
  RunPair(
      cfg, what,
      [&](int ready) {
        Fd handle = CreatePort(path);
        SetAutoAccept(handle.get());
        SendToken(ready);
        ServeBuffer(handle.get(), bytes, passes, out, open_reader, read_chunk);
      },
      [&] { CallWithBuffer(path, bytes, as_window); }, [] {});
  if (out.data()[kElapsedNs] == 0) throw std::runtime_error("no duration");
  return {out.data()[kMebibytes], out.data()[kElapsedNs]};
}

// Whether the daemon takes memory windows: a call with a one-byte window
// and a 1 ms timeout fails EOPNOTSUPP at once if it does not, else
// ETIMEDOUT (nobody answers it).
bool DaemonTakesWindows(const Config& cfg) {
  std::string path = PortPath(cfg, "window-probe");
  Fd handle = CreatePort(path);
  SetAutoAccept(handle.get());
  Fd port(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!port) ThrowErrno("connect to " + path);
  char byte = 0;
  struct {
    lpc_transfer t;
    lpc_record r;
    lpc_window window;
    char message[8];
    char reply[64];
  } call{};
  call.t.timeout_ms = 1;
  call.r.type = LPC_REC_MESSAGE;
  call.r.flags = LPC_MESSAGE_WINDOW;
  call.r.length = sizeof call.window + 1;
  call.window.address = reinterpret_cast<uint64_t>(&byte);
  call.window.length = 1;
  call.window.access = LPC_WINDOW_READ;
  call.t.send_length = sizeof call.r + call.r.length;
  if (::ioctl(port.get(), LPC_IOC_CALL(sizeof call), &call) == 0) return true;
  return errno != EOPNOTSUPP;
}

}  // namespace

Throughput WindowRead(const Config& cfg) {
  if (!DaemonTakesWindows(cfg)) {
    throw Unavailable("the daemon runs without -o memory_windows");
  }
  Fd file;
  return BufferRead(
      cfg, "window read", "window", true,
      [&](const lpc_record&, const lpc_window& w) {
        std::string name =
            cfg.mount + "/" LPC_WINDOWS_DIR "/" + std::to_string(w.id);
        file.reset(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
        if (!file) ThrowErrno("open " + name);
      },
      [&](const lpc_window&, size_t off, char* into) {
        ssize_t n = ::pread(file.get(), into, kMiB, off_t(off));
        if (n < 0) ThrowErrno("pread of the window");
        return size_t(n);
      });
}

Throughput ProcessVmReadv(const Config& cfg) {
  pid_t client = 0;
  return BufferRead(
      cfg, "process_vm_readv", "vm-readv", false,
      [&](const lpc_record& h, const lpc_window&) { client = pid_t(h.pid); },
      [&](const lpc_window& w, size_t off, char* into) {
        iovec local{into, kMiB};
        iovec remote{reinterpret_cast<void*>(w.address + off), kMiB};
        ssize_t n = ::process_vm_readv(client, &local, 1, &remote, 1, 0);
        if (n < 0) ThrowErrno("process_vm_readv of the client");
        return size_t(n);
      });
}

}  // namespace lpcbench
