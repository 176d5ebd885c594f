// Memory windows (lpc.7 "MEMORY WINDOWS"): a range of a client's memory
// that the server side of its connection may read and write through the
// file /lpc/.windows/ID while the call the window came with is
// outstanding. The table gives out the ids, keeps each window's
// connection, client process, range, access and server side's uid, and
// ends windows; ending one is what takes the server's access away, at
// once and for good. The copies go through ClientMemory (fs/ makes the
// system calls).
//
// Locking: mu_ guards the table and is held across each transfer, so a
// window that End() has returned from is never touched again: the broker
// ends a call's window, under its own lock, before it answers the call,
// so no byte moves after the client saw its call end. Lock order:
// Broker::mu_ before WindowTable::mu_, which is a leaf (nothing is called
// under it but the PinnedProcess transfers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "caller.h"
#include "client_memory.h"
#include "errors.h"
#include "ids.h"
#include "message_attributes.h"
#include "namespace.h"

namespace lpc {

// What a call attaches: the struct lpc_window of its message, and who is
// on either side. Not the call's message id: that is given when the
// message is queued, after any wait for room; the connection keeps the
// window's Attachment under it and ends the window with the call.
struct WindowSpec {
  ConnId conn;
  Sender client;  // the calling process: pid and start time
  uint64_t address = 0;
  uint64_t length = 0;      // at least 1
  uint32_t access = 0;      // LPC_WINDOW_READ | LPC_WINDOW_WRITE, not 0
  uint32_t server_uid = 0;  // who may open it: the port's owner
  uint32_t server_gid = 0;  // the port's group, shown as the file's
};

// A window as its file shows it.
struct WindowFile {
  uint64_t id = 0;
  NodeId ino;        // WindowTable::NodeOf(id)
  uint32_t uid = 0;  // the server side's
  uint32_t gid = 0;
  uint32_t perm = 0;  // 0400, 0200 or 0600, as the access allows
  uint64_t size = 0;  // the window's length
  Timestamp since;    // when the call attached it
};

// An AttachmentTable: a window ends when the Attachment its call's
// message holds is destroyed (core/message_attributes.h).
class WindowTable final : public AttachmentTable {
 public:
  // Inode numbers of window files: kFirstNode + id. The Namespace numbers
  // its nodes from 1 up, one at a time; it never gets near 2^62.
  static constexpr uint64_t kFirstNode = uint64_t{1} << 62;
  static NodeId NodeOf(uint64_t id) { return NodeId(kFirstNode + id); }
  static bool IsWindowNode(NodeId ino) { return ino.value() > kFirstNode; }
  static uint64_t IdOf(NodeId ino) { return ino.value() - kFirstNode; }

  // `memory` null: memory windows are off (lpcfs without -o
  // memory_windows) and Attach() fails kNotSupported. At most
  // `max_per_user` windows of one client uid live at once; each holds a
  // pidfd of the daemon's.
  explicit WindowTable(ClientMemory* memory, size_t max_per_user = 1024);
  WindowTable(const WindowTable&) = delete;
  WindowTable& operator=(const WindowTable&) = delete;

  bool enabled() const { return memory_ != nullptr; }

  // A call attaches a window: its id, new and never given out again.
  // Pins the client process first. kNotSupported when off or the
  // client's pid is unknown, kBrokenPipe if the client is gone,
  // kQuotaExceeded past max_per_user.
  Result<uint64_t> Attach(const WindowSpec& spec);
  // The window ends (its call was answered or ended, or its connection
  // did): its name goes, and its open files fail EPIPE from now on. Waits
  // for a transfer in progress. An id that ended before is ignored.
  void End(uint64_t id);
  // AttachmentTable: the Attachment of window `id` was destroyed.
  void Detach(uint64_t id) override { End(id); }

  // --- The .windows folder, as user `uid` sees it: only the windows
  // whose server side `uid` is (others' are kNotFound, as if absent).
  Result<WindowFile> Lookup(std::string_view name, uint32_t uid);
  std::vector<WindowFile> List(uint32_t uid);
  // stat() of an open or looked-up window file; kNotFound once it ended.
  Result<WindowFile> Stat(uint64_t id);
  // open(2) with access mode `access` (O_RDONLY, O_WRONLY, O_RDWR) by
  // `uid`: kNotFound if it ended, kAccessDenied if `uid` is not its server
  // side's or the mode asks for more than the window allows. (The kernel
  // has checked the mode bits already; this is the daemon's own check.)
  Status Open(uint64_t id, uint32_t uid, int access);

  // pread(2): up to into.size() bytes from `offset` of the window; 0 at
  // or past its end, fewer where it ends. kBrokenPipe once it ended,
  // kBadHandle if it is not readable, or what the client's memory says.
  Result<size_t> Read(uint64_t id, uint64_t offset, std::span<std::byte> into);
  // pwrite(2): `data` at `offset`; a write that would pass the end
  // writes nothing and fails kFileTooBig. Errors as Read().
  Result<size_t> Write(uint64_t id, uint64_t offset,
                       std::span<const std::byte> data);

  size_t size();

 private:
  struct Window {
    WindowSpec spec;
    std::unique_ptr<PinnedProcess> process;
    Timestamp since;
  };
  WindowFile FileOf(uint64_t id, const Window& w) const;
  // The window of `id`, or null once it ended. mu_ must be held.
  Window* Find(uint64_t id);
  // Takes window `it` out of the table; the caller destroys it.
  std::unique_ptr<PinnedProcess> Erase(std::map<uint64_t, Window>::iterator it);

  ClientMemory* const memory_;
  const size_t max_per_user_;
  std::mutex mu_;
  uint64_t last_id_ = 0;
  // Ordered by id, so that a listing comes out in the order of the calls.
  std::map<uint64_t, Window> windows_;
  std::unordered_map<uint32_t, size_t> per_user_;  // by client uid
};

}  // namespace lpc
