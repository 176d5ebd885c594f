// The buffers of LPC_IOC_CALL and LPC_IOC_TRANSFER (include/lpc.h
// "ioctls"): a struct lpc_transfer, then data[] with records, each a struct
// lpc_record and its payload starting at a multiple of 8 from data[0]. The
// same data[] carries the records sent in and, after the ioctl, the records
// received. No gtest in here: results are values and errno numbers, so the
// helpers also work in forked children.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lpc.h"
#include "test_util.h"

namespace lpctest {

// sizeof(lpc_transfer) + sizeof(lpc_record): the room a reply's payload
// leaves in a call buffer is its size less this (lpc.h LPC_IOC_CALL).
constexpr size_t kCallOverhead =
    sizeof(lpc_transfer) + sizeof(lpc_record);  // 96

class IoctlBuffer {
 public:
  // `total` bytes, all zero: the size the command encodes, so the most the
  // kernel copies in and out. Sizes below 48 are raised to 48, so that the
  // header is always there to read (the command still says `total`).
  explicit IoctlBuffer(size_t total = 4096);

  lpc_transfer& header() { return *reinterpret_cast<lpc_transfer*>(bytes()); }
  const lpc_transfer& header() const {
    return *reinterpret_cast<const lpc_transfer*>(bytes());
  }
  size_t size() const { return total_; }
  char* bytes() { return reinterpret_cast<char*>(words_.data()); }
  const char* bytes() const {
    return reinterpret_cast<const char*>(words_.data());
  }
  // data[]: the records, after the header.
  char* data() { return bytes() + sizeof(lpc_transfer); }
  // Bytes of data[] (size() less the header; 0 if smaller).
  size_t data_size() const;

  // Appends a record at the next 8-aligned offset of data[] and sets
  // header().send_length to its end (unpadded: the last record may end
  // without its padding). `h.length` is set from `payload` unless
  // keep_length. False (nothing changed) if it does not fit.
  bool Add(lpc_record h, std::string_view payload, bool keep_length = false);
  // A client port's plain message: LPC_REC_MESSAGE, every field 0 but
  // length.
  bool AddMessage(std::string_view payload);
  // A server record (SEND, REPLY, ...) with the fields its type uses.
  bool AddCommand(uint32_t type, uint64_t conn, uint64_t msg_id = 0,
                  std::string_view payload = {}, uint32_t flags = 0);

  // Forgets the records added and the header's counts; keeps flags,
  // timeout_ms and max_records.
  void ClearSend();

  // The `header().received` records in data[], as the ioctl returned them
  // (ParseRecords over received_length).
  // False if they are not framed as lpc.h says: each at the 8-aligned
  // offset after the previous one, inside received_length, and
  // received_length no longer than data[] and than the records' padded
  // space.
  bool Parse(std::vector<Record>* out) const;

  // ioctl(fd, LPC_IOC_CALL(size()), bytes()); 0 or errno.
  int Call(int fd);
  // ioctl(fd, LPC_IOC_TRANSFER(size()), bytes()); 0 or errno.
  int Transfer(int fd);

 private:
  size_t total_;
  size_t next_ = 0;              // offset in data[] of the next record to add
  std::vector<uint64_t> words_;  // 8-aligned storage of total_ bytes
};

// Records laid out as in an ioctl's data[] (and a batch read() of a server
// handle, LPC_PORT_READ_BATCHES): each at the 8-aligned offset after the
// previous one, the whole area `length` bytes, the last record's padding
// perhaps left out. False if a record is cut short by the end.
bool ParseRecords(const char* data, size_t length, std::vector<Record>* out);

// One LPC_IOC_CALL of `request` in a buffer of `total` bytes: what came
// back (err ENOBUFS, not sent, if `request` does not fit the buffer).
// `reply` is set only when err is 0 and the buffer held exactly one
// well-framed record; otherwise `framing_ok` is false.
struct CallResult {
  int err = 0;
  lpc_transfer t{};
  Record reply;
  bool framing_ok = false;
};
CallResult CallOnce(int fd, std::string_view request, size_t total = 4096,
                    uint32_t timeout_ms = 0);

// One LPC_IOC_TRANSFER on `fd` that sends nothing and receives what is
// queued (flags, e.g. LPC_TRANSFER_NO_WAIT, and max_records as given).
struct TransferResult {
  int err = 0;
  lpc_transfer t{};
  std::vector<Record> records;
  bool framing_ok = false;
};
TransferResult Receive(int fd, uint32_t flags = 0, uint32_t max_records = 0,
                       size_t total = 4096, uint32_t timeout_ms = 0);

// A CallOnce in a thread of its own, for tests that act while the call
// waits (reply, close, signal it). The destructor joins: a call that never
// returns is ended by the watchdog, which kills the daemon.
class BackgroundCall {
 public:
  BackgroundCall(int fd, std::string request, size_t total = 4096,
                 uint32_t timeout_ms = 0);
  ~BackgroundCall();
  BackgroundCall(const BackgroundCall&) = delete;
  BackgroundCall& operator=(const BackgroundCall&) = delete;

  // The calling thread's id (for WaitUntilBlockedIn and tgkill).
  pid_t tid() const;
  // True once the call has returned.
  bool done() const { return done_; }
  // Joins and returns what the call returned.
  CallResult Wait();

 private:
  std::atomic<pid_t> tid_{0};
  std::atomic<bool> done_{false};
  CallResult result_;
  std::thread thread_;
};

// Syscall set for WaitUntilBlockedIn: a thread waiting in an ioctl.
std::vector<long> IoctlSyscalls();

}  // namespace lpctest
