// Client memory for memory windows (core/client_memory.h, lpc.7 "MEMORY
// WINDOWS"): a client process pinned by a pidfd, its memory copied with
// process_vm_readv(2) and process_vm_writev(2).
//
// Those calls need ptrace-attach rights over the client (ptrace(2)
// "Ptrace access mode checking"): the daemon runs as another user, so it
// keeps CAP_SYS_PTRACE when -o memory_windows is given, and only then
// (fs/privileges.h, lpcfs.8 "PRIVILEGES").
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "client_memory.h"

namespace lpc {

class ProcessVmMemory final : public ClientMemory {
 public:
  Result<std::unique_ptr<PinnedProcess>> Pin(const Sender& process) override;
};

// A process held by a pidfd. Transfers go to its pid, which stays its own
// while a window of it lives: the window lives only while its call is
// outstanding, and the calling thread sits in a FUSE request the daemon
// has not answered. Such a thread cannot exit, even after SIGKILL, until
// the daemon replies (fuse-facts "Interrupts"; request_wait_answer() in
// the kernel's fs/fuse/dev.c), so the process cannot be reaped and its
// pid cannot be given to another. The pidfd tells, besides, whether the
// process has exited, which is checked before every transfer.
//
// Transfers reach anonymous memory only. A page of a file mapping may have
// to be read in first, and a page of an lpcfs file (a port mapped
// MAP_PRIVATE, a section) is read through this daemon, whose one thread
// would be waiting in process_vm_readv for itself: every lpcfs request
// would hang for good. So before each transfer the process's mappings
// over the range are looked up (the PROCMAP_QUERY ioctl of
// /proc/PID/maps, Linux 6.11), and the transfer stops at the first one
// that is not anonymous, as it stops at a hole. The look-up and the copy
// are two steps: another thread of the client that maps a file there in
// between is not caught (lpc.7 "BUGS").
class PidfdProcess final : public PinnedProcess {
 public:
  // `maps`: the process's /proc/PID/maps, open; -1 if it could not be.
  PidfdProcess(int pidfd, int maps, uint32_t pid)
      : pidfd_(pidfd), maps_(maps), pid_(pid) {}
  ~PidfdProcess() override;
  PidfdProcess(const PidfdProcess&) = delete;
  PidfdProcess& operator=(const PidfdProcess&) = delete;

  Result<size_t> Read(uint64_t address, std::span<std::byte> into) override;
  Result<size_t> Write(uint64_t address,
                       std::span<const std::byte> from) override;
  // Whether the process has exited (a zombie has: its memory is gone).
  bool Exited() const;

 private:
  // How many bytes from `address` lie in anonymous mappings, up to
  // `count`: where a transfer may go.
  size_t AnonymousBytes(uint64_t address, size_t count) const;

  int pidfd_;
  int maps_;
  uint32_t pid_;
};

}  // namespace lpc
