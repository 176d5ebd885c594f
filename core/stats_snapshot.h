// The text of one open .stats file (lpc.7 "STATS"), kept as lines that
// are rendered only when read. A conn line repeats its port's path, and a
// path can be long (255 bytes a folder, as deep as folders go): the
// snapshot keeps each path once, shared by the port line, its conn lines
// and the other ports of the same folder, and a read renders only the
// bytes it returns, so the daemon never builds the whole text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lpc {

class StatsSnapshot {
 public:
  // An escaped path, in two parts: the port's folder (shared by every port
  // of the folder; null or "" for the mount root) and the rest ("/NAME",
  // or "(unlinked)").
  struct Path {
    std::shared_ptr<const std::string> folder;
    std::string leaf;
    size_t size() const { return (folder ? folder->size() : 0) + leaf.size(); }
  };

  // A line `head PATH tail`: `tail` ends with the newline. Returns the
  // index of the path, for the lines that repeat it.
  size_t AddPath(Path path);
  void AddLine(std::string head, size_t path, std::string tail);
  // A line (or lines) with no path in it, verbatim.
  void AddText(std::string text);

  // Bytes of the whole text.
  uint64_t size() const { return size_; }
  // Up to `max` bytes of the text from `offset` on.
  std::string Read(uint64_t offset, size_t max) const;
  std::string Text() const { return Read(0, size_); }

 private:
  static constexpr size_t kNoPath = SIZE_MAX;
  struct Line {
    uint64_t start;  // offset of its first byte in the text
    std::string head;
    size_t path;  // index into paths_, or kNoPath
    std::string tail;
  };
  size_t SizeOf(const Line& line) const;

  std::vector<Path> paths_;
  std::vector<Line> lines_;
  uint64_t size_ = 0;
};

}  // namespace lpc
