#include "records.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "pair.h"

namespace lpcbench {

std::string PortPath(const Config& cfg, const char* tag) {
  return cfg.mount + "/lpc-bench-" + std::to_string(::getpid()) + "-" + tag;
}

const char* RecordName(uint32_t type) {
  switch (type) {
    case LPC_REC_CONNECT:
      return "CONNECT";
    case LPC_REC_MESSAGE:
      return "MESSAGE";
    case LPC_REC_DISCONNECT:
      return "DISCONNECT";
    case LPC_REC_CANCEL:
      return "CANCEL";
    case LPC_REC_REPLY:
      return "REPLY";
    default:
      return "unknown";
  }
}

Record ReadRecord(int handle, char (&buf)[LPC_RECORD_MAX]) {
  ssize_t n = ::read(handle, buf, sizeof buf);
  if (n < 0) ThrowErrno("read server handle");
  if (size_t(n) < sizeof(lpc_record)) {
    throw std::runtime_error("server handle read " + std::to_string(n) +
                             " bytes, less than a record header");
  }
  Record r;
  std::memcpy(&r.header, buf, sizeof r.header);
  if (sizeof(lpc_record) + r.header.length != size_t(n)) {
    throw std::runtime_error("record length " +
                             std::to_string(r.header.length) +
                             " does not match read size " + std::to_string(n));
  }
  r.payload = buf + sizeof(lpc_record);
  return r;
}

void WriteRecord(int handle, uint32_t type, uint64_t conn_id, uint64_t msg_id,
                 const char* payload, size_t length) {
  char buf[sizeof(lpc_record) + LPC_MAX_MESSAGE];
  lpc_record h{};
  h.type = type;
  h.length = uint32_t(length);
  h.conn_id = conn_id;
  h.msg_id = msg_id;
  std::memcpy(buf, &h, sizeof h);
  if (length > 0) std::memcpy(buf + sizeof h, payload, length);
  WriteMessage(handle, buf, sizeof h + length, "write server record");
}

void AcceptConnect(int handle, const Record& r) {
  if ((r.header.flags & LPC_CONNECT_ACCEPTED) == 0) {
    WriteRecord(handle, LPC_REC_ACCEPT, r.header.conn_id);
  }
}

[[noreturn]] void Unexpected(const Record& r, const char* while_doing) {
  throw std::runtime_error(std::string("unexpected ") +
                           RecordName(r.header.type) + " record (type " +
                           std::to_string(r.header.type) + ") " + while_doing);
}

Fd CreatePort(const std::string& path) {
  Fd h(::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
  if (!h) ThrowErrno("create port " + path);
  return h;
}
void SetPortOptions(int handle, uint32_t flags) {
  lpc_record h{};
  h.type = LPC_REC_PORT_OPTIONS;
  h.flags = flags;
  WriteMessage(handle, reinterpret_cast<const char*>(&h), sizeof h,
               "write LPC_REC_PORT_OPTIONS");
}

void SetPortLimits(int handle, uint32_t max_message, uint32_t flags) {
  struct {
    lpc_record h;
    lpc_port_limits limits;
  } rec{};
  static_assert(sizeof rec == sizeof(lpc_record) + sizeof(lpc_port_limits));
  rec.h.type = LPC_REC_PORT_OPTIONS;
  rec.h.length = sizeof rec.limits;
  rec.h.flags = flags;
  rec.limits.max_message = max_message;
  WriteMessage(handle, reinterpret_cast<const char*>(&rec), sizeof rec,
               "write LPC_REC_PORT_OPTIONS with limits");
}

void SetAutoAccept(int handle) { SetPortOptions(handle, LPC_PORT_AUTO_ACCEPT); }

std::vector<Record> ReadRecords(int handle, std::vector<char>& buf) {
  ssize_t n = ::read(handle, buf.data(), buf.size());
  if (n < 0) ThrowErrno("read server handle");
  std::vector<Record> records;
  // Records start at multiples of 8; the last one ends the read.
  for (size_t off = 0; off < size_t(n);
       off += LPC_RECORD_SPACE(records.back().header.length)) {
    Record r;
    if (off + sizeof r.header > size_t(n)) {
      throw std::runtime_error("batch read of " + std::to_string(n) +
                               " bytes ends inside a record header");
    }
    std::memcpy(&r.header, buf.data() + off, sizeof r.header);
    if (off + sizeof r.header + r.header.length > size_t(n)) {
      throw std::runtime_error("batch read of " + std::to_string(n) +
                               " bytes ends inside a payload");
    }
    r.payload = buf.data() + off + sizeof r.header;
    records.push_back(r);
  }
  return records;
}

TransferBuffer::TransferBuffer(size_t total)
    : total_(total), words_((total + 7) / 8) {
  if (total < 2 * sizeof(lpc_record) || total > LPC_IOCTL_MAX) {
    throw std::invalid_argument("transfer buffer of " + std::to_string(total) +
                                " bytes");
  }
  Reset();
}

void TransferBuffer::Reset(uint32_t flags, uint32_t timeout_ms) {
  header() = lpc_transfer{};
  header().flags = flags;
  header().timeout_ms = timeout_ms;
  to_send_ = 0;
}

bool TransferBuffer::Append(uint32_t type, uint64_t conn_id, uint64_t msg_id,
                            const char* payload, size_t length) {
  size_t off = header().send_length;
  size_t room = total_ - sizeof(lpc_transfer);
  if (off + sizeof(lpc_record) + length > room) return false;
  lpc_record h{};
  h.type = type;
  h.length = uint32_t(length);
  h.conn_id = conn_id;
  h.msg_id = msg_id;
  std::memcpy(data() + off, &h, sizeof h);
  if (length > 0) std::memcpy(data() + off + sizeof h, payload, length);
  header().send_length =
      uint32_t(std::min(off + LPC_RECORD_SPACE(length), room));
  ++to_send_;
  return true;
}

int TransferBuffer::Call(int fd) {
  return ::ioctl(fd, LPC_IOC_CALL(total_), words_.data()) == 0 ? 0 : errno;
}

int TransferBuffer::Transfer(int fd) {
  return ::ioctl(fd, LPC_IOC_TRANSFER(total_), words_.data()) == 0 ? 0 : errno;
}

std::vector<Record> TransferBuffer::Received() const {
  const lpc_transfer& t = header();
  size_t room = total_ - sizeof(lpc_transfer);
  if (t.received_length > room) {
    throw std::runtime_error("received_length " +
                             std::to_string(t.received_length) +
                             " exceeds the buffer");
  }
  std::vector<Record> records;
  records.reserve(t.received);
  size_t off = 0;
  for (uint32_t i = 0; i < t.received; ++i) {
    if (off + sizeof(lpc_record) > t.received_length) {
      throw std::runtime_error("record " + std::to_string(i) + " of " +
                               std::to_string(t.received) +
                               " lies past received_length");
    }
    Record r;
    std::memcpy(&r.header, data() + off, sizeof r.header);
    if (off + sizeof(lpc_record) + r.header.length > t.received_length) {
      throw std::runtime_error("record " + std::to_string(i) +
                               " payload lies past received_length");
    }
    r.payload = data() + off + sizeof(lpc_record);
    records.push_back(r);
    off += LPC_RECORD_SPACE(r.header.length);
  }
  return records;
}

}  // namespace lpcbench
