#include "mapped_section_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace lpc {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

uint64_t RoundUpToPage(uint64_t n) {
  const uint64_t page = PageSize();
  return (n + page - 1) / page * page;
}

class MappedSectionMemory final : public SectionMemory {
 public:
  MappedSectionMemory() = default;
  MappedSectionMemory(const MappedSectionMemory&) = delete;
  MappedSectionMemory& operator=(const MappedSectionMemory&) = delete;
  ~MappedSectionMemory() override {
    if (base_) munmap(base_, mapped_);
  }

  bool Resize(uint64_t size) override {
    if (size > SIZE_MAX - PageSize()) return false;
    const size_t want = static_cast<size_t>(RoundUpToPage(size));
    if (want != mapped_ && !Remap(want)) return false;
    if (size < size_ && want > size) {
      // The pages past the new end went back to the kernel with the
      // mremap; what is left of the last page past the end must read as
      // zero if the section grows again.
      std::memset(base_ + size, 0, static_cast<size_t>(want - size));
    }
    size_ = static_cast<size_t>(size);
    return true;
  }

  std::span<std::byte> bytes() override {
    return {reinterpret_cast<std::byte*>(base_), size_};
  }

 private:
  // Makes the mapping `want` bytes (a multiple of the page size). Pages
  // it grows by are new anonymous pages, zero until written.
  bool Remap(size_t want) {
    void* moved;
    if (want == 0) {
      munmap(base_, mapped_);
      moved = nullptr;
    } else if (!base_) {
      moved = mmap(nullptr, want, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    } else {
      moved = mremap(base_, mapped_, want, MREMAP_MAYMOVE);
    }
    if (moved == MAP_FAILED) return false;
    base_ = static_cast<char*>(moved);
    mapped_ = want;
    return true;
  }

  char* base_ = nullptr;
  size_t mapped_ = 0;  // bytes mapped: size_ rounded up to a page
  size_t size_ = 0;
};

}  // namespace

std::unique_ptr<SectionMemory> NewMappedSectionMemory() {
  return std::make_unique<MappedSectionMemory>();
}

}  // namespace lpc
