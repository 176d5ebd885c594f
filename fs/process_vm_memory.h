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
class PidfdProcess final : public PinnedProcess {
 public:
  PidfdProcess(int pidfd, uint32_t pid) : pidfd_(pidfd), pid_(pid) {}
  ~PidfdProcess() override;
  PidfdProcess(const PidfdProcess&) = delete;
  PidfdProcess& operator=(const PidfdProcess&) = delete;

  Result<size_t> Read(uint64_t address, std::span<std::byte> into) override;
  Result<size_t> Write(uint64_t address,
                       std::span<const std::byte> from) override;
  // Whether the process has exited (a zombie has: its memory is gone).
  bool Exited() const;

 private:
  int pidfd_;
  uint32_t pid_;
};

}  // namespace lpc
