#include "stats_snapshot.h"

#include <algorithm>
#include <string_view>
#include <utility>

namespace lpc {

size_t StatsSnapshot::AddPath(Path path) {
  paths_.push_back(std::move(path));
  return paths_.size() - 1;
}

void StatsSnapshot::AddLine(std::string head, size_t path, std::string tail) {
  Line line{size_, std::move(head), path, std::move(tail)};
  size_ += SizeOf(line);
  lines_.push_back(std::move(line));
}

void StatsSnapshot::AddText(std::string text) {
  if (text.empty()) return;
  AddLine(std::move(text), kNoPath, std::string());
}

size_t StatsSnapshot::SizeOf(const Line& line) const {
  size_t n = line.head.size() + line.tail.size();
  if (line.path != kNoPath) n += paths_[line.path].size();
  return n;
}

std::string StatsSnapshot::Read(uint64_t offset, size_t max) const {
  std::string out;
  if (offset >= size_ || max == 0) return out;
  max = static_cast<size_t>(std::min<uint64_t>(max, size_ - offset));
  out.reserve(max);
  // The last line that starts at or before `offset`.
  auto it = std::upper_bound(
      lines_.begin(), lines_.end(), offset,
      [](uint64_t off, const Line& line) { return off < line.start; });
  --it;
  uint64_t skip = offset - it->start;
  // Appends the part of `piece` that is past `skip` and fits.
  auto append = [&](std::string_view piece) {
    if (skip >= piece.size()) {
      skip -= piece.size();
      return;
    }
    piece.remove_prefix(static_cast<size_t>(skip));
    skip = 0;
    out.append(piece.substr(0, max - out.size()));
  };
  for (; it != lines_.end() && out.size() < max; ++it) {
    append(it->head);
    if (it->path != kNoPath) {
      const Path& path = paths_[it->path];
      if (path.folder) append(*path.folder);
      append(path.leaf);
    }
    append(it->tail);
  }
  return out;
}

}  // namespace lpc
