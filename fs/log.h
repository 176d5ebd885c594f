// The daemon's log: one line per event on stderr, which systemd hands to
// the journal (lpcfs.8 "LOGGING"). What to say is decided in core/events.h;
// this writes it, below -o log_level, at most a burst of lines per kind of
// event per window.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "events.h"

namespace lpc {

class EventLog {
 public:
  // `journal`: stderr is systemd's journal stream, so lines start with
  // the <N> priority prefix journald reads (sd-daemon(3)).
  explicit EventLog(LogLevel level = LogLevel::kNotice, bool journal = false)
      : level_(level), journal_(journal) {}

  LogLevel level() const { return level_; }
  // Before any other thread logs.
  void Configure(LogLevel level, bool journal) {
    level_ = level;
    journal_ = journal;
  }
  bool Enabled(LogLevel level) const { return level <= level_; }

  // Writes `line` ("port created ...") as "lpcfs: LEVEL: line".
  void Write(LogLevel level, const std::string& line);
  // Writes an event at its level, unless its kind is flooding.
  void Write(const Event& event);

 private:
  LogLevel level_;
  bool journal_;
  std::mutex mu_;  // a leaf: the loop and the expiry timer both log
  EventRateLimit limit_;
};

// True if stderr is the stream systemd named in $JOURNAL_STREAM
// ("DEVICE:INODE", systemd.exec(5)).
bool StderrIsJournal();

}  // namespace lpc
