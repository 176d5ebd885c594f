// Extended attributes: the POSIX ACLs of ports and folders, which the
// kernel reads and writes as the xattrs system.posix_acl_access and
// system.posix_acl_default (lpc.7 "ACCESS CONTROL", fs/README.md "ACLs"),
// and the read-only user.lpc.server of a port (lpc.7 "WHO SERVES A
// NAME"). The kernel decides who may set them and enforces them; these
// handlers only store them. The kernel lets only those who may read a port
// get its user.* attributes, and only those who may write it try to set
// them.
#include <sys/xattr.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lpc.h"
#include "operations.h"
#include "ops_windows.h"

namespace lpc::ops {
namespace {

constexpr std::string_view kAccessAclName = "system.posix_acl_access";
constexpr std::string_view kDefaultAclName = "system.posix_acl_default";
constexpr std::string_view kServerName = LPC_SERVER_XATTR;

Broker& BrokerOf(fuse_req_t req) { return Daemon::Of(req).broker(); }

void ReplyErrno(fuse_req_t req, int err) { fuse_reply_err(req, err); }

std::optional<AclKind> AclKindOf(std::string_view name) {
  if (name == kAccessAclName) return AclKind::kAccess;
  if (name == kDefaultAclName) return AclKind::kDefault;
  return std::nullopt;
}

std::string_view NameOf(AclKind kind) {
  switch (kind) {
    case AclKind::kAccess:
      return kAccessAclName;
    case AclKind::kDefault:
      return kDefaultAclName;
  }
  return {};
}

// getxattr(2)'s protocol: size 0 asks for the length; a smaller buffer
// than the value is ERANGE.
void ReplyValue(fuse_req_t req, size_t size, const void* data, size_t length) {
  if (size == 0) {
    fuse_reply_xattr(req, length);
  } else if (size < length) {
    ReplyErrno(req, ERANGE);
  } else {
    fuse_reply_buf(req, static_cast<const char*>(data), length);
  }
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (windows::IsWindowFile(ino)) return windows::GetXattr(req);
  Guarded(req, [&] {
    if (name == kServerName) {
      auto text = BrokerOf(req).ServerAttribute(NodeId(ino));
      if (!text) return ReplyError(req, text.error());
      return ReplyValue(req, size, text->data(), text->size());
    }
    std::optional<AclKind> kind = AclKindOf(name);
    if (!kind) return ReplyErrno(req, ENODATA);
    auto value = BrokerOf(req).GetAcl(NodeId(ino), *kind);
    if (!value) return ReplyError(req, value.error());
    ReplyValue(req, size, value->data(), value->size());
  });
}

void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name,
              const char* value, size_t size, int) {
  if (windows::IsWindowFile(ino)) return windows::SetXattr(req);
  Guarded(req, [&] {
    // The daemon's own account of the port: nobody may change it.
    if (name == kServerName) return ReplyErrno(req, EPERM);
    std::optional<AclKind> kind = AclKindOf(name);
    // No other attributes are kept: a port holds no data.
    if (!kind) return ReplyErrno(req, EOPNOTSUPP);
    // An empty value would read as "remove" below; the kernel never sends
    // one for an ACL, and one is not a valid list.
    if (size == 0) return ReplyErrno(req, EINVAL);
    Daemon& d = Daemon::Of(req);
    auto attr = d.broker().SetAcl(
        NodeId(ino), *kind, {reinterpret_cast<const std::byte*>(value), size},
        d.identities().CallerOf(*fuse_req_ctx(req)));
    ReplyErrno(req, attr ? 0 : ToErrno(attr.error()));
  });
}

void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  if (windows::IsWindowFile(ino)) return windows::SetXattr(req);
  Guarded(req, [&] {
    if (name == kServerName) return ReplyErrno(req, EPERM);
    std::optional<AclKind> kind = AclKindOf(name);
    if (!kind) return ReplyErrno(req, ENODATA);
    Daemon& d = Daemon::Of(req);
    auto attr = d.broker().SetAcl(NodeId(ino), *kind, {},
                                  d.identities().CallerOf(*fuse_req_ctx(req)));
    ReplyErrno(req, attr ? 0 : ToErrno(attr.error()));
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  if (windows::IsWindowFile(ino)) return windows::ListXattr(req, size);
  Guarded(req, [&] {
    auto kinds = BrokerOf(req).AclsOf(NodeId(ino));
    if (!kinds) return ReplyError(req, kinds.error());
    std::string names;
    for (AclKind kind : kinds.value()) {
      names += NameOf(kind);
      names.push_back('\0');
    }
    if (BrokerOf(req).ServerAttribute(NodeId(ino))) {
      names += kServerName;
      names.push_back('\0');
    }
    ReplyValue(req, size, names.data(), names.size());
  });
}

}  // namespace

void AddXattrOperations(fuse_lowlevel_ops& o) {
  o.getxattr = GetXattr;
  o.setxattr = SetXattr;
  o.removexattr = RemoveXattr;
  o.listxattr = ListXattr;
}

}  // namespace lpc::ops
