// The key-value store that the example servers serve (epoll_server.cc,
// pool_server.cc): one request message in, one reply out.
//
//   set KEY VALUE   -> OK               (VALUE is the rest of the line)
//   get KEY         -> VALUE, or ERR no such key
//   del KEY         -> OK, or ERR no such key
//   anything else   -> ERR usage: set KEY VALUE | get KEY | del KEY
//
// One trailing newline of a request is ignored. Not thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

class KeyValueStore {
 public:
  std::string Handle(std::string_view request) {
    if (!request.empty() && request.back() == '\n') request.remove_suffix(1);
    std::string_view command = NextWord(request);
    std::string_view key = NextWord(request);
    if (command == "set" && !key.empty() && !request.empty()) {
      values_[std::string(key)] = request;
      return "OK";
    }
    if (!key.empty() && request.empty()) {
      auto it = values_.find(std::string(key));
      if (command == "get") {
        return it != values_.end() ? it->second : "ERR no such key";
      }
      if (command == "del") {
        if (it == values_.end()) return "ERR no such key";
        values_.erase(it);
        return "OK";
      }
    }
    return "ERR usage: set KEY VALUE | get KEY | del KEY";
  }

 private:
  // Removes and returns the first space-separated word of `text`, and the
  // single space after it.
  static std::string_view NextWord(std::string_view& text) {
    size_t end = text.find(' ');
    std::string_view word = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    return word;
  }

  std::map<std::string, std::string> values_;
};
