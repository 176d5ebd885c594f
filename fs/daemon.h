// Everything one lpcfs daemon owns, passed to libfuse as the session's
// userdata: the broker, the table of requests it may still answer, the
// identity cache and the connect-timeout timer. It is the broker's
// delegate, turning its answers into deferred fuse_reply_* calls.
//
// Lock order, outermost first:
//   1. libfuse's lock of one request, held while OnInterrupt runs (and
//      taken by fuse_req_interrupt_func); libfuse's session lock is never
//      held while our code runs.
//   2. Broker::mu_, taken by every broker call.
//   3. RequestTable::mu_, ProcessIdCache::mu_, ExpiryTimer::mu_,
//      EventLog::mu_, WindowTable::mu_: leaves.
// Replies are sent with none of 2 and 3 held, so the lock of a request is
// never wanted under the broker's lock.
#pragma once

#include <fuse_lowlevel.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "broker.h"
#include "identity.h"
#include "kernel_channel.h"
#include "log.h"
#include "request_table.h"
#include "window_table.h"

namespace lpc {

// Fails connection requests whose connect_timeout passed. A coarse tick is
// enough: the timeout is measured in seconds.
class ExpiryTimer {
 public:
  explicit ExpiryTimer(Broker* broker);
  ~ExpiryTimer();
  // An ioctl with a timeout was handed to the broker: its deadline may be
  // earlier than the one the timer waits for.
  void Wake();

 private:
  void Run();
  Broker* broker_;
  std::mutex mu_;  // a leaf lock, released before calling the broker
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

class Daemon final : public BrokerDelegate {
 public:
  // `spin`: how long the session loop polls /dev/fuse after the last
  // request before it sleeps (kernel_channel.h). `memory_windows`: calls
  // may attach memory windows (-o memory_windows, lpc.7 "MEMORY
  // WINDOWS"); the daemon must then keep CAP_SYS_PTRACE.
  Daemon(Limits limits, std::chrono::microseconds spin,
         bool memory_windows = false);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  static Daemon& Of(fuse_req_t req) {
    return *static_cast<Daemon*>(fuse_req_userdata(req));
  }

  Broker& broker() { return broker_; }
  Identities& identities() { return identities_; }
  WindowTable& windows() { return windows_; }
  const RequestTable& requests() const { return requests_; }
  EventLog& log() { return log_; }
  // Before the loop starts: what the log writes, and so what events the
  // broker makes at all.
  void ConfigureLog(LogLevel level, bool journal) {
    log_.Configure(level, journal);
    broker_.SetLogLevel(level);
  }

  // A request the broker will answer, now or later: registered under a
  // new token, with its interrupts routed to Broker::Cancel.
  Token Defer(fuse_req_t req);
  // The exception boundary of a deferred operation: if the request is
  // still unanswered it is taken back from the broker and answered `err`.
  void Abandon(Token token, int err) noexcept;

  // Reads and writes /dev/fuse through the channel from now on. Returns
  // what failed; empty on success.
  std::string AttachChannel(fuse_session* session);
  const KernelChannel& channel() const { return channel_; }

  void StartExpiryTimer();
  void StopExpiryTimer();
  // After the broker took an ioctl with a timeout_ms.
  void DeadlineAdded();

  // BrokerDelegate.
  bool Interrupted(Token token) override;
  bool ReplyOpen(Token token, OpenedHandle handle) override;
  void ReplyData(Token token, std::span<const std::byte> data) override;
  void ReplyWritten(Token token, size_t count) override;
  void ReplyError(Token token, Error error) override;
  void ReplyIoctl(Token token, std::span<const std::byte> out) override;
  void NotifyPoll(PollToken poll) override;
  void DropPoll(PollToken poll) override;
  void Log(const Event& event) override;
  void InvalidateNode(NodeId node, bool data) override;

 private:
  static void OnInterrupt(fuse_req_t req, void* data);
  // The request of a token the broker answers, with its interrupt callback
  // unregistered, or null if it is no longer waiting.
  fuse_req_t Claim(Token token);

  // The session, once AttachChannel() has it: for notifications.
  fuse_session* session_ = nullptr;
  EventLog log_;  // before broker_: the broker's last events go here
  KernelChannel channel_;
  RequestTable requests_;
  Identities identities_;
  // Null when memory windows are off.
  std::unique_ptr<ClientMemory> client_memory_;
  // Before broker_: what the broker's messages and calls attach refers
  // to the table until they are destroyed.
  WindowTable windows_;
  Broker broker_;
  std::unique_ptr<ExpiryTimer> expiry_;  // stopped before broker_ goes
};

}  // namespace lpc
