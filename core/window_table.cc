#include "window_table.h"

#include <fcntl.h>

#include <charconv>
#include <utility>

#include "lpc.h"

namespace lpc {
namespace {

// The mode bits that let the kernel check an open against the window's
// access (lpc.7 "MEMORY WINDOWS"): the owner's only.
uint32_t PermOf(uint32_t access) {
  return ((access & LPC_WINDOW_READ) ? 0400u : 0u) |
         ((access & LPC_WINDOW_WRITE) ? 0200u : 0u);
}

// A window's name is its id in decimal, as written in the record; "007"
// or "+7" name nothing.
std::optional<uint64_t> ParseId(std::string_view name) {
  uint64_t id = 0;
  if (name.empty() || name[0] == '0') return std::nullopt;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size()) {
    return std::nullopt;
  }
  return id;
}

}  // namespace

WindowTable::WindowTable(ClientMemory* memory, size_t max_per_user)
    : memory_(memory), max_per_user_(max_per_user) {}

Result<uint64_t> WindowTable::Attach(const WindowSpec& spec) {
  if (!memory_) return Error::kNotSupported;
  {
    std::lock_guard lock(mu_);
    auto used = per_user_.find(spec.client.uid);
    if (used != per_user_.end() && used->second >= max_per_user_) {
      return Error::kQuotaExceeded;
    }
  }
  // Outside the lock: pinning reads /proc, and nothing of the table is
  // needed for it.
  auto process = memory_->Pin(spec.client);
  if (!process) return process.error();
  std::lock_guard lock(mu_);
  size_t& used = per_user_[spec.client.uid];
  if (used >= max_per_user_) return Error::kQuotaExceeded;
  ++used;
  uint64_t id = ++last_id_;
  windows_.emplace(id, Window{spec, std::move(process.value()), Now()});
  return id;
}

std::unique_ptr<PinnedProcess> WindowTable::Erase(
    std::map<uint64_t, Window>::iterator it) {
  auto used = per_user_.find(it->second.spec.client.uid);
  if (used != per_user_.end() && --used->second == 0) per_user_.erase(used);
  std::unique_ptr<PinnedProcess> process = std::move(it->second.process);
  windows_.erase(it);
  return process;
}

void WindowTable::End(uint64_t id) {
  std::unique_ptr<PinnedProcess> released;
  std::lock_guard lock(mu_);
  auto it = windows_.find(id);
  if (it != windows_.end()) released = Erase(it);
}

WindowTable::Window* WindowTable::Find(uint64_t id) {
  auto it = windows_.find(id);
  return it == windows_.end() ? nullptr : &it->second;
}

WindowFile WindowTable::FileOf(uint64_t id, const Window& w) const {
  return WindowFile{id,
                    NodeOf(id),
                    w.spec.server_uid,
                    w.spec.server_gid,
                    PermOf(w.spec.access),
                    w.spec.length,
                    w.since};
}

Result<WindowFile> WindowTable::Lookup(std::string_view name, uint32_t uid) {
  std::optional<uint64_t> id = ParseId(name);
  if (!id) return Error::kNotFound;
  std::lock_guard lock(mu_);
  Window* w = Find(*id);
  // Another user's window is not there for this one: its existence and
  // its size would tell about a call that is none of their business.
  if (!w || w->spec.server_uid != uid) return Error::kNotFound;
  return FileOf(*id, *w);
}

std::vector<WindowFile> WindowTable::List(uint32_t uid) {
  std::vector<WindowFile> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, w] : windows_) {
    if (w.spec.server_uid == uid) out.push_back(FileOf(id, w));
  }
  return out;
}

Result<WindowFile> WindowTable::Stat(uint64_t id) {
  std::lock_guard lock(mu_);
  Window* w = Find(id);
  if (!w) return Error::kNotFound;
  return FileOf(id, *w);
}

Status WindowTable::Open(uint64_t id, uint32_t uid, int access) {
  std::lock_guard lock(mu_);
  Window* w = Find(id);
  if (!w) return Error::kNotFound;
  if (w->spec.server_uid != uid) return Error::kAccessDenied;
  int mode = access & O_ACCMODE;
  bool reads = mode == O_RDONLY || mode == O_RDWR;
  bool writes = mode == O_WRONLY || mode == O_RDWR;
  if ((reads && !(w->spec.access & LPC_WINDOW_READ)) ||
      (writes && !(w->spec.access & LPC_WINDOW_WRITE))) {
    return Error::kAccessDenied;
  }
  return Ok{};
}

Result<size_t> WindowTable::Read(uint64_t id, uint64_t offset,
                                 std::span<std::byte> into) {
  std::lock_guard lock(mu_);
  Window* w = Find(id);
  if (!w) return Error::kBrokenPipe;
  if (!(w->spec.access & LPC_WINDOW_READ)) return Error::kBadHandle;
  if (offset >= w->spec.length) return size_t{0};  // end of file
  uint64_t left = w->spec.length - offset;
  if (into.size() > left) into = into.first(static_cast<size_t>(left));
  if (into.empty()) return size_t{0};
  // address + length does not wrap: the attribute's decoder refused that.
  return w->process->Read(w->spec.address + offset, into);
}

Result<size_t> WindowTable::Write(uint64_t id, uint64_t offset,
                                  std::span<const std::byte> data) {
  std::lock_guard lock(mu_);
  Window* w = Find(id);
  if (!w) return Error::kBrokenPipe;
  if (!(w->spec.access & LPC_WINDOW_WRITE)) return Error::kBadHandle;
  // All or nothing at the end: a write cut short there would look like a
  // partial transfer, which means a fault in the client.
  if (offset > w->spec.length || data.size() > w->spec.length - offset) {
    return Error::kFileTooBig;
  }
  if (data.empty()) return size_t{0};
  return w->process->Write(w->spec.address + offset, data);
}

size_t WindowTable::size() {
  std::lock_guard lock(mu_);
  return windows_.size();
}

}  // namespace lpc
