#include "fuse_adapter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "caller.h"
#include "kernel_replies.h"
#include "lpc.h"

namespace lpc {
namespace {

Token token_of(fuse_req_t req) { return reinterpret_cast<Token>(req); }
fuse_req_t req_of(Token token) { return reinterpret_cast<fuse_req_t>(token); }

Broker& broker_of(fuse_req_t req) {
  return *static_cast<Broker*>(fuse_req_userdata(req));
}

// ---------------------------------------------------------- translation

mode_t file_type(NodeKind kind) {
  // Ports are regular files to the VFS: an S_IFSOCK or S_IFIFO inode would
  // never reach us on open().
  return kind == NodeKind::kDirectory ? S_IFDIR : S_IFREG;
}

// The kernel serialises direct writes that reach past its idea of the file
// size, even with FOPEN_PARALLEL_DIRECT_WRITES. Message files therefore
// report a size no single write request can pass (lpc.7 "PORTS": st_size).
constexpr uint64_t kMessageFileSize = LPC_STREAM_SIZE;

uint64_t reported_size(NodeKind kind) {
  switch (kind) {
    case NodeKind::kPort:
    case NodeKind::kConnectionFile:
      return kMessageFileSize;
    default:
      return 0;
  }
}

struct stat to_stat(const Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = file_type(a.kind) | a.perm;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(reported_size(a.kind));
  st.st_blksize = 4096;
  st.st_atim = {a.atime.sec, a.atime.nsec};
  st.st_mtim = {a.mtime.sec, a.mtime.nsec};
  st.st_ctim = {a.ctime.sec, a.ctime.nsec};
  return st;
}

// How long the kernel may trust a name. Ports and .conn files vanish when
// their server handle or connection ends, which the kernel does not see,
// so their names are never cached (lpc.7 "PORTS"). Folders and .stats
// change only through calls the kernel makes itself.
double name_seconds(NodeKind kind) {
  switch (kind) {
    case NodeKind::kDirectory:
    case NodeKind::kStatsFile:
      return 1.0;
    default:
      return 0.0;
  }
}

// How long the kernel may trust attributes. Mode and owners change only
// through setattr, whose reply refreshes the kernel's copy, so they can be
// cached even for ports: the lookup that every open of a port makes then
// also serves the kernel's permission check, with no getattr after it.
constexpr double kAttrSeconds = 1.0;

fuse_entry_param to_entry(const Attr& a) {
  fuse_entry_param e{};
  e.ino = a.ino;
  e.generation = 1;
  e.attr = to_stat(a);
  e.attr_timeout = kAttrSeconds;
  e.entry_timeout = name_seconds(a.kind);
  return e;
}

void reply_error(fuse_req_t req, Error e) { fuse_reply_err(req, to_errno(e)); }

ProcessIdCache& pid_cache() {
  static ProcessIdCache cache;  // process-wide, like the /proc it mirrors
  return cache;
}

Sender sender_of(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Sender s;
  s.uid = ctx->uid;
  s.gid = ctx->gid;
  s.pid = pid_cache().pid_of(static_cast<uint32_t>(ctx->pid));
  return s;
}

// The whole identity, read once at connect or create (fuse-facts:
// credentials are recorded at open).
Caller caller_of(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Caller c;
  c.sender.uid = ctx->uid;
  c.sender.gid = ctx->gid;
  uint32_t tid = static_cast<uint32_t>(ctx->pid);
  if (auto status = read_proc_status(tid)) {
    c.sender.pid = status->tgid;
    c.groups = std::move(status->groups);
    c.cap_effective = status->cap_effective;
    c.cap_permitted = status->cap_permitted;
  }
  if (c.groups.size() > LPC_MAX_GROUPS) {
    c.groups.resize(LPC_MAX_GROUPS);
    c.groups_truncated = true;
  }
  return c;
}

// Interrupts: registered before the broker sees the request. If the
// broker still holds the request it lets go and we answer EINTR; if it has
// already answered, cancel() finds nothing and we do nothing
// (fuse-facts "Interrupts").
void on_interrupt(fuse_req_t req, void* data) {
  auto* broker = static_cast<Broker*>(data);
  if (broker->cancel(token_of(req))) fuse_reply_err(req, EINTR);
}

void watch_interrupts(fuse_req_t req) {
  fuse_req_interrupt_func(req, on_interrupt, fuse_req_userdata(req));
}

// ---------------------------------------------------------- operations

void op_init(void*, fuse_conn_info* conn) {
  // No atomic O_TRUNC: with it the kernel sets its cached size of the port
  // to 0 after an O_TRUNC open (bash's `>`), and writes that reach past
  // that size lock the whole port (see kernel_replies.h). Without it the
  // kernel sends a truncate to size 0, a no-op for ports, and takes the
  // size from our reply, which keeps it at LPC_STREAM_SIZE.
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto attr = broker_of(req).lookup(parent, name);
  if (!attr) return reply_error(req, attr.error());
  fuse_entry_param e = to_entry(attr.value());
  fuse_reply_entry(req, &e);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  broker_of(req).forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Broker& b = broker_of(req);
  for (size_t i = 0; i < count; ++i)
    b.forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto attr = broker_of(req).getattr(ino);
  if (!attr) return reply_error(req, attr.error());
  struct stat st = to_stat(attr.value());
  fuse_reply_attr(req, &st, kAttrSeconds);
}

Timestamp timestamp_of(const struct timespec& ts) {
  return {ts.tv_sec, ts.tv_nsec};
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                fuse_file_info*) {
  SetAttrRequest r;
  r.set_perm = to_set & FUSE_SET_ATTR_MODE;
  r.perm = attr->st_mode & 07777;
  r.set_uid = to_set & FUSE_SET_ATTR_UID;
  r.uid = attr->st_uid;
  r.set_gid = to_set & FUSE_SET_ATTR_GID;
  r.gid = attr->st_gid;
  r.set_size = to_set & FUSE_SET_ATTR_SIZE;
  r.size = static_cast<uint64_t>(attr->st_size);
  Timestamp now = now_timestamp();
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    r.set_atime = true;
    r.atime = now;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    r.set_atime = true;
    r.atime = timestamp_of(attr->st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    r.set_mtime = true;
    r.mtime = now;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    r.set_mtime = true;
    r.mtime = timestamp_of(attr->st_mtim);
  }
  auto result = broker_of(req).setattr(ino, r);
  if (!result) return reply_error(req, result.error());
  struct stat st = to_stat(result.value());
  fuse_reply_attr(req, &st, kAttrSeconds);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name,
              mode_t mode) {
  auto attr = broker_of(req).mkdir(parent, name, mode & 07777, sender_of(req));
  if (!attr) return reply_error(req, attr.error());
  fuse_entry_param e = to_entry(attr.value());
  fuse_reply_entry(req, &e);
}

void reply_status(fuse_req_t req, const Status& s) {
  fuse_reply_err(req, s ? 0 : to_errno(s.error()));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, broker_of(req).rmdir(parent, name));
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, broker_of(req).unlink(parent, name));
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name,
               fuse_ino_t newparent, const char* newname, unsigned flags) {
  reply_status(req,
               broker_of(req).rename(parent, name, newparent, newname, flags));
}

// A port has exactly one name, and only ports live here.
void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
  fuse_reply_err(req, EPERM);
}
void op_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) {
  fuse_reply_err(req, EPERM);
}
void op_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) {
  fuse_reply_err(req, EPERM);
}

struct DirSnapshot {
  std::vector<DirEntry> entries;
};

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto entries = broker_of(req).readdir(ino);
  if (!entries) return reply_error(req, entries.error());
  auto* snap = new DirSnapshot{std::move(entries.value())};
  fi->fh = reinterpret_cast<uint64_t>(snap);
  if (fuse_reply_open(req, fi) != 0) delete snap;
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                fuse_file_info* fi) {
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
      const DirEntry& e = snap->entries[i - 2];
      name = e.name.c_str();
      st.st_ino = e.ino;
      st.st_mode = file_type(e.kind);
    }
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name,
                                    &st, static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirSnapshot*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  Broker& b = broker_of(req);
  bool exclusive = fi->flags & O_EXCL;
  auto created =
      b.create_port(parent, name, mode & 07777, exclusive, caller_of(req));
  if (!created) return reply_error(req, created.error());
  fuse_entry_param e = to_entry(created->attr);
  if (reply_create_raw(req, e, created->handle) == -ENOENT) {
    // The caller is gone before it saw the handle: no release will come.
    b.release(created->handle);
  }
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Broker& b = broker_of(req);
  watch_interrupts(req);
  b.open(token_of(req), ino, fi->flags, caller_of(req));
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
             fuse_file_info* fi) {
  Broker& b = broker_of(req);
  watch_interrupts(req);
  b.read(token_of(req), fi->fh, size, static_cast<uint64_t>(off),
         fi->flags & O_NONBLOCK);
}

// Whether a write may wait in the daemon for queue room. The kernel holds
// the port's inode lock exclusively for the whole of an append-mode direct
// write, whatever the open flags say; such a write waiting for room would
// stop every other write to the port, the server's replies included, and
// with them the reads that would make room. So writes on an O_APPEND
// descriptor never wait: a full queue answers EAGAIN (lpc.7 "MESSAGES").
bool may_wait(int flags) { return !(flags & (O_NONBLOCK | O_APPEND)); }

void op_write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t,
              fuse_file_info* fi) {
  Broker& b = broker_of(req);
  watch_interrupts(req);
  b.write(token_of(req), fi->fh,
          {reinterpret_cast<const std::byte*>(buf), size}, !may_wait(fi->flags),
          sender_of(req));
}

void op_poll(fuse_req_t req, fuse_ino_t, fuse_file_info* fi,
             fuse_pollhandle* ph) {
  auto mask = broker_of(req).poll(fi->fh, reinterpret_cast<PollToken>(ph));
  if (!mask) return reply_error(req, mask.error());
  fuse_reply_poll(req, mask.value());
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  broker_of(req).release(fi->fh);
  fuse_reply_err(req, 0);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void op_ioctl(fuse_req_t req, fuse_ino_t, unsigned int, void*, fuse_file_info*,
              unsigned, const void*, size_t, size_t) {
  fuse_reply_err(req, ENOTTY);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st {};
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_namemax = Namespace::kMaxName;
  fuse_reply_statfs(req, &st);
}

}  // namespace

// ---------------------------------------------------------- delegate

bool FuseReplies::interrupted(Token token) {
  return fuse_req_interrupted(req_of(token));
}

// Each reply first unregisters the interrupt callback, so an interrupt
// racing with this reply cannot answer the same request again.
void FuseReplies::reply_open(Token token, OpenedHandle handle) {
  fuse_req_t req = req_of(token);
  fuse_req_interrupt_func(req, nullptr, nullptr);
  OpenStyle style =
      handle.stream ? OpenStyle::kMessageStream : OpenStyle::kSnapshot;
  if (reply_open_raw(req, handle.handle, style) == -ENOENT && broker_) {
    broker_->release(handle.handle);
  }
}

void FuseReplies::reply_data(Token token, std::span<const std::byte> data) {
  fuse_req_t req = req_of(token);
  fuse_req_interrupt_func(req, nullptr, nullptr);
  fuse_reply_buf(req, reinterpret_cast<const char*>(data.data()), data.size());
}

void FuseReplies::reply_written(Token token, size_t count) {
  fuse_req_t req = req_of(token);
  fuse_req_interrupt_func(req, nullptr, nullptr);
  fuse_reply_write(req, count);
}

void FuseReplies::reply_error(Token token, Error error) {
  fuse_req_t req = req_of(token);
  fuse_req_interrupt_func(req, nullptr, nullptr);
  fuse_reply_err(req, to_errno(error));
}

void FuseReplies::notify_poll(PollToken poll) {
  fuse_lowlevel_notify_poll(reinterpret_cast<fuse_pollhandle*>(poll));
}

void FuseReplies::drop_poll(PollToken poll) {
  fuse_pollhandle_destroy(reinterpret_cast<fuse_pollhandle*>(poll));
}

const fuse_lowlevel_ops& lpcfs_operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = op_init;
    o.lookup = op_lookup;
    o.forget = op_forget;
    o.forget_multi = op_forget_multi;
    o.getattr = op_getattr;
    o.setattr = op_setattr;
    o.mkdir = op_mkdir;
    o.rmdir = op_rmdir;
    o.unlink = op_unlink;
    o.rename = op_rename;
    o.link = op_link;
    o.symlink = op_symlink;
    o.mknod = op_mknod;
    o.opendir = op_opendir;
    o.readdir = op_readdir;
    o.releasedir = op_releasedir;
    o.create = op_create;
    o.open = op_open;
    o.read = op_read;
    o.write = op_write;
    o.poll = op_poll;
    o.release = op_release;
    o.flush = op_flush;
    o.fsync = op_fsync;
    o.ioctl = op_ioctl;
    o.statfs = op_statfs;
    return o;
  }();
  return ops;
}

}  // namespace lpc
