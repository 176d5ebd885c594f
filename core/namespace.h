// The name tree of an lpcfs mount: folders, port names, the reserved .conn,
// .windows and .views folders (the daemon's names only), the .sections
// folder of sections, the .stats and .monitor files, and the name operations
// on them (lpc.7 "FILES", "PORTS"). Plain data, no locking: the Broker owns
// one and guards it with its lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acl.h"
#include "errors.h"
#include "ids.h"

namespace lpc {

enum class NodeKind : uint8_t {
  kDirectory,
  kPort,            // a named connection port
  kConnectionFile,  // .conn/ID, the server communication port of one conn
  kStatsFile,       // .stats
  kMonitorFile,     // .monitor
  kSection,         // .sections/NAME, a section (core/section_table.h)
};

struct Timestamp {
  int64_t sec = 0;
  int64_t nsec = 0;
};
Timestamp Now();

// What stat() shows of a node.
struct Attr {
  NodeId ino;
  NodeKind kind = NodeKind::kDirectory;
  uint32_t perm = 0;  // permission bits with set-id and sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 1;
  uint64_t size = 0;  // sections only: the section's size
  Timestamp atime, mtime, ctime;
};

struct Node {
  Attr attr;
  NodeId parent;
  std::string name;
  std::map<std::string, NodeId, std::less<>> children;  // folders only
  uint64_t lookups = 0;   // the kernel's references (lookup minus forget)
  bool linked = true;     // still has its name
  bool reserved = false;  // the root, .conn, .windows, .sections, .stats...
  // The live port, connection or section the node is the file of, if any;
  // it keeps the node while it lives.
  PortId port;
  ConnId conn;
  bool section = false;
  // POSIX ACLs (lpc.7 "ACCESS CONTROL"). An access list is kept only when
  // it says more than the mode; the group bits of the mode are then its
  // mask. Only folders have a default list.
  std::optional<Acl> access_acl;
  std::optional<Acl> default_acl;
  // Access lent while views of a section live (lpc.7 "VIEWS"): the
  // permission bits and list the owner set, under the grants that
  // attr.perm and access_acl show on top of them. chmod and setfacl
  // change what the owner set; the grants stay on top.
  struct Lent {
    uint32_t perm = 0;
    std::optional<Acl> acl;
    std::vector<AclGrant> grants;
  };
  std::optional<Lent> lent;
  bool held() const { return reserved || port || conn || section; }
};

enum class AclKind : uint8_t {
  kAccess,   // system.posix_acl_access
  kDefault,  // system.posix_acl_default
};

struct DirEntry {
  std::string name;
  NodeId ino;
  NodeKind kind;
};

// A chmod, chown, utimensat or truncate of a node.
struct SetAttrRequest {
  bool set_perm = false, set_uid = false, set_gid = false, set_size = false;
  bool set_atime = false, set_mtime = false;
  uint32_t perm = 0, uid = 0, gid = 0;
  uint64_t size = 0;
  Timestamp atime, mtime;
  // Who asks (fsuid), if known: only a section's owner or root may change
  // its size (lpc.7 "SECTIONS").
  std::optional<uint32_t> caller_uid;
};

class Namespace {
 public:
  static constexpr NodeId kRootIno{1};
  static constexpr size_t kMaxName = 255;

  Namespace();

  Node* Find(NodeId ino);
  Node* root() { return Find(kRootIno); }
  NodeId conn_dir() const { return conn_dir_; }
  NodeId stats_file() const { return stats_file_; }
  NodeId monitor_file() const { return monitor_file_; }
  NodeId windows_dir() const { return windows_dir_; }
  // .conn, .windows and .views: only the daemon puts names in them.
  bool IsDaemonFolder(NodeId ino) const {
    return ino == conn_dir_ || ino == windows_dir_ || ino == views_dir_;
  }
  NodeId sections_dir() const { return sections_dir_; }
  NodeId views_dir() const { return views_dir_; }

  // The node named `name` in folder `dir`, or an error.
  Result<Node*> Child(NodeId dir, std::string_view name);
  // Child(), counted as a kernel reference (FUSE lookup).
  Result<Node*> Lookup(NodeId dir, std::string_view name);
  void RememberLookup(Node* node) { ++node->lookups; }
  void Forget(NodeId ino, uint64_t count);

  // Adds a node; EEXIST if the name is taken, ENOTDIR if `parent` is not
  // a folder, ENAMETOOLONG for names over kMaxName.
  Result<Node*> Add(NodeId parent, std::string_view name, NodeKind kind,
                    uint32_t perm, uint32_t uid, uint32_t gid);
  // The port, connection or section that held the node has gone: its
  // name goes too, and the node is freed once the kernel no longer refers to
  // it.
  void Drop(Node* node);

  // Add() for a file a caller creates: the mode less the caller's umask,
  // or, if the folder has a default ACL, the mode narrowed by that list,
  // which the new node inherits (and a new folder keeps as its own
  // default), ignoring the umask, as on every Linux file system.
  Result<Node*> AddCreated(NodeId parent, std::string_view name, NodeKind kind,
                           uint32_t perm, uint32_t umask, uint32_t uid,
                           uint32_t gid);

  // --- The name operations of lpc.7 "FILES" and "PORTS".
  Result<Node*> MakeFolder(NodeId parent, std::string_view name, uint32_t perm,
                           uint32_t umask, uint32_t uid, uint32_t gid);
  Status RemoveFolder(NodeId parent, std::string_view name);
  // Removes a port's or a section's name; either keeps working through
  // its handles.
  Status Unlink(NodeId parent, std::string_view name);
  // flags: 0 or RENAME_NOREPLACE; anything else is EINVAL.
  Status Rename(NodeId parent, std::string_view name, NodeId new_parent,
                std::string_view new_name, unsigned flags);
  // A chmod also rewrites the owner, mask and other entries of the
  // node's access ACL, as posix_acl_chmod() does.
  Result<Attr> SetAttr(NodeId ino, const SetAttrRequest& request);

  // --- ACLs, as the xattrs the kernel reads and writes (lpc.7 "ACCESS
  // CONTROL"). The kernel has already checked that the caller may.
  // The list in the kernel's xattr encoding; ENODATA if there is none.
  Result<std::vector<std::byte>> GetAcl(NodeId ino, AclKind kind);
  // Sets (or with an empty `xattr`, removes) a list. Setting an access
  // list sets the permission bits it implies and keeps the list only if
  // it says more than they do; `keeps_sgid` false (the caller is not in
  // the file's group and lacks CAP_FSETID) clears the set-group-ID bit,
  // as posix_acl_update_mode() does. EPERM on .conn, .stats and .monitor.
  Result<Attr> SetAcl(NodeId ino, AclKind kind,
                      std::span<const std::byte> xattr, bool keeps_sgid);
  // Lends `grant` on a file until Unlend() takes that grant back; the
  // grants of one user add up. The kernel must forget the list it cached.
  void Lend(NodeId ino, AclGrant grant);
  void Unlend(NodeId ino, AclGrant grant);
  // Which lists the node has, for listxattr.
  std::vector<AclKind> AclsOf(NodeId ino);
  Result<std::vector<DirEntry>> List(NodeId dir);

  // Path from the mount root ("/a/b"), or "(unlinked)".
  std::string PathOf(const Node& node);
  // True if `ancestor` is `node` or one of its parents.
  bool IsWithin(NodeId node, NodeId ancestor);
  size_t size() const { return nodes_.size(); }
  // How many times a folder was renamed or moved: the paths of what is
  // in it changed then (core/stats_text.h keeps paths until it does).
  uint64_t folder_moves() const { return folder_moves_; }

 private:
  // Removes the node's name. The node itself lives on while the kernel
  // references it or it is held; ReleaseIfUnused() frees it when neither.
  void Detach(Node* node);
  void Move(Node* node, NodeId new_parent, std::string_view new_name);
  void ReleaseIfUnused(Node* node);
  // Shows what the owner set with the grants on top (Node::Lent).
  static void ApplyGrants(Node* node);

  uint64_t last_ino_ = kRootIno.value();
  uint64_t folder_moves_ = 0;
  NodeId conn_dir_;
  NodeId stats_file_;
  NodeId monitor_file_;
  NodeId windows_dir_;
  NodeId sections_dir_;
  NodeId views_dir_;
  std::unordered_map<NodeId, std::unique_ptr<Node>> nodes_;
};

}  // namespace lpc
