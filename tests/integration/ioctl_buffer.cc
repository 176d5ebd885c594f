#include "ioctl_buffer.h"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lpctest {

IoctlBuffer::IoctlBuffer(size_t total)
    : total_(total),
      words_((std::max(total, sizeof(lpc_transfer)) + 7) / 8, 0) {}

size_t IoctlBuffer::data_size() const {
  return total_ > sizeof(lpc_transfer) ? total_ - sizeof(lpc_transfer) : 0;
}

bool IoctlBuffer::Add(lpc_record h, std::string_view payload,
                      bool keep_length) {
  if (!keep_length) h.length = static_cast<uint32_t>(payload.size());
  size_t end = next_ + sizeof h + payload.size();
  if (end > data_size()) return false;
  char* data = bytes() + sizeof(lpc_transfer);
  std::memcpy(data + next_, &h, sizeof h);
  if (!payload.empty()) {
    std::memcpy(data + next_ + sizeof h, payload.data(), payload.size());
  }
  header().send_length = static_cast<uint32_t>(end);
  next_ += LPC_RECORD_SPACE(payload.size());
  return true;
}

bool IoctlBuffer::AddMessage(std::string_view payload) {
  lpc_record h{};
  h.type = LPC_REC_MESSAGE;
  return Add(h, payload);
}

bool IoctlBuffer::AddCommand(uint32_t type, uint64_t conn, uint64_t msg_id,
                             std::string_view payload, uint32_t flags) {
  lpc_record h{};
  h.type = type;
  h.conn_id = conn;
  h.msg_id = msg_id;
  h.flags = flags;
  return Add(h, payload);
}

void IoctlBuffer::ClearSend() {
  lpc_transfer& t = header();
  uint32_t flags = t.flags, timeout = t.timeout_ms, max = t.max_records;
  std::fill(words_.begin(), words_.end(), 0);
  t.flags = flags;
  t.timeout_ms = timeout;
  t.max_records = max;
  next_ = 0;
}

bool ParseRecords(const char* data, size_t length, std::vector<Record>* out) {
  out->clear();
  for (size_t off = 0; off < length;
       off += LPC_RECORD_SPACE(out->back().h.length)) {
    if (off + sizeof(lpc_record) > length) return false;
    Record r;
    std::memcpy(&r.h, data + off, sizeof r.h);
    if (off + sizeof r.h + r.h.length > length) return false;
    r.payload.assign(data + off + sizeof r.h, r.h.length);
    out->push_back(std::move(r));
  }
  return true;
}

bool IoctlBuffer::Parse(std::vector<Record>* out) const {
  const lpc_transfer& t = header();
  if (t.received_length > data_size()) {
    out->clear();
    return false;
  }
  // received_length counts the padding, except perhaps the last record's:
  // padding past it would read as one more record, cut short.
  return ParseRecords(bytes() + sizeof(lpc_transfer), t.received_length, out) &&
         out->size() == t.received;
}

namespace {

int Ioctl(int fd, unsigned long cmd, char* buf) {
  return ::ioctl(fd, cmd, buf) < 0 ? errno : 0;
}

}  // namespace

int IoctlBuffer::Call(int fd) {
  return Ioctl(fd, LPC_IOC_CALL(total_), bytes());
}

int IoctlBuffer::Transfer(int fd) {
  return Ioctl(fd, LPC_IOC_TRANSFER(total_), bytes());
}

CallResult CallOnce(int fd, std::string_view request, size_t total,
                    uint32_t timeout_ms) {
  CallResult r;
  IoctlBuffer buf(total);
  buf.header().timeout_ms = timeout_ms;
  if (!buf.AddMessage(request)) {
    r.err = ENOBUFS;  // not sent: the test's buffer is too small
    return r;
  }
  r.err = buf.Call(fd);
  r.t = buf.header();
  if (r.err != 0) return r;
  std::vector<Record> records;
  r.framing_ok = buf.Parse(&records) && records.size() == 1;
  if (r.framing_ok) r.reply = std::move(records[0]);
  return r;
}

TransferResult Receive(int fd, uint32_t flags, uint32_t max_records,
                       size_t total, uint32_t timeout_ms) {
  TransferResult r;
  IoctlBuffer buf(total);
  buf.header().flags = flags;
  buf.header().max_records = max_records;
  buf.header().timeout_ms = timeout_ms;
  r.err = buf.Transfer(fd);
  r.t = buf.header();
  if (r.err == 0) r.framing_ok = buf.Parse(&r.records);
  return r;
}

BackgroundCall::BackgroundCall(int fd, std::string request, size_t total,
                               uint32_t timeout_ms)
    : thread_([this, fd, request = std::move(request), total, timeout_ms] {
        tid_ = gettid();
        result_ = CallOnce(fd, request, total, timeout_ms);
        done_ = true;
      }) {}

BackgroundCall::~BackgroundCall() {
  if (thread_.joinable()) thread_.join();
}

pid_t BackgroundCall::tid() const {
  WaitFor([this] { return tid_ != 0; });
  return tid_;
}

CallResult BackgroundCall::Wait() {
  if (thread_.joinable()) thread_.join();
  return result_;
}

std::vector<long> IoctlSyscalls() { return {SYS_ioctl}; }

}  // namespace lpctest
