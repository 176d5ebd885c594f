// The memory of a client process, as a memory window reaches it (lpc.7
// "MEMORY WINDOWS"). An interface, so that core/ makes no system call:
// the daemon pins the process with a pidfd and copies with
// process_vm_readv/process_vm_writev (fs/process_vm_memory.h); unit tests use
// an array.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "caller.h"
#include "errors.h"

namespace lpc {

// One client process, held for as long as a window of it lives.
// Addresses are the client's own. A transfer that stops part way returns
// the bytes done; one that does nothing fails: kBadAddress (the client
// has no memory there), kBrokenPipe (the process has exited),
// kNotPermitted (the daemon may not reach it).
class PinnedProcess {
 public:
  virtual ~PinnedProcess() = default;
  virtual Result<size_t> Read(uint64_t address, std::span<std::byte> into) = 0;
  virtual Result<size_t> Write(uint64_t address,
                               std::span<const std::byte> from) = 0;
};

class ClientMemory {
 public:
  virtual ~ClientMemory() = default;
  // Holds `process` (its pid and start time) so that later transfers
  // reach that process or none: kBrokenPipe if it is gone or the pid
  // names another process now, kNotSupported if its pid is unknown (a
  // caller outside the daemon's pid namespace).
  virtual Result<std::unique_ptr<PinnedProcess>> Pin(const Sender& process) = 0;
};

}  // namespace lpc
