// A ClientMemory for unit tests (core/client_memory.h): each client
// process an array at a base address, transfers counted, exit and faults
// as the daemon's ProcessVmMemory reports them.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "client_memory.h"

namespace lpc::testing {

// One client's address space: `base` .. base + bytes.size() is mapped.
// Counts the transfers that reached it.
struct FakeSpace {
  uint64_t base = 0x10000;
  std::vector<std::byte> bytes;
  bool exited = false;
  int transfers = 0;
};

class FakeProcess final : public PinnedProcess {
 public:
  explicit FakeProcess(FakeSpace* space) : space_(space) {}
  Result<size_t> Read(uint64_t address, std::span<std::byte> into) override {
    auto n = Reach(address, into.size());
    if (n) std::memcpy(into.data(), At(address), n.value());
    return n;
  }
  Result<size_t> Write(uint64_t address,
                       std::span<const std::byte> from) override {
    auto n = Reach(address, from.size());
    if (n) std::memcpy(At(address), from.data(), n.value());
    return n;
  }

 private:
  // As process_vm_readv: the bytes up to the end of the mapping, or
  // EFAULT if none.
  Result<size_t> Reach(uint64_t address, size_t count) {
    if (space_->exited) return Error::kBrokenPipe;
    uint64_t end = space_->base + space_->bytes.size();
    if (address < space_->base || address >= end) return Error::kBadAddress;
    ++space_->transfers;
    return static_cast<size_t>(std::min<uint64_t>(count, end - address));
  }
  std::byte* At(uint64_t address) {
    return space_->bytes.data() + (address - space_->base);
  }
  FakeSpace* space_;
};

// Processes by pid; pid 0 is unknown, as for the real one.
class FakeMemory final : public ClientMemory {
 public:
  Result<std::unique_ptr<PinnedProcess>> Pin(const Sender& process) override {
    if (process.pid == 0) return Error::kNotSupported;
    auto it = spaces.find(process.pid);
    if (it == spaces.end() || it->second.exited) return Error::kBrokenPipe;
    ++pinned;
    return std::unique_ptr<PinnedProcess>(new FakeProcess(&it->second));
  }
  std::map<uint32_t, FakeSpace> spaces;
  int pinned = 0;
};

}  // namespace lpc::testing
