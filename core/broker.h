// The broker: named ports, connections, message queues and the requests
// waiting on them. It knows nothing of FUSE and makes no system calls.
//
// The Broker coordinates the pieces that each own their rules: Namespace
// (names), ServerPort (a port's records and requests), Connection (the
// life of one connection) with its two Channels (one direction each),
// HandleTable (open files), WaitList (parked requests) and Outbox (the
// effects). Each public call is one operation of the file protocol; it
// routes by handle kind, applies the cascades that touch a port and its
// connections together, and ends with one reaping pass that frees the
// connections nothing refers to any more.
//
// Every open, read and write is answered exactly once through the
// BrokerDelegate, now or later, possibly from another call.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker_limits.h"
#include "caller.h"
#include "connection.h"
#include "errors.h"
#include "handle_table.h"
#include "ids.h"
#include "message_router.h"
#include "namespace.h"
#include "outbox.h"
#include "quota.h"
#include "records.h"
#include "requests.h"
#include "server_port.h"
#include "stats_text.h"
#include "tables.h"

namespace lpc {

struct CreatedPort {
  Attr attr;
  HandleId handle;
};

class Broker {
 public:
  explicit Broker(BrokerDelegate* delegate, Limits limits = {});
  // Requests still waiting are dropped unanswered: call AbortWaiters()
  // first while the delegate can still answer them.
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  const Limits& limits() const { return limits_; }

  // --- Names (answered at once).
  Result<Attr> Lookup(NodeId parent, std::string_view name);
  void Forget(NodeId ino, uint64_t count);
  Result<Attr> GetAttr(NodeId ino);
  Result<Attr> SetAttr(NodeId ino, const SetAttrRequest& request);
  // perm less umask, or narrowed by the folder's default ACL if it has
  // one (Namespace::AddCreated).
  Result<Attr> MakeFolder(NodeId parent, std::string_view name, uint32_t perm,
                          uint32_t umask, const Sender& caller);
  Status RemoveFolder(NodeId parent, std::string_view name);
  Status Unlink(NodeId parent, std::string_view name);
  Status Rename(NodeId parent, std::string_view name, NodeId new_parent,
                std::string_view new_name, unsigned flags);
  Result<std::vector<DirEntry>> ReadDir(NodeId dir);

  // --- ACLs as the kernel's xattrs (lpc.7 "ACCESS CONTROL"). The kernel
  // has checked that the caller owns the file; `caller` decides whether a
  // set-group-ID bit survives a new access list, as on ext4.
  Result<std::vector<std::byte>> GetAcl(NodeId ino, AclKind kind);
  Result<Attr> SetAcl(NodeId ino, AclKind kind,
                      std::span<const std::byte> xattr, const Caller& caller);
  Result<std::vector<AclKind>> AclsOf(NodeId ino);
  // The LPC_SERVER_XATTR value of a port (lpc.7 "WHO SERVES A NAME"):
  // kNoData for anything but a port that still has its server handle.
  Result<std::string> ServerAttribute(NodeId ino);

  // open(O_CREAT): creates a port and its server handle. Without O_EXCL the
  // caller did not ask for a new port, so the answer is ECONNREFUSED
  // (lpc.7 "Creating a port": a missing port is never created by accident).
  Result<CreatedPort> CreatePort(NodeId parent, std::string_view name,
                                 uint32_t perm, uint32_t umask, bool exclusive,
                                 const Caller& caller);

  // --- Files (answered through the delegate, now or later). A token must
  // be new: not one the broker still holds.
  // open_flags: the open(2) access mode bits and O_NONBLOCK.
  void Open(Token token, NodeId ino, int open_flags, const Caller& caller);
  // offset: where the kernel says the read starts. Message files are
  // streams, so it is 0 but for the later parts of one read(2) the kernel
  // split (see ReadRequest).
  void Read(Token token, HandleId handle, size_t size, uint64_t offset,
            bool nonblock);
  // A client's message records how `writer` differs from the client at
  // connect (LPC_MESSAGE_*, core/context_change.h).
  void Write(Token token, HandleId handle, std::span<const std::byte> data,
             bool nonblock, const Writer& writer);
  void Release(HandleId handle);
  // Current readiness (POLLIN/POLLOUT/POLLHUP bits). A nonzero `poll` is
  // kept (the previous one dropped) and notified when readiness changes.
  Result<uint32_t> Poll(HandleId handle, PollToken poll);

  // A signal arrived for a waiting request. True if the broker still held
  // it and has now let go: the caller must answer EINTR itself.
  bool Cancel(Token token);

  // The daemon is stopping: every waiting request is answered
  // ECONNABORTED, as the kernel answers those it has not sent yet.
  void AbortWaiters();

  // Fails connection requests whose connect_timeout has passed.
  void Expire(std::chrono::steady_clock::time_point now);

  // The .stats text (lpc.7 "STATS"): all of it, and what `reader` sees.
  std::string StatsText();
  // What `uid` is charged for now (lpc.7 "QUOTAS").
  QuotaUsage UsageOf(uint32_t uid);
  // True when nothing is charged to any user: every path released.
  bool quota_empty();
  std::string StatsText(const Caller& reader);

  // Counts of live objects, for tests.
  size_t port_count();
  size_t connection_count();
  size_t waiter_count();
  size_t node_count();
  size_t handle_count();

 private:
  // Holds the lock for one public call. On destruction reaps, releases
  // the lock and then delivers the effects the call produced.
  class Transaction;

  // What a request leaving its list early (cancelled, aborted) changes.
  void AfterUnpark(const WaitSite& site, Request& request);

  // Connecting.
  void Connect(std::unique_ptr<OpenRequest> open, Node& node, int open_flags,
               const Caller& caller);
  void Accept(Connection& conn, std::unique_ptr<OpenRequest> open = nullptr);
  void Reject(Connection& conn, Error why);
  // The request ends before it was accepted: a signal, or connect_timeout.
  // Its open request has been taken already.
  void Withdraw(Connection& conn);
  void OpenServerFile(std::unique_ptr<OpenRequest> open, Connection& conn);
  void WriteCommand(std::unique_ptr<WriteRequest> write, ServerPort& port,
                    std::span<const std::byte> data);

  // Ending.
  void QueueDisconnect(Connection& conn, uint32_t reason);
  void ClientClosed(Connection& conn);
  // The server side ends the connection: a DISCONNECT record, the last
  // close of .conn/ID, or the close of the server handle.
  void EndServerSide(Connection& conn, uint32_t reason);
  void ClosePort(PortId id);
  // One pass at the end of every call: frees the connections it touched
  // that nothing refers to any more.
  void ReapFinished();
  void Erase(Connection& conn);

  uint32_t Readiness(const Handle& handle);

  // Lets in the writers that waited for their user's bytes quota, once
  // bytes of that user were released (lpc.7 "QUOTAS").
  void ServeQuotaWaiters();
  // The folder_depth limit for a folder whose parent is `parent` and that
  // has `height` levels of folders below it.
  bool DepthAllows(NodeId parent, size_t height);
  // The whole .stats text: ports, connections and users.
  // The .stats text `reader` sees, the user lines included.
  StatsSnapshot Stats(const Accessor& reader);

  BrokerDelegate* delegate_;
  Limits limits_;
  // Lock order: mu_ is taken by every public call and released before any
  // delegate call but Interrupted(), which the adapter answers from its
  // own table under its own lock, taken after mu_ (fs/request_table.h).
  // The broker never calls into the adapter otherwise while holding it.
  std::mutex mu_;
  // Declared before everything that holds requests, so that it outlives
  // them: a WaitList answers what it is destroyed with through it.
  Outbox outbox_;
  WaitRegistry registry_;
  WaitContext context_{&registry_, &outbox_};
  // Declared before the objects that hold charges, so it outlives them.
  QuotaLedger quota_{limits_.quota};
  Namespace names_;
  // The kFolders charge of each folder, by node, from mkdir to rmdir.
  std::unordered_map<NodeId, QuotaCharge> folder_charges_;
  // The folder paths .stats snapshots share (lpc.7 "STATS", "Cost").
  FolderPaths folder_paths_;
  Tables tables_;
  MessageRouter router_{tables_, outbox_, *delegate_};
};

}  // namespace lpc
