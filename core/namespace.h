// The name tree of an lpcfs mount: folders, port names, the reserved .conn
// folder and .stats file. Plain data, no locking: the Broker owns one and
// guards it with its lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "errors.h"

namespace lpc {

using Ino = uint64_t;

enum class NodeKind : uint8_t {
  kDirectory,
  kPort,            // a named connection port
  kConnectionFile,  // .conn/ID, the server communication port of one conn
  kStatsFile,       // .stats
};

struct Timestamp {
  int64_t sec = 0;
  int64_t nsec = 0;
};
Timestamp now_timestamp();

// What stat() shows of a node.
struct Attr {
  Ino ino = 0;
  NodeKind kind = NodeKind::kDirectory;
  uint32_t perm = 0;  // permission bits with set-id and sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 1;
  Timestamp atime, mtime, ctime;
};

struct Node {
  Attr attr;
  Ino parent = 0;
  std::string name;
  std::map<std::string, Ino, std::less<>> children;  // folders only
  uint64_t lookups = 0;  // the kernel's references (lookup minus forget)
  bool linked = true;    // still has its name
  bool held = false;     // a live port or connection still uses it
  uint64_t object = 0;   // port id or connection id
};

struct DirEntry {
  std::string name;
  Ino ino;
  NodeKind kind;
};

class Namespace {
 public:
  static constexpr Ino kRootIno = 1;
  static constexpr size_t kMaxName = 255;

  Namespace();

  Node* find(Ino ino);
  Node* root() { return find(kRootIno); }
  Node* conn_dir() { return find(conn_dir_ino_); }
  Ino conn_dir_ino() const { return conn_dir_ino_; }
  Ino stats_ino() const { return stats_ino_; }

  // The node named `name` in folder `dir`, or an error.
  Result<Node*> child(Ino dir, std::string_view name);

  // Adds a node; EEXIST if the name is taken, ENOTDIR if `parent` is not
  // a folder, ENAMETOOLONG for names over kMaxName.
  Result<Node*> add(Ino parent, std::string_view name, NodeKind kind,
                    uint32_t perm, uint32_t uid, uint32_t gid);

  // Removes the node's name. The node itself lives on while the kernel
  // references it or it is held; release() frees it when neither is true.
  void detach(Node* node);
  // The port or connection that held the node has gone: its name goes
  // too, and the node is freed once the kernel no longer refers to it.
  void drop(Node* node);
  // Moves a node to a new name; the caller has checked the target is free.
  void move(Node* node, Ino new_parent, std::string_view new_name);

  void remember_lookup(Node* node) { ++node->lookups; }
  void forget(Ino ino, uint64_t count);
  // Frees the node if nothing refers to it any more.
  void release_if_unused(Node* node);

  std::vector<DirEntry> list(const Node& dir);
  // Path from the mount root ("/a/b"), or "(unlinked)".
  std::string path_of(const Node& node);
  // True if `ancestor` is `node` or one of its parents.
  bool is_within(Ino node, Ino ancestor);
  size_t size() const { return nodes_.size(); }

 private:
  Ino next_ino_ = kRootIno;
  Ino conn_dir_ino_ = 0;
  Ino stats_ino_ = 0;
  std::unordered_map<Ino, std::unique_ptr<Node>> nodes_;
};

}  // namespace lpc
