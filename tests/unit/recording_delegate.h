// A BrokerDelegate that records every answer, for tests without a mount.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "broker.h"

namespace lpc::testing {

struct Opened {
  OpenedHandle handle;
};
struct Data {
  Bytes bytes;
  std::string text() const {
    return std::string(reinterpret_cast<const char*>(bytes.data()),
                       bytes.size());
  }
};
struct Written {
  size_t count;
};
using Reply = std::variant<Opened, Data, Written, Error>;

class RecordingDelegate : public BrokerDelegate {
 public:
  bool interrupted(Token token) override { return interrupted_.count(token); }
  void reply_open(Token t, OpenedHandle h) override { add(t, Opened{h}); }
  void reply_data(Token t, std::span<const std::byte> d) override {
    add(t, Data{Bytes(d.begin(), d.end())});
  }
  void reply_written(Token t, size_t n) override { add(t, Written{n}); }
  void reply_error(Token t, Error e) override { add(t, e); }
  void notify_poll(PollToken p) override { notified.push_back(p); }
  void drop_poll(PollToken p) override { dropped.push_back(p); }

  // The reply to `token`, if it has been answered.
  std::optional<Reply> reply(Token token) const {
    auto it = replies_.find(token);
    if (it == replies_.end()) return std::nullopt;
    return it->second;
  }
  bool answered(Token token) const { return replies_.count(token); }
  void mark_interrupted(Token token) { interrupted_.insert(token); }

  std::vector<PollToken> notified;
  std::vector<PollToken> dropped;
  int double_replies = 0;

 private:
  void add(Token t, Reply r) {
    if (replies_.count(t)) ++double_replies;
    replies_[t] = std::move(r);
  }
  std::map<Token, Reply> replies_;
  std::set<Token> interrupted_;
};

}  // namespace lpc::testing
