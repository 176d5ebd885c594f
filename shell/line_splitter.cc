#include "line_splitter.h"

namespace lpc::shell {

LineSplitter::LineSplitter(size_t max_message) : max_message_(max_message) {}

void LineSplitter::Feed(std::string_view data, std::vector<std::string>& out) {
  while (!data.empty()) {
    size_t room = max_message_ - partial_.size();
    std::string_view chunk = data.substr(0, room);
    size_t newline = chunk.find('\n');
    if (newline != std::string_view::npos) chunk = chunk.substr(0, newline + 1);
    partial_.append(chunk);
    data.remove_prefix(chunk.size());
    if (partial_.size() == max_message_ || partial_.back() == '\n') {
      out.push_back(std::move(partial_));
      partial_.clear();
    }
  }
}

void LineSplitter::Finish(std::vector<std::string>& out) {
  if (partial_.empty()) return;
  out.push_back(std::move(partial_));
  partial_.clear();
}

std::string MessageAsLine(std::string_view message) {
  std::string line(message);
  if (line.empty() || line.back() != '\n') line += '\n';
  return line;
}

}  // namespace lpc::shell
