// The bytes of a section (lpc.7 "SECTIONS"), behind an interface so that
// core/ makes no system calls: the daemon keeps them in anonymous mappings
// that are committed page by page as they are written
// (fs/mapped_section_memory.h), so sizing a large section costs nothing
// until it is used. The heap version here is for unit tests and fuzzers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace lpc {

class SectionMemory {
 public:
  virtual ~SectionMemory() = default;
  // Makes the memory `size` bytes long. Bytes past the old size read as
  // zero, also those a shrink cut off and a later growth brings back: no
  // byte a section held is ever seen again after it was cut. False, with
  // nothing changed, if the memory cannot be had.
  virtual bool Resize(uint64_t size) = 0;
  // The bytes, as long as the last Resize() made them; valid until the next.
  virtual std::span<std::byte> bytes() = 0;
};

// Makes the memory of one new section, 0 bytes long.
using SectionMemoryFactory = std::unique_ptr<SectionMemory> (*)();

// std::vector-backed: zero-fills what it grows by, byte by byte.
std::unique_ptr<SectionMemory> NewHeapSectionMemory();

}  // namespace lpc
