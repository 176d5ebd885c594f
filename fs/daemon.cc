#include "daemon.h"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>

#include "file_handles.h"
#include "kernel_replies.h"
#include "mapped_section_memory.h"
#include "process_vm_memory.h"

namespace lpc {

ExpiryTimer::ExpiryTimer(Broker* broker) : broker_(broker) {
  thread_ = std::thread([this] { Run(); });
}

ExpiryTimer::~ExpiryTimer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ExpiryTimer::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void ExpiryTimer::Run() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  while (!stop_) {
    // Connect timeouts are whole seconds: a coarse tick serves them. An
    // ioctl's timeout_ms wants its own moment, which the broker knows.
    Clock::time_point until = Clock::now() + std::chrono::milliseconds(200);
    lock.unlock();
    std::optional<Clock::time_point> next;
    try {
      next = broker_->NextDeadline();
    } catch (const std::exception&) {
    }
    lock.lock();
    if (next && *next < until) until = *next;
    cv_.wait_until(lock, until, [this] { return stop_ || woken_; });
    if (stop_) break;
    woken_ = false;
    // Woken early for a new deadline: look again at the earliest.
    if (Clock::now() < until) continue;
    lock.unlock();
    try {
      broker_->Expire(std::chrono::steady_clock::now());
    } catch (const std::exception& e) {
      fuse_log(FUSE_LOG_ERR, "lpcfs: timeouts: %s\n", e.what());
    }
    lock.lock();
  }
}

Daemon::Daemon(Limits limits, std::chrono::microseconds spin,
               bool memory_windows)
    : channel_(spin),
      client_memory_(memory_windows ? std::make_unique<ProcessVmMemory>()
                                    : nullptr),
      windows_(client_memory_.get()),
      broker_(this, limits, &windows_, NewMappedSectionMemory) {}

std::string Daemon::AttachChannel(fuse_session* session) {
  fuse_custom_io io{};
  io.read = [](int fd, void* buf, size_t len, void* userdata) {
    return static_cast<Daemon*>(userdata)->channel_.Read(fd, buf, len);
  };
  io.writev = [](int fd, struct iovec* iov, int count, void* userdata) {
    return static_cast<Daemon*>(userdata)->channel_.Writev(fd, iov, count);
  };
  session_ = session;
  return channel_.Attach(session, fuse_session_fd(session), io);
}

Daemon::~Daemon() { StopExpiryTimer(); }

void Daemon::StartExpiryTimer() {
  if (!expiry_) expiry_ = std::make_unique<ExpiryTimer>(&broker_);
}

void Daemon::StopExpiryTimer() { expiry_.reset(); }

Token Daemon::Defer(fuse_req_t req) {
  Token token = requests_.Add(req);
  // May call OnInterrupt at once if the interrupt came first: it marks
  // the token, and the broker answers EINTR when it would park it.
  fuse_req_interrupt_func(req, OnInterrupt,
                          reinterpret_cast<void*>(token.value()));
  return token;
}

// Called by libfuse with its lock of this request held, so it replies
// without fuse_req_interrupt_func (which takes that lock again).
void Daemon::OnInterrupt(fuse_req_t req, void* data) {
  Daemon& d = Of(req);
  Token token(reinterpret_cast<uintptr_t>(data));
  d.requests_.MarkInterrupted(token);
  Broker::Cancelled cancelled;
  try {
    cancelled = d.broker_.Cancel(token);
  } catch (const std::exception& e) {
    fuse_log(FUSE_LOG_ERR, "lpcfs: interrupt: %s\n", e.what());
    return;  // the broker keeps the request and answers it later
  }
  if (!cancelled) return;  // answered already, or about to be
  fuse_req_t r = d.requests_.Take(token);
  if (!r) return;
  if (cancelled.answer) {
    // An ioctl whose batch took effect: it reports that, not EINTR.
    fuse_reply_ioctl(r, 0, cancelled.answer->data(), cancelled.answer->size());
  } else {
    fuse_reply_err(r, EINTR);
  }
}

void Daemon::Abandon(Token token, int err) noexcept {
  try {
    broker_.Cancel(token);
  } catch (...) {
    // The broker may still hold it; the table decides who replies.
  }
  if (fuse_req_t req = Claim(token)) fuse_reply_err(req, err);
}

fuse_req_t Daemon::Claim(Token token) {
  fuse_req_t req = requests_.Take(token);
  if (req) fuse_req_interrupt_func(req, nullptr, nullptr);
  return req;
}

bool Daemon::Interrupted(Token token) { return requests_.Interrupted(token); }

bool Daemon::ReplyOpen(Token token, OpenedHandle handle) {
  fuse_req_t req = Claim(token);
  if (!req) return false;
  OpenStyle style = handle.section  ? OpenStyle::kSection
                    : handle.stream ? OpenStyle::kMessageStream
                                    : OpenStyle::kSnapshot;
  uint64_t fh = FileHandleOf(handle.handle, handle.section);
  // -ENOENT: the caller was interrupted meanwhile and is gone.
  return ReplyOpenRaw(req, fh, style) != -ENOENT;
}

void Daemon::ReplyData(Token token, std::span<const std::byte> data) {
  if (fuse_req_t req = Claim(token)) {
    fuse_reply_buf(req, reinterpret_cast<const char*>(data.data()),
                   data.size());
  }
}

void Daemon::ReplyWritten(Token token, size_t count) {
  if (fuse_req_t req = Claim(token)) fuse_reply_write(req, count);
}

void Daemon::ReplyError(Token token, Error error) {
  if (fuse_req_t req = Claim(token)) fuse_reply_err(req, ToErrno(error));
}

void Daemon::ReplyIoctl(Token token, std::span<const std::byte> out) {
  if (fuse_req_t req = Claim(token))
    fuse_reply_ioctl(req, 0, out.data(), out.size());
}

void Daemon::DeadlineAdded() {
  if (expiry_) expiry_->Wake();
}

void Daemon::NotifyPoll(PollToken poll) {
  fuse_lowlevel_notify_poll(reinterpret_cast<fuse_pollhandle*>(poll.value()));
}

void Daemon::DropPoll(PollToken poll) {
  fuse_pollhandle_destroy(reinterpret_cast<fuse_pollhandle*>(poll.value()));
}

void Daemon::Log(const Event& event) { log_.Write(event); }

void Daemon::InvalidateNode(NodeId node, bool data) {
  if (!session_) return;
  // Offset -1: attributes and ACLs only; 0 with length 0: every page too.
  // -ENOENT: the kernel has no inode of it (any more); nothing to drop.
  fuse_lowlevel_notify_inval_inode(session_, node.value(), data ? 0 : -1, 0);
}

}  // namespace lpc
