// Sections (lpc.7 "SECTIONS"): memory that processes share by mapping a
// file of /lpc/.sections. A section lives while a handle (an open file;
// a mapping keeps its file open) or a view refers to it. When the last
// goes, the table forgets it, its memory is freed and its quota charge
// given back, and the Broker drops its name.
//
// Plain data, no locking: the Broker owns one and guards it with its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "errors.h"
#include "ids.h"
#include "quota.h"
#include "section_memory.h"

namespace lpc {

class Section {
 public:
  // `charge` is a kSectionBytes charge of the creator, of 0 bytes.
  Section(NodeId node, QuotaCharge charge,
          std::unique_ptr<SectionMemory> memory);

  NodeId node() const { return node_; }
  uint64_t size() const { return size_; }
  // Who pays for the bytes in quota: the creator, whoever owns it now.
  uint32_t charged_uid() const { return charge_.uid(); }

  // ftruncate(2). kFileTooBig past `max`, kQuotaExceeded past the charged
  // user's quota_section_bytes, kNoSpace if the memory cannot be had; on
  // failure nothing changes. Bytes past the old size read as zero.
  Status Resize(uint64_t size, uint64_t max);
  // pread(2): up to `count` bytes from `offset`, fewer at the end, none
  // past it.
  std::vector<std::byte> Read(uint64_t offset, size_t count);
  // pwrite(2): stores `data` at `offset`. A write that ends past the size
  // grows the section first, as Resize() does, or fails as it would.
  Status Write(uint64_t offset, std::span<const std::byte> data, uint64_t max);

  // What keeps it alive.
  size_t handles() const { return handles_; }
  size_t views() const { return views_; }
  bool held() const { return handles_ + views_ > 0; }

 private:
  friend class SectionTable;

  NodeId node_;
  uint64_t size_ = 0;
  QuotaCharge charge_;
  std::unique_ptr<SectionMemory> memory_;
  size_t handles_ = 0;
  size_t views_ = 0;
};

// An open file of a section.
struct SectionHandle {
  NodeId section;
  int access = 0;  // the open(2) access mode
};

class SectionTable {
 public:
  explicit SectionTable(SectionMemoryFactory memory) : memory_(memory) {}

  // A new section for `node`, with nothing holding it yet: open it at once.
  Section& Add(NodeId node, QuotaCharge charge);
  Section* Find(NodeId node);

  // A handle `id` (unique: the Broker's ids) opens `section`.
  void Open(Section& section, HandleId id, int access);
  const SectionHandle* FindHandle(HandleId id) const;
  Section* SectionOf(HandleId id);
  // Closes handle `id`. If it was the section's last holder the section is
  // gone, and its node is returned (the Broker drops the name). nullopt
  // also for a handle that is not a section's.
  std::optional<NodeId> Close(HandleId id);

  // A view of `section` holds it (lpc.7 "VIEWS"); its end may be the last.
  void AddView(Section& section);
  std::optional<NodeId> RemoveView(NodeId section);

  size_t size() const { return sections_.size(); }

 private:
  std::optional<NodeId> EraseIfUnheld(Section& section);

  SectionMemoryFactory memory_;
  std::unordered_map<NodeId, std::unique_ptr<Section>> sections_;
  std::unordered_map<HandleId, SectionHandle> handles_;
};

}  // namespace lpc
