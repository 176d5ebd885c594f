// Operations on names: lookup, attributes, folders, renames, listing.
// All of them are answered at once.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <memory>
#include <vector>

#include "attributes.h"
#include "operations.h"
#include "ops_windows.h"

namespace lpc::ops {
namespace {

Broker& BrokerOf(fuse_req_t req) { return Daemon::Of(req).broker(); }

void ReplyEntry(fuse_req_t req, const Result<Attr>& attr) {
  if (!attr) return ReplyError(req, attr.error());
  fuse_entry_param e = ToEntry(attr.value());
  fuse_reply_entry(req, &e);
}

void ReplyAttr(fuse_req_t req, const Result<Attr>& attr) {
  if (!attr) return ReplyError(req, attr.error());
  struct stat st = ToStat(attr.value());
  fuse_reply_attr(req, &st, kAttrSeconds);
}

void ReplyStatus(fuse_req_t req, const Status& s) {
  fuse_reply_err(req, s ? 0 : ToErrno(s.error()));
}

// /lpc/.views shows each caller the views it received (lpc.7 "VIEWS"):
// its lookups, listings and unlinks ask by the caller's fsuid.
uint32_t CallerUid(fuse_req_t req) { return fuse_req_ctx(req)->uid; }

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (NodeId(parent) == BrokerOf(req).windows_dir()) {
    return windows::Lookup(req, name);
  }
  Guarded(req, [&] {
    Broker& b = BrokerOf(req);
    if (NodeId(parent) == b.views_dir()) {
      return ReplyEntry(req, b.LookupView(name, CallerUid(req)));
    }
    ReplyEntry(req, b.Lookup(NodeId(parent), name));
  });
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  try {
    BrokerOf(req).Forget(NodeId(ino), nlookup);
  } catch (...) {
    // A forget has no reply to carry an error; the node stays cached.
  }
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  try {
    Broker& b = BrokerOf(req);
    for (size_t i = 0; i < count; ++i) {
      b.Forget(NodeId(forgets[i].ino), forgets[i].nlookup);
    }
  } catch (...) {
  }
  fuse_reply_none(req);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (windows::IsWindowFile(ino)) return windows::GetAttr(req, ino);
  Guarded(req, [&] { ReplyAttr(req, BrokerOf(req).GetAttr(NodeId(ino))); });
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
             fuse_file_info*) {
  if (windows::IsWindowFile(ino)) return windows::SetAttr(req);
  Guarded(req, [&] {
    SetAttrRequest r;
    r.set_perm = to_set & FUSE_SET_ATTR_MODE;
    r.perm = attr->st_mode & 07777;
    r.set_uid = to_set & FUSE_SET_ATTR_UID;
    r.uid = attr->st_uid;
    r.set_gid = to_set & FUSE_SET_ATTR_GID;
    r.gid = attr->st_gid;
    r.set_size = to_set & FUSE_SET_ATTR_SIZE;
    r.size = static_cast<uint64_t>(attr->st_size);
    r.caller_uid = fuse_req_ctx(req)->uid;
    Timestamp now = Now();
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
      r.set_atime = true;
      r.atime = now;
    } else if (to_set & FUSE_SET_ATTR_ATIME) {
      r.set_atime = true;
      r.atime = ToTimestamp(attr->st_atim);
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
      r.set_mtime = true;
      r.mtime = now;
    } else if (to_set & FUSE_SET_ATTR_MTIME) {
      r.set_mtime = true;
      r.mtime = ToTimestamp(attr->st_mtim);
    }
    ReplyAttr(req, BrokerOf(req).SetAttr(NodeId(ino), r));
  });
}

void MakeFolder(fuse_req_t req, fuse_ino_t parent, const char* name,
                mode_t mode) {
  Guarded(req, [&] {
    Daemon& d = Daemon::Of(req);
    const fuse_ctx& ctx = *fuse_req_ctx(req);
    Sender caller = d.identities().SenderOf(ctx);
    ReplyEntry(req, d.broker().MakeFolder(NodeId(parent), name, mode & 07777,
                                          ctx.umask, caller));
  });
}

void RemoveFolder(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] {
    ReplyStatus(req, BrokerOf(req).RemoveFolder(NodeId(parent), name));
  });
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] {
    Broker& b = BrokerOf(req);
    if (NodeId(parent) == b.views_dir()) {
      return ReplyStatus(req, b.ReleaseView(name, CallerUid(req)));
    }
    ReplyStatus(req, b.Unlink(NodeId(parent), name));
  });
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
            fuse_ino_t new_parent, const char* new_name, unsigned flags) {
  Guarded(req, [&] {
    ReplyStatus(req, BrokerOf(req).Rename(NodeId(parent), name,
                                          NodeId(new_parent), new_name, flags));
  });
}

// A port has exactly one name, and only ports live here (lpc.7
// "Unsupported operations").
void Link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
  fuse_reply_err(req, EPERM);
}
void Symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) {
  fuse_reply_err(req, EPERM);
}
void MakeNode(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) {
  fuse_reply_err(req, EPERM);
}

// A folder's entries as they were at opendir, as on other file systems.
struct DirSnapshot {
  struct Entry {
    std::string name;
    fuse_ino_t ino;
    mode_t type;  // S_IFDIR or S_IFREG
  };
  std::vector<Entry> entries;
};

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, [&] {
    Broker& b = BrokerOf(req);
    auto entries = NodeId(ino) == b.views_dir() ? b.ListViews(CallerUid(req))
                                                : b.ReadDir(NodeId(ino));
    if (!entries) return ReplyError(req, entries.error());
    auto snap = std::make_unique<DirSnapshot>();
    for (DirEntry& e : entries.value()) {
      snap->entries.push_back(
          {std::move(e.name), e.ino.value(), FileType(e.kind)});
    }
    if (NodeId(ino) == BrokerOf(req).windows_dir()) {
      for (windows::Entry& e : windows::List(req)) {
        snap->entries.push_back({std::move(e.name), e.ino, S_IFREG});
      }
    }
    fi->fh = reinterpret_cast<uint64_t>(snap.get());
    // Kept only if the kernel took the reply; releasedir frees it.
    if (fuse_reply_open(req, fi) == 0) snap.release();
  });
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             fuse_file_info* fi) {
  Guarded(req, [&] {
    auto* snap = reinterpret_cast<DirSnapshot*>(fi->fh);
    std::vector<char> buf(size);
    size_t used = 0;
    // Offsets: 0 ".", 1 "..", then 2 + index into the snapshot.
    size_t total = snap->entries.size() + 2;
    for (size_t i = static_cast<size_t>(off); i < total; ++i) {
      struct stat st {};
      const char* name;
      if (i == 0) {
        name = ".";
        st.st_ino = ino;
        st.st_mode = S_IFDIR;
      } else if (i == 1) {
        name = "..";
        st.st_ino = 0;
        st.st_mode = S_IFDIR;
      } else {
        const DirSnapshot::Entry& e = snap->entries[i - 2];
        name = e.name.c_str();
        st.st_ino = e.ino;
        st.st_mode = e.type;
      }
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name,
                                      &st, static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

void ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirSnapshot*>(fi->fh);
  fuse_reply_err(req, 0);
}

void StatFs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st {};
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_namemax = Namespace::kMaxName;
  fuse_reply_statfs(req, &st);
}

}  // namespace

void AddNameOperations(fuse_lowlevel_ops& o) {
  o.lookup = Lookup;
  o.forget = Forget;
  o.forget_multi = ForgetMulti;
  o.getattr = GetAttr;
  o.setattr = SetAttr;
  o.mkdir = MakeFolder;
  o.rmdir = RemoveFolder;
  o.unlink = Unlink;
  o.rename = Rename;
  o.link = Link;
  o.symlink = Symlink;
  o.mknod = MakeNode;
  o.opendir = OpenDir;
  o.readdir = ReadDir;
  o.releasedir = ReleaseDir;
  o.statfs = StatFs;
}

}  // namespace lpc::ops
