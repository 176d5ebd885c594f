#include "process_vm_memory.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "proc_status.h"

namespace lpc {
namespace {

// process_vm_readv(2) and process_vm_writev(2) fail EFAULT when nothing
// could be copied, ESRCH when the process is gone and EPERM without the
// rights to reach it; a copy that stops part way returns the bytes done.
Error ErrorOfTransfer(int err) {
  switch (err) {
    case ESRCH:
      return Error::kBrokenPipe;
    case EPERM:
      return Error::kNotPermitted;
    default:
      // EFAULT, and ENOMEM (the kernel's page list could not be had),
      // which the caller cannot tell from a fault: the bytes did not move.
      return Error::kBadAddress;
  }
}

}  // namespace

Result<std::unique_ptr<PinnedProcess>> ProcessVmMemory::Pin(
    const Sender& process) {
  // A caller outside the daemon's pid namespace has pid 0: there is no
  // process to name.
  if (process.pid == 0 || process.start_time == 0) {
    return Error::kNotSupported;
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, process.pid, 0));
  if (pidfd < 0) return Error::kBrokenPipe;
  auto pinned = std::make_unique<PidfdProcess>(pidfd, process.pid);
  // The pidfd holds whatever process has the pid now; its start time,
  // read after the pidfd was opened, says whether that is the caller.
  std::optional<uint64_t> start = ReadProcStartTime(process.pid);
  if (!start || *start != process.start_time || pinned->Exited()) {
    return Error::kBrokenPipe;
  }
  return std::unique_ptr<PinnedProcess>(std::move(pinned));
}

PidfdProcess::~PidfdProcess() { ::close(pidfd_); }

// A pidfd polls readable once its process has exited.
bool PidfdProcess::Exited() const {
  struct pollfd p = {pidfd_, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

Result<size_t> PidfdProcess::Read(uint64_t address, std::span<std::byte> into) {
  if (Exited()) return Error::kBrokenPipe;
  iovec local{into.data(), into.size()};
  iovec remote{reinterpret_cast<void*>(address), into.size()};
  ssize_t n =
      process_vm_readv(static_cast<pid_t>(pid_), &local, 1, &remote, 1, 0);
  if (n < 0) return ErrorOfTransfer(errno);
  return static_cast<size_t>(n);
}

Result<size_t> PidfdProcess::Write(uint64_t address,
                                   std::span<const std::byte> from) {
  if (Exited()) return Error::kBrokenPipe;
  iovec local{const_cast<std::byte*>(from.data()), from.size()};
  iovec remote{reinterpret_cast<void*>(address), from.size()};
  ssize_t n =
      process_vm_writev(static_cast<pid_t>(pid_), &local, 1, &remote, 1, 0);
  if (n < 0) return ErrorOfTransfer(errno);
  return static_cast<size_t>(n);
}

}  // namespace lpc
