// lpcfs records as a server and a client exchange them: plain read() and
// write() of one record on a server handle, and the buffers of the
// LPC_IOC_CALL / LPC_IOC_TRANSFER ioctls (include/lpc.h, lpc.7 "IOCTLS").
#pragma once

#include <lpc.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "figures.h"
#include "util.h"

namespace lpcbench {

// A port name under the mount, unique to this process.
std::string PortPath(const Config& cfg, const char* tag);

const char* RecordName(uint32_t type);

// One record read from a server handle or out of a transfer buffer;
// payload points into that buffer.
struct Record {
  lpc_record header;
  const char* payload;
};

// One read() of a record from a server handle.
Record ReadRecord(int handle, char (&buf)[LPC_RECORD_MAX]);

// One write() of a record to a server handle.
void WriteRecord(int handle, uint32_t type, uint64_t conn_id,
                 uint64_t msg_id = 0, const char* payload = nullptr,
                 size_t length = 0);

// Accepts a CONNECT record unless the port auto-accepted it.
void AcceptConnect(int handle, const Record& r);

[[noreturn]] void Unexpected(const Record& r, const char* while_doing);

// Creates a port; returns its server handle.
Fd CreatePort(const std::string& path);

// Writes LPC_REC_PORT_OPTIONS with `flags` (LPC_PORT_*) to a server handle.
void SetPortOptions(int handle, uint32_t flags);
// LPC_REC_PORT_OPTIONS with `flags` and a struct lpc_port_limits payload:
// the port's largest message becomes `max_message`.
void SetPortLimits(int handle, uint32_t max_message, uint32_t flags = 0);
// SetPortOptions(handle, LPC_PORT_AUTO_ACCEPT).
void SetAutoAccept(int handle);

// One read() of a server handle with LPC_PORT_READ_BATCHES: every record
// it returned, pointing into `buf`, whose size is the read's.
std::vector<Record> ReadRecords(int handle, std::vector<char>& buf);

// One ioctl buffer: struct lpc_transfer, then data[] with records at
// multiples of 8 bytes. Its size goes into the command
// (LPC_IOC_TRANSFER(total())), so the kernel copies all of it in and out
// on every call: keep it no larger than the batches need.
class TransferBuffer {
 public:
  // total: 96..LPC_IOCTL_MAX bytes.
  explicit TransferBuffer(size_t total);

  lpc_transfer& header() {
    return *reinterpret_cast<lpc_transfer*>(words_.data());
  }
  const lpc_transfer& header() const {
    return *reinterpret_cast<const lpc_transfer*>(words_.data());
  }
  size_t total() const { return total_; }

  // Starts the next ioctl: a zeroed header with these inputs, nothing to
  // send yet.
  void Reset(uint32_t flags = 0, uint32_t timeout_ms = 0);
  // Appends a record to send (fields not given are 0); false if data[]
  // has no room for it.
  bool Append(uint32_t type, uint64_t conn_id, uint64_t msg_id,
              const char* payload, size_t length);
  // Records appended since Reset().
  size_t to_send() const { return to_send_; }

  // The ioctls; they return 0 or the errno.
  int Call(int fd);
  int Transfer(int fd);

  // The records the last ioctl received (header().received of them);
  // throws if data[] does not hold what the header says.
  std::vector<Record> Received() const;

 private:
  char* data() {
    return reinterpret_cast<char*>(words_.data()) + sizeof(lpc_transfer);
  }
  const char* data() const {
    return reinterpret_cast<const char*>(words_.data()) + sizeof(lpc_transfer);
  }

  size_t total_;
  std::vector<uint64_t> words_;  // the buffer, 8-byte aligned
  size_t to_send_ = 0;
};

}  // namespace lpcbench
