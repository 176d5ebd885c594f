// The memory of the daemon's sections (core/section_memory.h): one
// private anonymous mapping per section, MAP_NORESERVE, resized with
// mremap(2). A page costs memory only once it is written: sizing a
// 64 MiB section commits nothing and zero-fills nothing, and a read of a
// page never written maps the kernel's zero page (fs/README.md
// "Sections").
#pragma once

#include <memory>

#include "section_memory.h"

namespace lpc {

std::unique_ptr<SectionMemory> NewMappedSectionMemory();

}  // namespace lpc
