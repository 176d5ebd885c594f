// A BrokerDelegate that plays the adapter for tests without a mount: it
// hands out tokens, records every answer, and checks what libfuse would
// not: that each request is answered once, with a reply of its own kind
// (fuse_lowlevel.h lists the valid replies of every operation).
//
// With token reuse on, a freed token is handed out again at once, the most
// recently freed first, as malloc hands out the address of a freed
// fuse_req_t to the next request. A broker that kept a stale token would
// then answer the new request: the kind check, or the test's own check of
// what the reply says, catches it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
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
// The output of an ioctl: the lpc_transfer header and its records.
struct Transferred {
  Bytes out;
};
using Reply = std::variant<Opened, Data, Written, Transferred, Error>;

// One request as the test sees it: the token may be reused later, the
// request id never.
struct Req {
  Token token;
  uint64_t id = 0;
  RequestKind kind = RequestKind::kRead;
};

class RecordingDelegate : public BrokerDelegate {
 public:
  explicit RecordingDelegate(bool reuse_tokens = false)
      : reuse_tokens_(reuse_tokens) {}

  // A new request of `kind`, waiting for its answer.
  Req Issue(RequestKind kind) {
    Token token;
    if (reuse_tokens_ && !free_.empty()) {
      token = free_.back();
      free_.pop_back();
    } else {
      token = Token(++last_token_);
    }
    Req r{token, ++last_id_, kind};
    live_[token] = Live{r, false};
    return r;
  }

  // What the adapter does after Broker::Cancel() let go of a request: it
  // answers it itself, EINTR or the ioctl output the broker gave.
  void AnswerCancelled(const Req& r, const Broker::Cancelled& c) {
    if (c.answer) {
      Record(r.token, Transferred{*c.answer});
    } else {
      Record(r.token, Error::kInterrupted);
    }
  }
  void MarkInterrupted(const Req& r) {
    auto it = live_.find(r.token);
    if (it != live_.end() && it->second.req.id == r.id) {
      it->second.interrupted = true;
    }
  }

  std::optional<Reply> reply(const Req& r) const {
    auto it = replies_.find(r.id);
    if (it == replies_.end()) return std::nullopt;
    return it->second;
  }
  bool answered(const Req& r) const { return replies_.count(r.id) != 0; }
  size_t waiting() const { return live_.size(); }

  // BrokerDelegate.
  bool Interrupted(Token t) override {
    auto it = live_.find(t);
    return it != live_.end() && it->second.interrupted;
  }
  bool ReplyOpen(Token t, OpenedHandle h) override {
    Check(t, RequestKind::kOpen);
    return Record(t, Opened{h});
  }
  void ReplyData(Token t, std::span<const std::byte> d) override {
    Check(t, RequestKind::kRead);
    Record(t, Data{Bytes(d.begin(), d.end())});
  }
  void ReplyWritten(Token t, size_t n) override {
    Check(t, RequestKind::kWrite);
    Record(t, Written{n});
  }
  void ReplyIoctl(Token t, std::span<const std::byte> out) override {
    auto it = live_.find(t);
    if (it != live_.end() && it->second.req.kind != RequestKind::kCall &&
        it->second.req.kind != RequestKind::kReceive) {
      ++wrong_kind_replies;
    }
    Record(t, Transferred{Bytes(out.begin(), out.end())});
  }
  void ReplyError(Token t, Error e) override {
    if (e == Error::kAborted) ++aborted;
    Record(t, e);
  }
  void NotifyPoll(PollToken p) override { notified.push_back(p); }
  void DropPoll(PollToken p) override { dropped.push_back(p); }
  void Log(const Event& e) override { events.push_back(e); }
  void InvalidateNode(NodeId node, bool data) override {
    invalidated.push_back({node, data});
  }

  std::vector<PollToken> notified;
  std::vector<PollToken> dropped;
  std::vector<Event> events;  // in the order the broker reported them
  std::vector<std::pair<NodeId, bool>> invalidated;  // node, with pages
  int stray_replies = 0;       // for a token no request was waiting on
  int wrong_kind_replies = 0;  // data for an open, a count for a read...
  int aborted = 0;             // ECONNABORTED answers

 private:
  struct Live {
    Req req;
    bool interrupted;
  };
  void Check(Token t, RequestKind kind) {
    auto it = live_.find(t);
    if (it != live_.end() && it->second.req.kind != kind) ++wrong_kind_replies;
  }
  bool Record(Token t, Reply reply) {
    auto it = live_.find(t);
    if (it == live_.end()) {
      ++stray_replies;
      return false;  // the kernel would refuse it: nobody asked
    }
    replies_[it->second.req.id] = std::move(reply);
    live_.erase(it);
    free_.push_back(t);
    return true;
  }

  bool reuse_tokens_;
  uint64_t last_token_ = 1000;
  uint64_t last_id_ = 0;
  std::unordered_map<Token, Live> live_;
  std::vector<Token> free_;
  std::map<uint64_t, Reply> replies_;
};

}  // namespace lpc::testing
