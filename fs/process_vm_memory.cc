#include "process_vm_memory.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "proc_status.h"

namespace lpc {
namespace {

// The PROCMAP_QUERY ioctl of /proc/PID/maps (include/uapi/linux/fs.h,
// Linux 6.11); Debian 12's headers predate it.
struct ProcmapQuery {
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
static_assert(sizeof(ProcmapQuery) == 104);
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
// The mapping that covers the address, or else the next one above it.
constexpr uint64_t kCoveringOrNextVma = 0x10;

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
  std::string maps = "/proc/" + std::to_string(process.pid) + "/maps";
  int maps_fd = ::open(maps.c_str(), O_RDONLY | O_CLOEXEC);
  auto pinned = std::make_unique<PidfdProcess>(pidfd, maps_fd, process.pid);
  // The pidfd holds whatever process has the pid now; its start time,
  // read after the pidfd was opened, says whether that is the caller.
  std::optional<uint64_t> start = ReadProcStartTime(process.pid);
  if (!start || *start != process.start_time || pinned->Exited()) {
    return Error::kBrokenPipe;
  }
  return std::unique_ptr<PinnedProcess>(std::move(pinned));
}

PidfdProcess::~PidfdProcess() {
  ::close(pidfd_);
  if (maps_ >= 0) ::close(maps_);
}

size_t PidfdProcess::AnonymousBytes(uint64_t address, size_t count) const {
  if (maps_ < 0) return 0;  // the maps of the pid are gone: so is it
  const uint64_t end = address + count;
  uint64_t at = address;
  while (at < end) {
    ProcmapQuery q{};
    q.size = sizeof q;
    q.query_flags = kCoveringOrNextVma;
    q.query_addr = at;
    if (::ioctl(maps_, kProcmapQuery, &q) != 0) {
      // A kernel before 6.11 cannot say: the transfer goes as asked.
      if (errno == ENOTTY) return count;
      break;  // ENOENT: nothing mapped at or above `at`
    }
    if (q.vma_start > at) break;  // a hole
    if (q.inode != 0 || q.dev_major != 0 || q.dev_minor != 0) break;
    at = q.vma_end;
  }
  return static_cast<size_t>(std::min(at, end) - address);
}

// A pidfd polls readable once its process has exited.
bool PidfdProcess::Exited() const {
  struct pollfd p = {pidfd_, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

Result<size_t> PidfdProcess::Read(uint64_t address, std::span<std::byte> into) {
  if (Exited()) return Error::kBrokenPipe;
  into = into.first(AnonymousBytes(address, into.size()));
  if (into.empty()) return Error::kBadAddress;
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
  from = from.first(AnonymousBytes(address, from.size()));
  if (from.empty()) return Error::kBadAddress;
  iovec local{const_cast<std::byte*>(from.data()), from.size()};
  iovec remote{reinterpret_cast<void*>(address), from.size()};
  ssize_t n =
      process_vm_writev(static_cast<pid_t>(pid_), &local, 1, &remote, 1, 0);
  if (n < 0) return ErrorOfTransfer(errno);
  return static_cast<size_t>(n);
}

}  // namespace lpc
