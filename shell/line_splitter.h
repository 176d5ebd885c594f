// The framing rules between LPC messages and a command's byte streams, as
// `lpc serve` and `lpc call` apply them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lpc::shell {

// Cuts a byte stream (a command's standard output) into LPC messages: each
// line, newline included, becomes one message, and a line longer than
// max_message bytes becomes several messages of max_message bytes followed
// by the rest. A partial line is held until its newline arrives, except that
// full max_message pieces of it are released at once. Concatenating the
// messages gives back the stream exactly.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_message);

  // Appends data and moves every message it completes to `out`.
  void Feed(std::string_view data, std::vector<std::string>& out);
  // End of stream: moves the held partial line (if any) to `out`.
  void Finish(std::vector<std::string>& out);
  // Bytes held back waiting for a newline.
  size_t held() const { return partial_.size(); }

 private:
  size_t max_message_;
  std::string partial_;  // always shorter than max_message_, no newline
};

// The bytes a client message becomes on a command's standard input: the
// message, plus a newline unless it already ends in one.
std::string MessageAsLine(std::string_view message);

}  // namespace lpc::shell
