#include "log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace lpc {

void EventLog::Write(LogLevel level, const std::string& line) {
  if (!Enabled(level)) return;
  std::string text;
  if (journal_) text = "<" + std::to_string(static_cast<int>(level)) + ">";
  text += "lpcfs: ";
  text += LevelName(level);
  text += ": " + line + "\n";
  // One write(2) per line, so lines of two threads never interleave.
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

void EventLog::Write(const Event& event) {
  LogLevel level = LevelOf(event.kind);
  if (!Enabled(level)) return;
  EventRateLimit::Verdict verdict;
  {
    std::lock_guard lock(mu_);
    verdict = limit_.Admit(event.kind, EventRateLimit::Clock::now());
  }
  if (verdict.suppressed_before) {
    Write(level, std::to_string(verdict.suppressed_before) +
                     " more lines like the next left out");
  }
  if (verdict.write) Write(level, FormatEvent(event));
}

bool StderrIsJournal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env) return false;
  uintmax_t dev = 0, ino = 0;
  if (std::sscanf(env, "%ju:%ju", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace lpc
