#include "events.h"

#include <cstring>

namespace lpc {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

bool ParseLevel(const std::string& text, LogLevel* out) {
  for (LogLevel l : {LogLevel::kError, LogLevel::kWarning, LogLevel::kNotice,
                     LogLevel::kInfo, LogLevel::kDebug}) {
    if (text == LevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

LogLevel LevelOf(EventKind kind) {
  switch (kind) {
    case EventKind::kPortCreated:
    case EventKind::kPortClosed:
      return LogLevel::kNotice;
    case EventKind::kConnectRefused:
    case EventKind::kConnectTimedOut:
      return LogLevel::kInfo;
    case EventKind::kRecordRejected:
    case EventKind::kQuotaExceeded:
      return LogLevel::kWarning;
    case EventKind::kQueueFull:
      return LogLevel::kDebug;
  }
  return LogLevel::kDebug;
}

namespace {

const char* What(EventKind kind) {
  switch (kind) {
    case EventKind::kPortCreated:
      return "port created";
    case EventKind::kPortClosed:
      return "port closed";
    case EventKind::kConnectRefused:
      return "connection refused";
    case EventKind::kConnectTimedOut:
      return "connection timed out";
    case EventKind::kRecordRejected:
      return "record rejected";
    case EventKind::kQueueFull:
      return "queue full";
    case EventKind::kQuotaExceeded:
      return "quota exceeded";
  }
  return "event";
}

// Whether the line names the errno the caller got.
bool HasErrno(EventKind kind) {
  return kind != EventKind::kPortCreated && kind != EventKind::kPortClosed;
}

}  // namespace

std::string FormatEvent(const Event& e) {
  std::string line = What(e.kind);
  if (!e.port.empty()) line += " on " + e.port;
  if (e.conn) line += " conn " + std::to_string(e.conn);
  // Whose doing: the server of a port, the client of a connection
  // request, the writer of a record or message, the user over a quota.
  const char* whose = "writer";
  switch (e.kind) {
    case EventKind::kPortCreated:
    case EventKind::kPortClosed:
      whose = "server";
      break;
    case EventKind::kConnectRefused:
    case EventKind::kConnectTimedOut:
      whose = "client";
      break;
    case EventKind::kQuotaExceeded:
      whose = "user";
      break;
    case EventKind::kRecordRejected:
    case EventKind::kQueueFull:
      break;
  }
  line += std::string(" ") + whose;
  if (e.who.pid) line += " pid " + std::to_string(e.who.pid);
  line += " uid " + std::to_string(e.who.uid);
  if (!e.detail.empty()) line += ": " + e.detail;
  if (HasErrno(e.kind)) {
    const char* name = strerrorname_np(ToErrno(e.error));
    line += " (";
    line += name ? name : "errno " + std::to_string(ToErrno(e.error));
    line += ")";
  }
  return line;
}

EventRateLimit::Verdict EventRateLimit::Admit(EventKind kind,
                                              Clock::time_point now) {
  Slot& s = slots_[static_cast<size_t>(kind)];
  Verdict v;
  if (s.written == 0 || now - s.start >= window_) {
    v.suppressed_before = s.suppressed;
    s = Slot{now, 0, 0};
  }
  if (s.written >= burst_) {
    ++s.suppressed;
    return v;
  }
  ++s.written;
  v.write = true;
  return v;
}

}  // namespace lpc
