#include "section_table.h"

#include <cstring>
#include <utility>

namespace lpc {

namespace {

// The heap memory of section_memory.h.
class HeapSectionMemory final : public SectionMemory {
 public:
  bool Resize(uint64_t size) override {
    if (size > bytes_.max_size()) return false;
    try {
      bytes_.resize(static_cast<size_t>(size));
    } catch (const std::bad_alloc&) {
      return false;
    }
    return true;
  }
  std::span<std::byte> bytes() override { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

}  // namespace

std::unique_ptr<SectionMemory> NewHeapSectionMemory() {
  return std::make_unique<HeapSectionMemory>();
}

Section::Section(NodeId node, QuotaCharge charge,
                 std::unique_ptr<SectionMemory> memory)
    : node_(node), charge_(std::move(charge)), memory_(std::move(memory)) {}

Status Section::Resize(uint64_t size, uint64_t max) {
  if (size > max) return Error::kFileTooBig;
  if (size == size_) return Ok{};
  const size_t old = charge_.amount();
  // The quota first: a refused size must not cost a reallocation.
  if (Status charged = charge_.Resize(static_cast<size_t>(size)); !charged) {
    return charged;
  }
  if (!memory_->Resize(size)) {
    charge_.Resize(old);  // a shrink always succeeds
    return Error::kNoSpace;
  }
  size_ = size;
  return Ok{};
}

std::vector<std::byte> Section::Read(uint64_t offset, size_t count) {
  if (offset >= size_) return {};
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(count, size_ - offset));
  std::span<const std::byte> from = memory_->bytes().subspan(offset, n);
  return {from.begin(), from.end()};
}

Status Section::Write(uint64_t offset, std::span<const std::byte> data,
                      uint64_t max) {
  if (data.empty()) return Ok{};
  // Past what a file may reach, as write(2) past RLIMIT_FSIZE or
  // s_maxbytes says it.
  if (offset > max || data.size() > max - offset) return Error::kFileTooBig;
  const uint64_t end = offset + data.size();
  if (end > size_) {
    if (Status grown = Resize(end, max); !grown) return grown;
  }
  std::memcpy(memory_->bytes().data() + offset, data.data(), data.size());
  return Ok{};
}

Section& SectionTable::Add(NodeId node, QuotaCharge charge) {
  auto section = std::make_unique<Section>(node, std::move(charge), memory_());
  Section& added = *section;
  sections_[node] = std::move(section);
  return added;
}

Section* SectionTable::Find(NodeId node) {
  auto it = sections_.find(node);
  return it == sections_.end() ? nullptr : it->second.get();
}

void SectionTable::Open(Section& section, HandleId id, int access) {
  handles_[id] = SectionHandle{section.node(), access};
  ++section.handles_;
}

const SectionHandle* SectionTable::FindHandle(HandleId id) const {
  auto it = handles_.find(id);
  return it == handles_.end() ? nullptr : &it->second;
}

Section* SectionTable::SectionOf(HandleId id) {
  const SectionHandle* h = FindHandle(id);
  return h ? Find(h->section) : nullptr;
}

std::optional<NodeId> SectionTable::Close(HandleId id) {
  auto it = handles_.find(id);
  if (it == handles_.end()) return std::nullopt;
  NodeId node = it->second.section;
  handles_.erase(it);
  Section* section = Find(node);
  if (!section) return std::nullopt;
  --section->handles_;
  return EraseIfUnheld(*section);
}

void SectionTable::AddView(Section& section) { ++section.views_; }

std::optional<NodeId> SectionTable::RemoveView(NodeId node) {
  Section* section = Find(node);
  if (!section || section->views_ == 0) return std::nullopt;
  --section->views_;
  return EraseIfUnheld(*section);
}

std::optional<NodeId> SectionTable::EraseIfUnheld(Section& section) {
  if (section.held()) return std::nullopt;
  NodeId node = section.node();
  // Frees the memory and gives the quota charge back.
  sections_.erase(node);
  return node;
}

}  // namespace lpc
