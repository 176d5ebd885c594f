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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker_limits.h"
#include "caller.h"
#include "connection.h"
#include "errors.h"
#include "events.h"
#include "handle_table.h"
#include "ids.h"
#include "message_router.h"
#include "monitor.h"
#include "namespace.h"
#include "outbox.h"
#include "quota.h"
#include "records.h"
#include "requests.h"
#include "section_memory.h"
#include "section_table.h"
#include "server_command.h"
#include "server_port.h"
#include "stats_text.h"
#include "tables.h"
#include "view_table.h"
#include "window_table.h"

namespace lpc {

struct CreatedPort {
  Attr attr;
  HandleId handle;
};

struct CreatedSection {
  Attr attr;
  HandleId handle;
};

class Broker {
 public:
  // `windows`: where calls attach memory windows (lpc.7 "MEMORY
  // WINDOWS"); null: a call with a window fails EOPNOTSUPP. It must
  // outlive the broker. `section_memory` makes the memory of each section
  // (the daemon's commits pages lazily; core/section_memory.h).
  explicit Broker(BrokerDelegate* delegate, Limits limits = {},
                  WindowTable* windows = nullptr,
                  SectionMemoryFactory section_memory = NewHeapSectionMemory);
  // Requests still waiting are dropped unanswered: call AbortWaiters()
  // first while the delegate can still answer them.
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  const Limits& limits() const { return limits_; }
  // The .windows folder, whose entries the adapter answers from the
  // WindowTable. Fixed when the broker is made: no lock needed.
  NodeId windows_dir() const { return names_.windows_dir(); }
  // Events below `level` are not made (core/outbox.h); default: all.
  void SetLogLevel(LogLevel level);

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
  // `access`: the open(2) access mode of the server handle.
  Result<CreatedPort> CreatePort(NodeId parent, std::string_view name,
                                 uint32_t perm, uint32_t umask, bool exclusive,
                                 const Caller& caller, int access = O_RDWR);

  // --- Sections (lpc.7 "SECTIONS"), answered at once: they never wait.
  // The folder they live in; it never changes.
  NodeId sections_dir() const { return names_.sections_dir(); }
  // open(O_CREAT) in .sections: a new section of size 0, owned by the
  // caller, and its first handle. EEXIST if the name is taken (the kernel
  // opens an existing one without asking us to create it).
  Result<CreatedSection> CreateSection(NodeId parent, std::string_view name,
                                       uint32_t perm, uint32_t umask,
                                       const Caller& caller, int access);
  // read(2) of a section's handle: up to `size` bytes at `offset`.
  Result<Bytes> ReadSection(HandleId handle, uint64_t offset, size_t size);
  // write(2) of a section's handle by `writer` (fsuid), or without one
  // the kernel writing back a mapping's pages, which changes neither size
  // nor mtime. Only the owner or root may write past the end (EPERM).
  // Returns the bytes stored: all of them.
  Result<size_t> WriteSection(HandleId handle, uint64_t offset,
                              std::span<const std::byte> data,
                              std::optional<uint32_t> writer);
  // Sections alive now, for tests.
  size_t section_count();

  // --- Views (lpc.7 "VIEWS"). /lpc/.views shows each caller, by its
  // filesystem uid, the views it received, named by id; each is its
  // section's node. ENOENT for anyone else's.
  NodeId views_dir() const { return names_.views_dir(); }
  Result<Attr> LookupView(std::string_view name, uint32_t uid);
  Result<std::vector<DirEntry>> ListViews(uint32_t uid);
  // unlink(2) of /lpc/.views/ID: the receiver ends the view.
  Status ReleaseView(std::string_view name, uint32_t uid);
  size_t view_count();

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
  // --- ioctls (lpc.7 "IOCTLS"), answered through the delegate's
  // ReplyIoctl or ReplyError. `buffer` is the ioctl's input, whose size
  // the command gave. The kernel does not pass O_NONBLOCK with an ioctl:
  // the buffer's LPC_TRANSFER_NO_WAIT says not to wait.
  // LPC_IOC_CALL: sends one message and waits for the reply to it.
  void Call(Token token, HandleId handle, std::span<const std::byte> buffer,
            const Writer& writer);
  // LPC_IOC_TRANSFER: sends a batch of records, then receives some.
  void Transfer(Token token, HandleId handle, std::span<const std::byte> buffer,
                const Writer& writer);

  // Closes any handle: a port's, a connection's, .stats' or a section's.
  void Release(HandleId handle);
  // LPC_IOC_MONITOR on an open .monitor (lpc.7 "MONITOR"): sets its
  // options from `buffer` (a struct lpc_monitor_options) and returns them
  // as they are in effect. Answered at once.
  Result<lpc_monitor_options> SetMonitorOptions(
      HandleId handle, std::span<const std::byte> buffer);

  // Current readiness (POLLIN/POLLOUT/POLLHUP bits). A nonzero `poll` is
  // kept (the previous one dropped) and notified when readiness changes.
  Result<uint32_t> Poll(HandleId handle, PollToken poll);

  // A signal arrived for a waiting request. If the broker still held it,
  // it has let go and the caller must answer it: with `answer` as the
  // ioctl's output if there is one (a receive whose batch was sent), else
  // EINTR. The broker cannot answer itself: the caller holds libfuse's
  // lock of the request, which the delegate's answers take.
  struct Cancelled {
    bool held = false;
    std::optional<Bytes> answer;
    explicit operator bool() const { return held; }
  };
  Cancelled Cancel(Token token);

  // The daemon is stopping: every waiting request is answered
  // ECONNABORTED, as the kernel answers those it has not sent yet.
  void AbortWaiters();

  // Fails connection requests whose connect_timeout has passed, and
  // ends the ioctls whose timeout_ms has (ETIMEDOUT).
  void Expire(std::chrono::steady_clock::time_point now);
  // When Expire() next has an ioctl to end, if it has one.
  std::optional<std::chrono::steady_clock::time_point> NextDeadline();

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

  // Takes a parked request out of its list early (a signal, a timeout,
  // the daemon stopping: `why`) and applies what its going changes.
  std::unique_ptr<Request> Unpark(Request& request, Error why);
  void AfterUnpark(const WaitSite& site, Request& request, Error why);
  // A call ended before its reply: its message is withdrawn if the server
  // has not read it, else the server gets a CANCEL record (lpc.7 "IOCTLS").
  void EndCall(Connection& conn, CallRequest& call, Error why);
  // Remembers when an ioctl with a timeout must end.
  void SetDeadline(Token token, uint32_t timeout_ms);

  // Sections (broker_sections.cc).
  void OpenSection(std::unique_ptr<OpenRequest> open, Node& node,
                   int open_flags);
  // `caller`: the fsuid asking, if known (write-back is not).
  Status ResizeSection(Node& node, uint64_t size,
                       std::optional<uint32_t> caller);
  // The section's last holder went: its name goes, and the kernel drops
  // the pages it still caches.
  void SectionGone(std::optional<NodeId> node);

  // Views (broker_views.cc). A message of `conn` about to go `direction`
  // carries `view`, sent by `sender`: checks it (lpc.7 "VIEWS", errors),
  // begins it and fills in its id. Nothing changes if it fails.
  Status BeginView(Connection& conn, Direction direction, lpc_view& view,
                   const Sender& sender);
  // The view ends (unlinked, its call over, its connection gone): what
  // was lent goes back, and the section may go with it. Nothing if it
  // has ended already.
  void EndView(uint64_t id);
  // The view `name` names, if `uid` received it.
  const View* ReceivedView(std::string_view name, uint32_t uid);

  // Connecting.
  void Connect(std::unique_ptr<OpenRequest> open, Node& node, int open_flags,
               const Caller& caller);
  void Accept(Connection& conn, std::unique_ptr<OpenRequest> open = nullptr);
  void Reject(Connection& conn, Error why);
  // The request ends before it was accepted: a signal, or connect_timeout.
  // Its open request has been taken already.
  void Withdraw(Connection& conn);
  void OpenServerFile(std::unique_ptr<OpenRequest> open, Connection& conn,
                      int open_flags);
  void WriteCommand(std::unique_ptr<WriteRequest> write, ServerPort& port,
                    std::span<const std::byte> data, const Sender& sender);
  // A decoded command of a server: what it does, and the connection it
  // names (null if none of this port).
  struct DecidedCommand {
    CommandDecision decision;
    Connection* conn = nullptr;
  };
  DecidedCommand Decide(ServerPort& port, const ServerCommand& command);
  // Carries out a decision that sends nothing (options, accept, reject,
  // disconnect).
  Status ApplyControl(ServerPort& port, Connection* conn,
                      const ServerCommand& command, CommandAction action,
                      Error why);
  // The largest message `conn` carries: its port's limit (lpc_port_limits),
  // or the daemon's once the port has closed or without a connection.
  size_t MaxMessageOf(const Connection* conn);
  // The message a SEND or REPLY command carries.
  static Message CommandMessage(const ServerCommand& command,
                                const Sender& sender);
  // A message about to be sent in `direction` carries attributes: checks
  // what they name and attaches it (fills in the ids the receiver reads
  // and adds the Attachments that keep it alive). A message without
  // attributes passes. `call`: the message is an LPC_IOC_CALL's. Nothing
  // changes if it fails (lpc.7 "VIEWS", "MEMORY WINDOWS").
  Status Attach(Connection& conn, Direction direction, Message& message,
                bool call);
  // One record of an ioctl's batch, on a handle: takes effect now, or
  // fails with no effect (lpc.7 "IOCTLS").
  Status SendRecord(const Handle& handle, std::span<const std::byte> record,
                    const Writer& writer, TransferCounts& counts);
  Status ApplyCommand(ServerPort& port, const ServerCommand& command,
                      const Sender& sender);

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

  // The monitor (core/monitor.h, broker_monitor.cc): opening and reading
  // .monitor, and the events of the broker's own operations. A port's
  // events go to the monitors that see its owner.
  void OpenMonitor(std::unique_ptr<OpenRequest> open, int open_flags,
                   const Caller& caller);
  void ReadMonitor(std::unique_ptr<ReadRequest> read, HandleId handle);
  void Monitor(const ServerPort& port, uint16_t type, const Connection& conn,
               const Sender& actor, uint32_t flags = 0, int32_t status = 0,
               uint64_t msg_id = 0);
  // A connection request refused before it became a connection.
  void MonitorRefused(NodeId port_node, const Sender& client, Error why);

  // Log events (core/events.h): the path of a port's name, and an event
  // about `port` and connection `conn` (0: none) queued in the outbox.
  std::string PortPath(const ServerPort& port);
  void LogEvent(EventKind kind, const ServerPort& port, uint64_t conn,
                const Sender& who, Error error, std::string detail = {});
  // A quota refused `uid` something (lpc.7 "QUOTAS").
  void LogQuota(const std::string& path, uint32_t uid, QuotaKind kind);
  // A server's record was malformed: which field, and why.
  void LogRecordFault(const ServerPort& port, std::span<const std::byte> data,
                      const Sender& writer, Error error,
                      const RecordFault& fault);

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
  // After quota_ (its sections hold charges).
  SectionTable sections_;
  // Before tables_: the messages and connections there hold views, which
  // end into it (and into names_, sections_, outbox_) when they go.
  ViewTable views_;
  // Ends a view when the last Attachment holding it goes.
  class ViewEnds final : public AttachmentTable {
   public:
    explicit ViewEnds(Broker* broker) : broker_(broker) {}
    void Detach(uint64_t id) override { broker_->EndView(id); }

   private:
    Broker* broker_;
  };
  ViewEnds view_ends_{this};
  // The kFolders charge of each folder, by node, from mkdir to rmdir.
  std::unordered_map<NodeId, QuotaCharge> folder_charges_;
  // The folder paths .stats snapshots share (lpc.7 "STATS", "Cost").
  FolderPaths folder_paths_;
  Tables tables_;
  // After tables_ and names_, which it reads; before the router, which
  // publishes to it.
  MonitorHub monitors_{limits_.monitor_queue, context_, names_, tables_.handles,
                       outbox_};
  MessageRouter router_{tables_, outbox_, *delegate_, monitors_};
  // Not owned; its lock is taken under mu_ (core/window_table.h).
  WindowTable* const windows_;
  // When ioctls with a timeout_ms end, if still parked then.
  std::multimap<std::chrono::steady_clock::time_point, Token> deadlines_;
};

}  // namespace lpc
