// What the broker tells an administrator: one Event per notable thing that
// happened (lpcfs.8 "LOGGING"), decided here as data and written by the
// daemon (fs/daemon.cc) to stderr. Events name ports, connections and
// processes, never message contents.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "caller.h"
#include "errors.h"

namespace lpc {

// syslog's order and numbers (LOG_ERR 3 .. LOG_DEBUG 7): the daemon prefixes
// lines with <N> under systemd, which journald reads as the priority.
enum class LogLevel : uint8_t {
  kError = 3,
  kWarning = 4,
  kNotice = 5,
  kInfo = 6,
  kDebug = 7,
};

// "error", "warning", ... as -o log_level= spells them.
const char* LevelName(LogLevel level);
bool ParseLevel(const std::string& text, LogLevel* out);

enum class EventKind : uint8_t {
  kPortCreated,      // notice
  kPortClosed,       // notice
  kConnectRefused,   // info: no such live port, backlog full, rejected
  kConnectTimedOut,  // info: connect_timeout passed
  kRecordRejected,   // warning: a server wrote a record the daemon refused
  kQueueFull,        // debug: a write found its queue full (one per message)
  kQuotaExceeded,    // warning: a per-user quota refused something
};
constexpr size_t kEventKinds = 7;

struct Event {
  EventKind kind = EventKind::kPortCreated;
  std::string port;   // the port's path, "/a/b"; may be empty
  uint64_t conn = 0;  // the connection id, 0 if none
  Sender who;         // the server (port events, records) or the client
  Error error = Error::kInvalid;  // the errno the caller got, if any
  std::string detail;             // why: the record's field, the quota, ...
};

LogLevel LevelOf(EventKind kind);

// The line for an event, without level prefix and newline, for example
// `record rejected on /svc conn 7 by pid 42 uid 1000: field pid: must be 0
// ... (EINVAL)`.
std::string FormatEvent(const Event& event);

// Keeps a flood of one kind of event out of the journal: at most `burst`
// lines of each kind per `window`; the first line of a later window is
// preceded by a count of what was left out.
class EventRateLimit {
 public:
  using Clock = std::chrono::steady_clock;
  EventRateLimit(unsigned burst = 20,
                 Clock::duration window = std::chrono::seconds(10))
      : burst_(burst), window_(window) {}
  struct Verdict {
    bool write = false;
    uint64_t suppressed_before = 0;  // left out since the last line written
  };
  Verdict Admit(EventKind kind, Clock::time_point now);

 private:
  struct Slot {
    Clock::time_point start{};
    unsigned written = 0;
    uint64_t suppressed = 0;
  };
  unsigned burst_;
  Clock::duration window_;
  Slot slots_[kEventKinds];
};

}  // namespace lpc
