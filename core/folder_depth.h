// How deep folders nest, for the folder_depth limit (lpc.7 "QUOTAS"): a
// bound on the paths and the walks one user can make the daemon keep.
#pragma once

#include <cstddef>

#include "ids.h"
#include "namespace.h"

namespace lpc {

// Folders between the root and `node`, counting `node` if it is one: 0 for
// the root, 1 for a folder in it.
size_t DepthOf(Namespace& names, NodeId node);

// Levels of folders below `folder`: 0 for one without subfolders.
size_t HeightBelow(Namespace& names, const Node& folder);

}  // namespace lpc
