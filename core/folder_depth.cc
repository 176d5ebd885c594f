#include "folder_depth.h"

#include <algorithm>

namespace lpc {

size_t DepthOf(Namespace& names, NodeId node) {
  size_t depth = 0;
  for (Node* n = names.Find(node); n && n->attr.ino != Namespace::kRootIno;
       n = names.Find(n->parent)) {
    ++depth;
  }
  return depth;
}

size_t HeightBelow(Namespace& names, const Node& folder) {
  // Recursion is bounded: folders never nest deeper than folder_depth.
  size_t height = 0;
  for (const auto& [name, ino] : folder.children) {
    const Node* child = names.Find(ino);
    if (child && child->attr.kind == NodeKind::kDirectory) {
      height = std::max(height, 1 + HeightBelow(names, *child));
    }
  }
  return height;
}

}  // namespace lpc
