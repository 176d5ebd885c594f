// The broker's outward effects: answers to requests and poll wake-ups,
// collected under the broker's lock and handed to the BrokerDelegate after
// it is released (never while holding it, so a delegate may call back in).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "errors.h"
#include "events.h"
#include "ids.h"
#include "requests.h"

namespace lpc {

// How the adapter should open the file it hands back.
struct OpenedHandle {
  HandleId handle;
  bool stream = true;  // non-seekable message stream (else: .stats)
  // A section: cached I/O that mmap(MAP_SHARED) can map (lpc.7 "SECTIONS").
  bool section = false;
};

// Implemented by the FUSE adapter with deferred fuse_reply_* calls and
// fuse_lowlevel_notify_poll; by a recording fake in unit tests. Every call
// but interrupted() is made without the broker's lock held.
class BrokerDelegate {
 public:
  virtual ~BrokerDelegate() = default;
  // Asked under the broker lock just before a request is parked: if the
  // caller was already interrupted, the broker answers EINTR instead. Must
  // not call into the broker or take a lock that is held while calling it.
  virtual bool Interrupted(Token token) = 0;
  // False if the caller has gone before it saw the handle (the kernel
  // refused the reply): no release will ever come for it, so the broker
  // releases the handle itself.
  virtual bool ReplyOpen(Token token, OpenedHandle handle) = 0;
  virtual void ReplyData(Token token, std::span<const std::byte> data) = 0;
  virtual void ReplyWritten(Token token, size_t count) = 0;
  virtual void ReplyError(Token token, Error error) = 0;
  // The answer of an ioctl (a call or a receive): its output buffer, an
  // lpc_transfer header and the records after it.
  virtual void ReplyIoctl(Token token, std::span<const std::byte> out) = 0;
  virtual void NotifyPoll(PollToken poll) = 0;
  // The broker no longer needs this poll handle: free it.
  virtual void DropPoll(PollToken poll) = 0;
  // Something an administrator may want to know happened (lpcfs.8
  // "LOGGING"); the delegate decides whether and how to write it.
  virtual void Log(const Event& event) { (void)event; }
  // What the kernel caches of `node` is stale: its attributes and ACLs,
  // and with `data` also its pages (a section that was freed). Never sent
  // for a name: that would take the folder's lock, which a request the
  // daemon has not read yet may hold.
  virtual void InvalidateNode(NodeId node, bool data) {
    (void)node;
    (void)data;
  }
};

class Outbox {
 public:
  // Answers, each consuming its request.
  void Opened(std::unique_ptr<OpenRequest> request, OpenedHandle handle);
  void Data(std::unique_ptr<ReadRequest> request, Bytes data);
  void Written(std::unique_ptr<WriteRequest> request);
  void Fail(std::unique_ptr<Request> request, Error error);
  // A call or a receive, answered with its lpc_transfer output.
  void Transferred(std::unique_ptr<Request> request, Bytes out);
  void NotifyPoll(PollToken poll);
  void DropPoll(PollToken poll);
  void InvalidateNode(NodeId node, bool data);
  // An event at or above the log level; others are dropped here, and a
  // hot path asks Logs() before it builds one (lpcfs.8 "LOGGING").
  void Log(Event event);
  bool Logs(EventKind kind) const { return LevelOf(kind) <= log_level_; }
  void set_log_level(LogLevel level) { log_level_ = level; }

  struct ReplyOpen {
    Token token;
    OpenedHandle handle;
  };
  struct ReplyData {
    Token token;
    Bytes data;
  };
  struct ReplyWritten {
    Token token;
    size_t count;
  };
  struct ReplyError {
    Token token;
    Error error;
  };
  struct ReplyIoctl {
    Token token;
    Bytes out;
  };
  struct Notify {
    PollToken poll;
  };
  struct Drop {
    PollToken poll;
  };
  struct Invalidate {
    NodeId node;
    bool data = false;
  };
  // Behind a pointer: small effects stay small (and GCC 12 warns, wrongly,
  // of strings held inline in this variant).
  struct LogEvent {
    std::unique_ptr<const Event> event;
  };
  using Effect = std::variant<ReplyOpen, ReplyData, ReplyWritten, ReplyError,
                              ReplyIoctl, Notify, Drop, Invalidate, LogEvent>;
  using Batch = std::vector<Effect>;

  // Everything collected so far, emptying the outbox.
  Batch Take();
  // Hands a batch to the delegate in order. Returns the handles of opens
  // the kernel refused.
  static std::vector<HandleId> Deliver(Batch batch, BrokerDelegate& delegate);

 private:
  Batch effects_;
  LogLevel log_level_ = LogLevel::kDebug;  // every event, unless told
};

}  // namespace lpc
