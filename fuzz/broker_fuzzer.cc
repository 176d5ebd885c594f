// A libFuzzer target for the broker core: it decodes the input into a
// sequence of file operations on one lpc::Broker, plays the FUSE adapter
// with a fake BrokerDelegate, and checks after every operation the
// invariants the adapter and the clients rely on (broker.h: every request
// is answered exactly once; requests.h: reply kinds follow request kinds;
// lpc.7 "MESSAGES", "SERVER HANDLE", "BACK-PRESSURE").
//
// The fake adapter hands out tokens as libfuse hands out request
// addresses: a freed token is reused at once, the most recently freed
// first (tests/unit/recording_delegate.h does the same). A broker that kept
// a stale token would answer the wrong request, and the checks below catch
// the reply by its kind, its count or its bytes.
//
// The model is deliberately weaker than the full semantics. It predicts
// only what is easy to get right: which messages were accepted (a write
// answered with its count) and in which order, so that every byte read can
// be checked against the message it must come from; which records a
// connection may still produce; errors that follow from the call alone
// (a stale handle, an oversized message, a malformed record); and the
// object counts. Where it cannot tell (EOF against EAGAIN, which of two
// errors), it checks nothing.
//
// Input format (also used by fuzz/make_corpus.py, keep the two in step):
//   3 header bytes: queue_messages = 1 + b0 % 4; queue_bytes = 256 + 3 * b1;
//     b2: backlog = 1 + b2 % 4, reply_window = 1 + (b2 >> 2) % 4,
//     connect_timeout_ms = {0, 1000, 3000, 30000}[(b2 >> 4) % 4].
//   then operations until the input ends: an opcode byte (% 16, see
//   Session::Step) and its argument bytes. Once the input is exhausted,
//   bytes come from a generator seeded by the input, so the final clean-up
//   still varies.
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "broker.h"
#include "lpc.h"
#include "records.h"

namespace lpc::fuzz {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);
// Ids from here on are never handed out by the broker in one run (its
// counter starts at 1 and counts a few thousand objects at most).
constexpr uint64_t kGarbageId = uint64_t{1} << 40;
constexpr size_t kMaxSteps = 3000;

int trace_level = 0;  // LPC_FUZZ_TRACE=1 prints every operation

[[noreturn]] void Violation(const char* file, int line, const char* what,
                            const char* fmt, ...) {
  std::fprintf(stderr, "\nbroker_fuzzer: invariant violated at %s:%d: %s\n  ",
               file, line, what);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  __builtin_trap();
}

#define CHECK(cond, ...)                                            \
  do {                                                              \
    if (!(cond)) Violation(__FILE__, __LINE__, #cond, __VA_ARGS__); \
  } while (0)

void Trace(const char* fmt, ...) {
  if (!trace_level) return;
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
}

// Reads the input front to back. Past its end, bytes come from a xorshift
// generator seeded by the input, so that the clean-up phase still varies.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {
    state_ = 0x9E3779B97F4A7C15ull ^ size;
    for (size_t i = 0; i < size; ++i) state_ = state_ * 131 + data[i];
    if (!state_) state_ = 1;
  }
  bool exhausted() const { return pos_ >= size_; }
  uint8_t Byte() {
    if (pos_ < size_) return data_[pos_++];
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<uint8_t>(state_ >> 24);
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | Byte() << 8); }
  uint32_t U32() { return U16() | uint32_t{U16()} << 16; }
  // A value below n, which must not be 0.
  size_t Pick(size_t n) { return n < 256 ? Byte() % n : U16() % n; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  uint64_t state_;
};

// The payload of message (or record) number `serial`: distinct for every
// write, so a byte delivered to the wrong reader does not match.
Bytes Pattern(uint64_t serial, size_t length) {
  Bytes out(length);
  for (size_t i = 0; i < length; ++i) {
    uint32_t h = static_cast<uint32_t>(serial) * 2654435761u ^
                 static_cast<uint32_t>(i) * 2246822519u;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    out[i] = static_cast<std::byte>(h);
  }
  return out;
}

int Dir(Direction d) { return d == Direction::kToServer ? 0 : 1; }

// ------------------------------------------------------------ the model

enum class HKind : uint8_t { kServer, kClient, kConnFile, kStats, kStale };

const char* KindName(HKind k) {
  switch (k) {
    case HKind::kServer:
      return "server";
    case HKind::kClient:
      return "client";
    case HKind::kConnFile:
      return "conn-file";
    case HKind::kStats:
      return "stats";
    case HKind::kStale:
      return "stale";
  }
  return "?";
}

struct HandleModel {
  HKind kind = HKind::kStale;
  size_t index = kNone;  // the port (kServer) or connection (others)
  PollToken poll;
};

struct PortModel {
  NodeId ino;
  HandleId server;
  bool live = true;
  bool auto_accept = false;
  // The port's largest message: the broker's max_message until a
  // PORT_OPTIONS record with an lpc_port_limits payload changes it.
  size_t max_message = LPC_MAX_MESSAGE;
};

struct ExpectedMessage {
  Bytes data;
  Sender sender;
};

// One direction of a connection as the model knows it: the messages whose
// writes were answered with their count, in that order (which is the
// order the broker queued them in), and how far the readers got.
struct ChannelModel {
  std::vector<ExpectedMessage> messages;
  size_t next = 0;    // the message the next read starts or continues
  size_t offset = 0;  // bytes of it already read
  bool unread() const { return next < messages.size(); }
  // The broker dropped what was not read (lpc.7 "BACK-PRESSURE").
  void Discard() {
    next = messages.size();
    offset = 0;
  }
};

enum class OpenState : uint8_t { kWaiting, kOpened, kFailed };
enum class RecordState : uint8_t {
  kUnseen,          // its CONNECT record has not been read
  kConnectRead,     // CONNECT read; MESSAGE and one DISCONNECT may follow
  kDisconnectRead,  // nothing more may come
  kRejected,        // REJECT succeeded: nothing more may come
};

// One open(2) of a live port: a connection request, and the connection.
struct ConnModel {
  size_t port = kNone;
  Caller caller;  // caller.sender.pid is unique: it names the CONNECT record
  uint32_t connect_flags = 0;  // expected in CONNECT, but ACCEPTED
  bool expect_accepted = false;
  OpenState open = OpenState::kWaiting;
  Error open_error = Error::kBusy;
  size_t failed_step = 0;
  ConnId id;  // known once its CONNECT record is read
  RecordState records = RecordState::kUnseen;
  ChannelModel channel[2];      // by Dir()
  std::set<uint64_t> awaiting;  // read as MESSAGE, not yet replied to
  HandleId client;              // its client handle, while open
  size_t server_files = 0;      // open .conn/ID handles
  bool bound = false;           // .conn/ID has been opened
  // A side has gone, or the request was withdrawn: once its CONNECT has
  // been read, a DISCONNECT is owed (lpc.7 "Reading records").
  bool ended = false;
};

enum class Target : uint8_t { kPort, kConnFile, kStats, kOther };

// A request the fake adapter waits on, with what the model expects of it.
struct Pending {
  uint64_t serial = 0;
  Token token;
  RequestKind kind = RequestKind::kRead;
  bool interrupted = false;  // a signal came before the broker parked it
  bool caller_gone = false;  // open: the kernel refuses the reply
  bool nonblock = false;
  // Open.
  Target target = Target::kOther;
  size_t conn = kNone;  // kPort, kConnFile
  bool expect_stream = true;
  // Read and write.
  HandleId handle;
  HKind hkind = HKind::kStale;
  size_t hindex = kNone;
  size_t size = 0;  // read: the buffer; write: the bytes written
  uint64_t offset = 0;
  // What the answer must be, when the model knows.
  std::optional<Error> expect_error;
  bool must_fail = false;
  bool expect_written = false;
  bool expect_empty = false;  // a read answered with no bytes at once
  // A write that, once answered with its count, queued this message.
  size_t msg_conn = kNone;
  Direction msg_dir = Direction::kToServer;
  Bytes msg_data;
  Sender msg_sender;
  // A record written to a server handle (decoded by the model too).
  bool record = false;
  uint32_t rec_type = 0;
  size_t rec_port = kNone;
  size_t rec_conn = kNone;
  uint64_t rec_msg = 0;
  uint32_t rec_flags = 0;
  uint32_t rec_max_message = 0;  // PORT_OPTIONS: lpc_port_limits, 0: none
  int32_t rec_status = 0;
};

struct OpenReply {
  OpenedHandle handle;
  bool accepted;  // false: the fake refused it, as for a caller gone
};
using Reply = std::variant<OpenReply, Bytes, size_t, Error>;

struct Answer {
  Pending req;
  Reply reply;
  bool by_adapter = false;  // EINTR the adapter gave after Cancel()
};

// ------------------------------------------------------------ fake adapter

class FakeAdapter : public BrokerDelegate {
 public:
  Token Issue(Pending p) {
    Token t;
    if (!free_.empty()) {
      t = free_.back();
      free_.pop_back();
    } else {
      t = Token(++last_token_);
    }
    p.token = t;
    p.serial = ++serial_;
    by_serial_[p.serial] = t;
    live_.emplace(t, std::move(p));
    return t;
  }
  size_t live_count() const { return live_.size(); }
  const Pending* Find(Token t) const {
    auto it = live_.find(t);
    return it == live_.end() ? nullptr : &it->second;
  }
  // The live requests, oldest first.
  std::vector<Token> LiveTokens() const {
    std::vector<Token> out;
    for (const auto& [serial, t] : by_serial_) out.push_back(t);
    return out;
  }
  // A token no request holds: the last freed one, or a fresh one.
  Token IdleToken(bool fresh) const {
    if (!fresh && !free_.empty()) return free_.back();
    return Token(last_token_ + 1000);
  }

  // What the adapter does after Broker::Cancel() returned true.
  void AnswerInterrupted(Token t) {
    Pending p = Take(t, std::nullopt, "adapter EINTR");
    answers_.push_back({std::move(p), Error::kInterrupted, true});
  }

  std::vector<Answer> TakeAnswers() {
    std::vector<Answer> out;
    out.swap(answers_);
    return out;
  }
  bool has_answers() const { return !answers_.empty(); }

  PollToken NewPoll() {
    PollToken p(++last_poll_);
    polls_.insert(p);
    return p;
  }
  bool PollLive(PollToken p) const { return polls_.count(p) != 0; }
  size_t poll_count() const { return polls_.size(); }

  bool aborting = false;

  // BrokerDelegate.
  bool Interrupted(Token t) override {
    const Pending* p = Find(t);
    CHECK(p, "Interrupted() asked for token %llu, which no request holds",
          static_cast<unsigned long long>(t.value()));
    return p->interrupted;
  }
  bool ReplyOpen(Token t, OpenedHandle h) override {
    Pending p = Take(t, RequestKind::kOpen, "ReplyOpen");
    bool accepted = !p.caller_gone;
    answers_.push_back({std::move(p), OpenReply{h, accepted}});
    return accepted;
  }
  void ReplyData(Token t, std::span<const std::byte> d) override {
    Pending p = Take(t, RequestKind::kRead, "ReplyData");
    answers_.push_back({std::move(p), Bytes(d.begin(), d.end())});
  }
  void ReplyWritten(Token t, size_t count) override {
    Pending p = Take(t, RequestKind::kWrite, "ReplyWritten");
    answers_.push_back(
        {std::move(p), Reply(std::in_place_type<size_t>, count)});
  }
  void ReplyIoctl(Token t, std::span<const std::byte> out) override {
    const Pending* live = Find(t);
    CHECK(live && (live->kind == RequestKind::kCall ||
                   live->kind == RequestKind::kReceive),
          "ReplyIoctl for token %llu, which is no ioctl",
          static_cast<unsigned long long>(t.value()));
    Pending p = Take(t, std::nullopt, "ReplyIoctl");
    answers_.push_back({std::move(p), Bytes(out.begin(), out.end())});
  }
  void ReplyError(Token t, Error e) override {
    CHECK(e != Error::kAborted || aborting,
          "ECONNABORTED for token %llu outside AbortWaiters()",
          static_cast<unsigned long long>(t.value()));
    Pending p = Take(t, std::nullopt, "ReplyError");
    answers_.push_back({std::move(p), e});
  }
  void NotifyPoll(PollToken p) override {
    CHECK(PollLive(p), "NotifyPoll(%llu) of a poll handle not held",
          static_cast<unsigned long long>(p.value()));
  }
  void DropPoll(PollToken p) override {
    CHECK(polls_.erase(p) == 1, "DropPoll(%llu) of a poll handle not held",
          static_cast<unsigned long long>(p.value()));
  }

 private:
  Pending Take(Token t, std::optional<RequestKind> kind, const char* what) {
    auto it = live_.find(t);
    CHECK(it != live_.end(), "%s for token %llu, which no request holds", what,
          static_cast<unsigned long long>(t.value()));
    CHECK(!kind || it->second.kind == *kind,
          "%s for token %llu, a request of another kind (%d)", what,
          static_cast<unsigned long long>(t.value()),
          static_cast<int>(it->second.kind));
    Pending p = std::move(it->second);
    live_.erase(it);
    by_serial_.erase(p.serial);
    free_.push_back(t);
    return p;
  }

  uint64_t last_token_ = 0;
  uint64_t serial_ = 0;
  uint64_t last_poll_ = 0;
  std::unordered_map<Token, Pending> live_;
  std::map<uint64_t, Token> by_serial_;
  std::vector<Token> free_;  // the last one is reused first
  std::set<PollToken> polls_;
  std::vector<Answer> answers_;
};

// ------------------------------------------------------------ the session

const char* const kNames[] = {"a", "b", "c", "d"};

class Session {
 public:
  Session(const uint8_t* data, size_t size)
      : in_(data, size), broker_(&adapter_, ReadLimits()) {
    base_ = std::chrono::steady_clock::now();
    conn_dir_ = broker_.Lookup(Namespace::kRootIno, ".conn").value().ino;
    stats_ = broker_.Lookup(Namespace::kRootIno, ".stats").value().ino;
  }

  void Run() {
    while (!in_.exhausted() && step_ < kMaxSteps) {
      ++step_;
      Step();
      CheckInvariants();
    }
    Finish();
  }

 private:
  Limits ReadLimits() {
    Limits l;
    l.queue_messages = 1 + in_.Byte() % 4;
    l.queue_bytes = 256 + 3 * size_t{in_.Byte()};
    // Short messages, as the model's lengths and edges are chosen for
    // (PortModel::max_message).
    l.max_message = LPC_MAX_MESSAGE;
    uint8_t b = in_.Byte();
    l.backlog = 1 + b % 4;
    l.reply_window = 1 + (b >> 2) % 4;
    static constexpr uint32_t kTimeouts[] = {0, 1000, 3000, 30000};
    l.connect_timeout_ms = kTimeouts[(b >> 4) % 4];
    return l;
  }

  void Step() {
    uint8_t op = in_.Byte() % 16;
    Trace("[%zu] op %u\n", step_, op);
    switch (op) {
      case 0:
        return CreatePortOp();
      case 1:
      case 2:
        return ConnectOp();
      case 3:
        return OpenOtherOp();
      case 4:
      case 5:
        return ReadOp();
      case 6:
        return WriteMessageOp();
      case 7:
      case 8:
        return WriteRecordOp();
      case 9:
        return ReleaseOp();
      case 10:
        return PollOp();
      case 11:
        return CancelOp();
      case 12:
        return ExpireOp();
      case 13:
        return NamesOp();
      case 14:
        return InfoOp();
      case 15:
        return ReadRecordOp();
    }
  }

  // --- picking things

  HandleId PickHandle() {
    uint8_t b = in_.Byte();
    if (b >= 0xF8 || live_handles_.empty()) {
      if (!stale_.empty() && (b & 1)) return stale_[b % stale_.size()];
      return HandleId(kGarbageId + b);
    }
    return live_handles_[b % live_handles_.size()];
  }
  HandleModel ModelOf(HandleId h) const {
    auto it = handles_.find(h);
    return it == handles_.end() ? HandleModel{} : it->second;
  }
  HandleId PickServerHandle() {
    std::vector<HandleId> servers;
    for (HandleId h : live_handles_) {
      if (handles_.at(h).kind == HKind::kServer) servers.push_back(h);
    }
    uint8_t b = in_.Byte();
    if (servers.empty() || b >= 0xF8) return PickHandle();
    return servers[b % servers.size()];
  }
  // A connection id for a record written on port `port`: mostly one of its
  // connections that the model has seen, sometimes another port's, or one
  // that never existed.
  uint64_t PickConnId(size_t port) {
    uint8_t b = in_.Byte();
    if (b >= 0xF0 || known_.empty()) return kGarbageId + b;
    if (b < 0xE0) {
      std::vector<size_t> mine;
      for (size_t c : known_) {
        if (conns_[c].port == port) mine.push_back(c);
      }
      if (!mine.empty()) return conns_[mine[b % mine.size()]].id.value();
    }
    return conns_[known_[b % known_.size()]].id.value();
  }
  Sender PickSender() {
    uint8_t b = in_.Byte();
    return Sender{2000u + b % 8, 1000u + (b >> 3) % 4, 1000u + (b >> 5)};
  }
  size_t PickReadSize() {
    static constexpr size_t kSizes[] = {
        0, 1, 2, 3, 7, 47, 48, 49, 71, 72, 100, 255, 256, 4096, 4200, 8192};
    uint8_t b = in_.Byte();
    if (b < 0xF0) return kSizes[b % 16];
    return in_.U16() % 8300;
  }
  size_t PickLength() {
    uint8_t b = in_.Byte();
    if (b < 0x80) return 1 + b % 16;
    if (b < 0xF0) return b;
    static constexpr size_t kEdges[] = {0, 255, 256, 257, 300, 1, 48, 128};
    return kEdges[b % 8];
  }

  void AddHandle(HandleId h, HKind kind, size_t index) {
    CHECK(!seen_handles_.count(h), "handle %llu given out twice",
          static_cast<unsigned long long>(h.value()));
    seen_handles_.insert(h);
    handles_[h] = HandleModel{kind, index, PollToken()};
    live_handles_.push_back(h);
  }

  // --- operations

  Caller OwnerCaller() {
    Caller c;
    c.sender = {1, 1000, 1000};
    return c;
  }

  void CreatePortOp() {
    const char* name = kNames[in_.Byte() % 4];
    uint8_t f = in_.Byte();
    bool exclusive = (f & 0xE0) != 0xE0;
    uint32_t perm = 0600 | (f & 077);
    auto r = broker_.CreatePort(Namespace::kRootIno, name, perm, 0, exclusive,
                                OwnerCaller());
    Trace("  create %s excl=%d -> %s\n", name, exclusive,
          r ? "ok" : Describe(r.error()));
    if (!r) {
      CHECK(exclusive || r.error() == Error::kConnectionRefused ||
                r.error() == Error::kExists,
            "O_CREAT without O_EXCL failed with %s", Describe(r.error()));
      Settle();
      return;
    }
    CHECK(exclusive, "a port was created without O_EXCL");
    ports_.push_back(PortModel{r->attr.ino, r->handle, true, false});
    AddHandle(r->handle, HKind::kServer, ports_.size() - 1);
    Settle();
  }

  void ConnectOp() {
    uint8_t b = in_.Byte();
    size_t port = kNone;
    NodeId ino;
    if (ports_.empty() || b >= 0xF8) {
      ino = NodeId(kGarbageId + b);
    } else {
      port = b % ports_.size();
      ino = ports_[port].ino;
    }
    static constexpr int kModes[] = {O_RDONLY, O_WRONLY, O_RDWR, O_RDWR};
    uint8_t m = in_.Byte();
    int flags = kModes[m % 4] | (m & 4 ? O_NONBLOCK : 0);
    uint8_t f = in_.Byte();
    Pending p;
    p.kind = RequestKind::kOpen;
    p.interrupted = f & 1;
    p.caller_gone = (f & 6) == 6;
    Caller caller;
    caller.sender = {next_pid_++, 1000u + (f >> 3) % 3, 1000u + (f >> 5) % 3};
    uint8_t g = in_.Byte();
    size_t ngroups = g < 0xF0 ? g % 5 : LPC_MAX_GROUPS + g % 3;
    for (size_t i = 0; i < ngroups; ++i) {
      caller.groups.push_back(100 + static_cast<uint32_t>(i));
    }
    caller.groups_truncated = ngroups > LPC_MAX_GROUPS || g == 0xEF;
    caller.cap_effective = in_.Byte();
    caller.cap_permitted = caller.cap_effective | 0x100;
    bool auto_accepted = false;
    if (port != kNone && ports_[port].live) {
      ConnModel c;
      c.port = port;
      c.caller = caller;
      int mode = flags & O_ACCMODE;
      if (mode == O_RDONLY || mode == O_RDWR)
        c.connect_flags |= LPC_CONNECT_READ;
      if (mode == O_WRONLY || mode == O_RDWR) {
        c.connect_flags |= LPC_CONNECT_WRITE;
      }
      if (caller.groups_truncated) {
        c.connect_flags |= LPC_CONNECT_GROUPS_TRUNCATED;
      }
      c.expect_accepted = ports_[port].auto_accept;
      auto_accepted = c.expect_accepted;
      conns_.push_back(std::move(c));
      conn_by_pid_[caller.sender.pid] = conns_.size() - 1;
      p.target = Target::kPort;
      p.conn = conns_.size() - 1;
    } else {
      // A port that never was, or whose server handle has been closed.
      p.target = Target::kOther;
      p.must_fail = true;
      if (port == kNone) p.expect_error = Error::kNotFound;
    }
    Token t = adapter_.Issue(std::move(p));
    Trace("  open port %zu ino %llu flags %#x token %llu\n", port,
          static_cast<unsigned long long>(ino.value()), flags,
          static_cast<unsigned long long>(t.value()));
    broker_.Open(t, ino, flags, caller);
    Settle();
    if (auto_accepted) {
      CHECK(conns_.back().open != OpenState::kWaiting,
            "an open of an auto-accepting port waits");
    }
  }

  void OpenOtherOp() {
    uint8_t b = in_.Byte();
    uint8_t f = in_.Byte();
    Pending p;
    p.kind = RequestKind::kOpen;
    p.interrupted = f & 1;
    p.caller_gone = (f & 6) == 6;
    int flags = O_RDWR;
    NodeId ino;
    switch (b % 8) {
      case 0:
      case 1:
      case 2:
      case 3: {
        if (known_.empty()) return;
        size_t c = known_[in_.Byte() % known_.size()];
        auto look =
            broker_.Lookup(conn_dir_, std::to_string(conns_[c].id.value()));
        Settle();
        if (!look) return;
        CHECK(look->kind == NodeKind::kConnectionFile, ".conn/%llu is no file",
              static_cast<unsigned long long>(conns_[c].id.value()));
        ino = look->ino;
        conn_files_.push_back({ino, c});
        p.target = Target::kConnFile;
        p.conn = c;
        break;
      }
      case 4: {
        if (conn_files_.empty()) return;
        auto [file, c] = conn_files_[in_.Byte() % conn_files_.size()];
        ino = file;
        p.target = Target::kConnFile;
        p.conn = c;
        break;
      }
      case 5:
        ino = stats_;
        flags = f & 0x80 ? O_RDWR : O_RDONLY;
        p.target = Target::kStats;
        p.expect_stream = false;
        if (flags != O_RDONLY) p.expect_error = Error::kNotPermitted;
        break;
      case 6:
        ino = f & 0x80 ? conn_dir_ : Namespace::kRootIno;
        p.expect_error = Error::kIsDirectory;
        break;
      case 7:
        ino = NodeId(kGarbageId + f);
        p.expect_error = Error::kNotFound;
        break;
    }
    if (p.expect_error) p.must_fail = true;
    Token t = adapter_.Issue(std::move(p));
    Trace("  open ino %llu token %llu\n",
          static_cast<unsigned long long>(ino.value()),
          static_cast<unsigned long long>(t.value()));
    broker_.Open(t, ino, flags, OwnerCaller());
    Settle();
  }

  void IssueRead(HandleId h, size_t size, uint64_t offset, bool nonblock,
                 bool interrupted) {
    HandleModel hm = ModelOf(h);
    Pending p;
    p.kind = RequestKind::kRead;
    p.handle = h;
    p.hkind = hm.kind;
    p.hindex = hm.index;
    p.size = size;
    p.offset = offset;
    p.nonblock = nonblock;
    p.interrupted = interrupted;
    switch (hm.kind) {
      case HKind::kStale:
        p.expect_error = Error::kBadHandle;
        p.must_fail = true;
        break;
      case HKind::kClient:
      case HKind::kConnFile:
        if (size == 0) p.expect_empty = true;
        break;
      case HKind::kServer:
        if (offset > 0) p.expect_empty = true;
        break;
      case HKind::kStats:
        break;
    }
    Token t = adapter_.Issue(std::move(p));
    Trace(
        "  read %s handle %llu size %zu offset %llu nb=%d int=%d token %llu\n",
        KindName(hm.kind), static_cast<unsigned long long>(h.value()), size,
        static_cast<unsigned long long>(offset), nonblock, interrupted,
        static_cast<unsigned long long>(t.value()));
    broker_.Read(t, h, size, offset, nonblock);
    Settle();
  }

  void ReadOp() {
    HandleId h = PickHandle();
    size_t size = PickReadSize();
    uint8_t f = in_.Byte();
    uint64_t offset = 0;
    if ((f & 0x30) == 0x30) offset = f & 0x40 ? size : 1 + in_.Byte();
    IssueRead(h, size, offset, f & 1, (f & 6) == 6);
  }

  // A read of a whole record from a server handle: what a server does
  // most, worth an opcode of its own.
  void ReadRecordOp() {
    HandleId h = PickServerHandle();
    uint8_t f = in_.Byte();
    IssueRead(h, LPC_RECORD_MAX, 0, f & 1, (f & 6) == 6);
  }

  void IssueWrite(HandleId h, Bytes bytes, bool nonblock, Sender sender,
                  bool interrupted, uint64_t serial) {
    HandleModel hm = ModelOf(h);
    Pending p;
    p.kind = RequestKind::kWrite;
    p.handle = h;
    p.hkind = hm.kind;
    p.hindex = hm.index;
    p.size = bytes.size();
    p.nonblock = nonblock;
    p.interrupted = interrupted;
    switch (hm.kind) {
      case HKind::kStale:
        p.expect_error = Error::kBadHandle;
        break;
      case HKind::kStats:
        p.expect_error = Error::kNotPermitted;
        break;
      case HKind::kClient:
      case HKind::kConnFile: {
        // A connection whose port has closed has the daemon's limit.
        const PortModel& port = ports_[conns_[hm.index].port];
        if (bytes.size() > (port.live ? port.max_message : LPC_MAX_MESSAGE)) {
          p.expect_error = Error::kMessageTooLong;
        } else if (bytes.empty()) {
          p.expect_written = true;
        } else {
          p.msg_conn = hm.index;
          p.msg_dir = hm.kind == HKind::kClient ? Direction::kToServer
                                                : Direction::kToClient;
          p.msg_data = bytes;
          p.msg_sender = sender;
        }
        break;
      }
      case HKind::kServer: {
        auto cmd = DecodeServerCommand({bytes.data(), bytes.size()},
                                       ports_[hm.index].max_message);
        if (!cmd) {
          p.expect_error = cmd.error();
          break;
        }
        // A view names a section, which the model does not keep: whether
        // it attaches is the views tests' to check, not this model's.
        if (!cmd->attributes.empty()) return;
        p.record = true;
        p.rec_type = cmd->type;
        p.rec_port = hm.index;
        p.rec_msg = cmd->msg_id;
        p.rec_flags = cmd->flags;
        p.rec_status = cmd->status;
        if (cmd->type == LPC_REC_PORT_OPTIONS) {
          if (cmd->payload.size() == sizeof(lpc_port_limits)) {
            lpc_port_limits limits;
            std::memcpy(&limits, cmd->payload.data(), sizeof limits);
            p.rec_max_message = limits.max_message;
          }
          p.expect_written = true;
          break;
        }
        auto it = conn_by_id_.find(ConnId(cmd->conn_id));
        if (it == conn_by_id_.end()) {
          // An id the model has not seen may still be a live connection
          // whose CONNECT is unread: only ids the broker never gave out
          // have a known answer.
          if (cmd->conn_id < kGarbageId) return;
          p.expect_error = Error::kNotConnected;
          break;
        }
        size_t c = it->second;
        if (conns_[c].port != hm.index) {
          p.expect_error = Error::kNotConnected;
          break;
        }
        p.rec_conn = c;
        if (cmd->type == LPC_REC_SEND || cmd->type == LPC_REC_REPLY) {
          p.msg_conn = c;
          p.msg_dir = Direction::kToClient;
          p.msg_data.assign(cmd->payload.begin(), cmd->payload.end());
        }
        break;
      }
    }
    if (p.expect_error) p.must_fail = true;
    Token t = adapter_.Issue(std::move(p));
    Trace(
        "  write %s handle %llu bytes %zu nb=%d int=%d serial %llu token "
        "%llu\n",
        KindName(hm.kind), static_cast<unsigned long long>(h.value()),
        bytes.size(), nonblock, interrupted,
        static_cast<unsigned long long>(serial),
        static_cast<unsigned long long>(t.value()));
    broker_.Write(t, h, {bytes.data(), bytes.size()}, nonblock, sender);
    Settle();
  }

  void WriteMessageOp() {
    HandleId h = PickHandle();
    size_t length = PickLength();
    Sender sender = PickSender();
    uint8_t f = in_.Byte();
    uint64_t serial = ++write_serial_;
    IssueWrite(h, Pattern(serial, length), f & 1, sender, (f & 6) == 6, serial);
  }

  void WriteRecordOp() {
    HandleId h = PickServerHandle();
    HandleModel hm = ModelOf(h);
    static constexpr uint32_t kTypes[] = {
        LPC_REC_ACCEPT,     LPC_REC_REJECT,       LPC_REC_SEND, LPC_REC_REPLY,
        LPC_REC_DISCONNECT, LPC_REC_PORT_OPTIONS, LPC_REC_SEND, LPC_REC_REPLY};
    uint8_t tb = in_.Byte();
    uint32_t type = kTypes[tb % 8];
    if (tb >= 0xF8) type = tb % 2 ? LPC_REC_CONNECT : LPC_REC_MESSAGE;
    if (tb == 0xFF) type = in_.Byte();
    uint64_t conn = type == LPC_REC_PORT_OPTIONS ? 0 : PickConnId(hm.index);
    uint64_t msg = 0;
    uint32_t flags = 0;
    int32_t status = 0;
    size_t length = 0;
    switch (type) {
      case LPC_REC_REJECT: {
        static constexpr int32_t kStatus[] = {
            0, ECONNREFUSED, EACCES, EPERM, EBUSY, EAGAIN, EINVAL, -1};
        status = kStatus[in_.Byte() % 8];
        break;
      }
      case LPC_REC_REPLY: {
        uint8_t m = in_.Byte();
        auto it = conn_by_id_.find(ConnId(conn));
        if (m < 0xE0 && it != conn_by_id_.end() &&
            !conns_[it->second].awaiting.empty()) {
          const auto& ids = conns_[it->second].awaiting;
          msg = *std::next(ids.begin(), m % ids.size());
        } else {
          msg = m < 0xF8 ? 1 + m % 6 : (m == 0xFF ? 0 : kGarbageId);
        }
        [[fallthrough]];
      }
      case LPC_REC_SEND:
        length = PickLength();
        break;
      case LPC_REC_PORT_OPTIONS:
        flags = in_.Byte() % 4 == 0 ? 0 : LPC_PORT_AUTO_ACCEPT;
        break;
    }
    uint8_t f = in_.Byte();
    uint64_t serial = ++write_serial_;
    Bytes payload = Pattern(serial, length);
    Bytes rec = EncodeCommand(type, conn, msg, flags, status,
                              {payload.data(), payload.size()});
    if ((f & 0xC0) == 0xC0) {
      // Garbage: a flipped byte anywhere but in conn_id (see PickConnId),
      // or a record cut short or running long.
      uint8_t g = in_.Byte();
      uint8_t x = in_.Byte() | 1;
      if (g % 4 == 0) {
        rec.resize(rec.size() > 0 ? g % rec.size() : 0);
      } else if (g % 4 == 1) {
        rec.resize(rec.size() + 1 + g % 8, std::byte{x});
      } else {
        size_t at = in_.Byte() % rec.size();
        if (at >= 8 && at < 16) at += 8;
        if (at < rec.size()) rec[at] ^= std::byte{x};
      }
    }
    IssueWrite(h, std::move(rec), f & 1, PickSender(), (f & 6) == 6, serial);
  }

  // The kernel releases a file only once no request on it is in flight,
  // so the adapter's requests on it end first, as a signal would end
  // them. (A release with requests still parked never comes.)
  void ReleaseHandle(HandleId h) {
    for (;;) {
      Token victim;
      for (Token t : adapter_.LiveTokens()) {
        const Pending* p = adapter_.Find(t);
        if (p->kind != RequestKind::kOpen && p->handle == h) {
          victim = t;
          break;
        }
      }
      if (!victim) break;
      Trace("  cancel token %llu before release\n",
            static_cast<unsigned long long>(victim.value()));
      CHECK(broker_.Cancel(victim),
            "Cancel(%llu) of a parked request returned false",
            static_cast<unsigned long long>(victim.value()));
      adapter_.AnswerInterrupted(victim);
      Settle();
    }
    HandleModel hm = ModelOf(h);
    if (hm.kind != HKind::kStale) {
      handles_.erase(h);
      live_handles_.erase(
          std::find(live_handles_.begin(), live_handles_.end(), h));
      stale_.push_back(h);
    }
    switch (hm.kind) {
      case HKind::kServer:
        ports_[hm.index].live = false;
        for (ConnModel& c : conns_) {
          if (c.port == hm.index) {
            pending_discards_.push_back({&c - conns_.data(), 0});
          }
        }
        break;
      case HKind::kClient:
        conns_[hm.index].client = HandleId();
        pending_discards_.push_back({hm.index, 1});
        break;
      case HKind::kConnFile:
        if (--conns_[hm.index].server_files == 0) {
          pending_discards_.push_back({hm.index, 0});
        }
        break;
      case HKind::kStats:
      case HKind::kStale:
        break;
    }
    Trace("  release %s handle %llu\n", KindName(hm.kind),
          static_cast<unsigned long long>(h.value()));
    broker_.Release(h);
    Settle();
    if (hm.poll) {
      CHECK(!adapter_.PollLive(hm.poll),
            "release of handle %llu kept its poll handle",
            static_cast<unsigned long long>(h.value()));
    }
  }

  void ReleaseOp() { ReleaseHandle(PickHandle()); }

  void PollOp() {
    HandleId h = PickHandle();
    bool reg = in_.Byte() & 1;
    PollToken pt = reg ? adapter_.NewPoll() : PollToken();
    auto r = broker_.Poll(h, pt);
    Settle();
    auto it = handles_.find(h);
    if (it == handles_.end()) {
      CHECK(!r && r.error() == Error::kBadHandle,
            "poll of a stale handle did not fail EBADF");
      if (pt) CHECK(!adapter_.PollLive(pt), "poll of a stale handle kept it");
      return;
    }
    CHECK(r, "poll of a live handle failed: %s", Describe(r.error()));
    HandleModel& hm = it->second;
    uint32_t bits = r.value();
    Trace("  poll %s handle %llu -> %#x\n", KindName(hm.kind),
          static_cast<unsigned long long>(h.value()), bits);
    switch (hm.kind) {
      case HKind::kServer:
        CHECK(bits & POLLOUT, "server handle not writable: %#x", bits);
        break;
      case HKind::kStats:
        CHECK(bits == POLLIN, ".stats poll %#x", bits);
        break;
      case HKind::kClient:
      case HKind::kConnFile: {
        if (bits & POLLHUP) {
          CHECK((bits & POLLIN) && !(bits & POLLOUT), "hang-up poll %#x", bits);
          break;
        }
        const ChannelModel& ch =
            conns_[hm.index].channel[hm.kind == HKind::kClient ? 1 : 0];
        CHECK(bool(bits & POLLIN) == ch.unread(),
              "%s poll says POLLIN=%d but the model has %zu unread messages",
              KindName(hm.kind), bool(bits & POLLIN),
              ch.messages.size() - ch.next);
        break;
      }
      case HKind::kStale:
        break;
    }
    if (pt) {
      if (hm.poll && hm.poll != pt) {
        CHECK(!adapter_.PollLive(hm.poll), "a replaced poll handle was kept");
      }
      hm.poll = pt;
      CHECK(adapter_.PollLive(pt), "a new poll handle was dropped");
    }
  }

  void CancelOp() {
    uint8_t b = in_.Byte();
    std::vector<Token> live = adapter_.LiveTokens();
    if (b < 0xE0 && !live.empty()) {
      Token t = live[b % live.size()];
      Trace("  cancel token %llu\n",
            static_cast<unsigned long long>(t.value()));
      CHECK(broker_.Cancel(t),
            "Cancel(%llu) of a parked request returned false",
            static_cast<unsigned long long>(t.value()));
      adapter_.AnswerInterrupted(t);
      Settle();
      return;
    }
    // A signal for a request that has been answered already: the token is
    // free (or was never given out), and the broker must not hold it.
    Token t = adapter_.IdleToken(b & 1);
    CHECK(!broker_.Cancel(t), "Cancel(%llu) of an idle token returned true",
          static_cast<unsigned long long>(t.value()));
    Settle();
  }

  void ExpireOp() {
    clock_ += std::chrono::milliseconds(250) * (1 + in_.Byte() % 8);
    expire_step_ = step_;
    broker_.Expire(base_ + clock_);
    Settle();
  }

  void NamesOp() {
    uint8_t b = in_.Byte();
    const char* name = kNames[in_.Byte() % 4];
    const char* other = kNames[in_.Byte() % 4];
    switch (b % 6) {
      case 0:
        (void)broker_.Unlink(Namespace::kRootIno, name);
        break;
      case 1:
        (void)broker_.Rename(Namespace::kRootIno, name, Namespace::kRootIno,
                             other, b & 0x80 ? RENAME_NOREPLACE : 0);
        break;
      case 2:
        (void)broker_.MakeFolder(Namespace::kRootIno, name, 0755, 0,
                                 Sender{1, 1000, 1000});
        break;
      case 3:
        (void)broker_.RemoveFolder(Namespace::kRootIno, name);
        break;
      case 4:
        (void)broker_.Lookup(Namespace::kRootIno, name);
        break;
      case 5: {
        NodeId ino =
            conn_files_.empty() || (b & 0x80)
                ? (ports_.empty() ? stats_ : ports_[b % ports_.size()].ino)
                : conn_files_[b % conn_files_.size()].first;
        broker_.Forget(ino, 1 + (b >> 3) % 4);
        break;
      }
    }
    Settle();
  }

  void InfoOp() {
    uint8_t b = in_.Byte();
    switch (b % 8) {
      case 0:
      case 1:
        (void)broker_.StatsText();
        break;
      case 2:
        (void)broker_.ReadDir(Namespace::kRootIno);
        break;
      case 3:
        (void)broker_.ReadDir(conn_dir_);
        break;
      case 4: {
        NodeId ino = ports_.empty() ? stats_ : ports_[b % ports_.size()].ino;
        (void)broker_.GetAttr(ino);
        SetAttrRequest req;
        req.set_size = true;
        req.size = b & 0x80 ? 1 : 0;
        (void)broker_.SetAttr(ino, req);
        break;
      }
      case 5:
        (void)broker_.ReadDir(stats_);  // not a folder
        break;
      case 6:
        if (!conn_files_.empty()) {
          (void)broker_.GetAttr(conn_files_[b % conn_files_.size()].first);
        }
        break;
      case 7:
        // The daemon is stopping: every waiting request ends ECONNABORTED.
        // Calls still come afterwards (the kernel releases the files), so
        // the broker must stay consistent.
        Abort();
        break;
    }
    Settle();
  }

  void Abort() {
    adapter_.aborting = true;
    broker_.AbortWaiters();
    Settle();
    adapter_.aborting = false;
    CHECK(adapter_.live_count() == 0,
          "%zu requests still wait after AbortWaiters()",
          adapter_.live_count());
  }

  // --- answers

  // Checks and applies what the last call answered. Writes first: a
  // reader woken by a message is answered before its writer (the router
  // wakes the reader first), but the message counts as written.
  void Settle() {
    std::vector<Answer> answers = adapter_.TakeAnswers();
    for (Answer& a : answers) {
      if (!std::holds_alternative<Bytes>(a.reply)) Apply(a);
    }
    for (auto [c, d] : pending_discards_) {
      conns_[c].channel[d].Discard();
      conns_[c].ended = true;
    }
    pending_discards_.clear();
    for (Answer& a : answers) {
      if (std::holds_alternative<Bytes>(a.reply)) ApplyData(a);
    }
    for (size_t c : expect_opened_) {
      CHECK(conns_[c].open == OpenState::kOpened,
            "ACCEPT or auto-accept succeeded but open (pid %u) not answered "
            "with a handle",
            conns_[c].caller.sender.pid);
    }
    expect_opened_.clear();
    for (auto [c, e] : expect_rejected_) {
      CHECK(conns_[c].open == OpenState::kFailed && conns_[c].open_error == e,
            "REJECT succeeded but open (pid %u) not failed with %s",
            conns_[c].caller.sender.pid, Describe(e));
    }
    expect_rejected_.clear();
    for (size_t port : expect_none_waiting_) {
      for (const ConnModel& c : conns_) {
        CHECK(c.port != port || c.open != OpenState::kWaiting,
              "auto-accept turned on but open (pid %u) still waits",
              c.caller.sender.pid);
      }
    }
    expect_none_waiting_.clear();
  }

  void CheckCommon(const Answer& a, Error e) {
    const Pending& p = a.req;
    CHECK(!p.expect_written && !p.expect_empty,
          "request %llu expected to succeed failed with %s",
          static_cast<unsigned long long>(p.serial), Describe(e));
    CHECK(!p.expect_error || *p.expect_error == e,
          "request %llu failed with %s, expected %s",
          static_cast<unsigned long long>(p.serial), Describe(e),
          Describe(*p.expect_error));
    if (a.by_adapter) return;
    CHECK(e != Error::kInterrupted || p.interrupted,
          "EINTR from the broker for a request that was not interrupted");
    CHECK(e != Error::kWouldBlock || p.nonblock || p.kind == RequestKind::kOpen,
          "EAGAIN for a blocking read or write");
    CHECK(e != Error::kTimedOut ||
              (p.kind == RequestKind::kOpen && expire_step_ == step_),
          "ETIMEDOUT outside Expire()");
  }

  void Apply(const Answer& a) {
    const Pending& p = a.req;
    if (const Error* e = std::get_if<Error>(&a.reply)) {
      Trace("  answer %llu: %s\n", static_cast<unsigned long long>(p.serial),
            Describe(*e));
      CheckCommon(a, *e);
      if (p.kind == RequestKind::kOpen && p.target == Target::kPort) {
        ConnModel& c = conns_[p.conn];
        c.open = OpenState::kFailed;
        c.open_error = *e;
        c.failed_step = step_;
        c.ended = true;
      }
      return;
    }
    CHECK(!p.must_fail, "request %llu expected to fail succeeded",
          static_cast<unsigned long long>(p.serial));
    if (const OpenReply* o = std::get_if<OpenReply>(&a.reply)) {
      ApplyOpened(p, *o);
      return;
    }
    size_t n = std::get<size_t>(a.reply);
    Trace("  answer %llu: written %zu\n",
          static_cast<unsigned long long>(p.serial), n);
    CHECK(n == p.size, "write of %zu bytes answered with count %zu", p.size, n);
    if (p.msg_conn != kNone) {
      conns_[p.msg_conn].channel[Dir(p.msg_dir)].messages.push_back(
          {p.msg_data, p.msg_sender});
    }
    if (!p.record) return;
    if (p.rec_type == LPC_REC_PORT_OPTIONS) {
      if (p.rec_max_message) {
        ports_[p.rec_port].max_message = p.rec_max_message;
      }
      ports_[p.rec_port].auto_accept = p.rec_flags & LPC_PORT_AUTO_ACCEPT;
      if (ports_[p.rec_port].auto_accept) {
        expect_none_waiting_.push_back(p.rec_port);
      }
      return;
    }
    CHECK(p.rec_conn != kNone,
          "record type %u for an unknown connection "
          "succeeded",
          p.rec_type);
    ConnModel& c = conns_[p.rec_conn];
    switch (p.rec_type) {
      case LPC_REC_ACCEPT:
        expect_opened_.push_back(p.rec_conn);
        break;
      case LPC_REC_REJECT: {
        Error why;
        CHECK(RejectStatusToError(p.rec_status, &why),
              "REJECT with status %d succeeded", p.rec_status);
        CHECK(c.records == RecordState::kConnectRead,
              "REJECT succeeded in record state %d",
              static_cast<int>(c.records));
        c.records = RecordState::kRejected;
        expect_rejected_.push_back({p.rec_conn, why});
        break;
      }
      case LPC_REC_REPLY:
        CHECK(c.awaiting.erase(p.rec_msg) == 1,
              "REPLY to msg %llu of conn %llu succeeded, but the server has "
              "not read it or has replied already",
              static_cast<unsigned long long>(p.rec_msg),
              static_cast<unsigned long long>(c.id.value()));
        break;
      case LPC_REC_DISCONNECT:
        pending_discards_.push_back({p.rec_conn, 0});
        break;
    }
  }

  void ApplyOpened(const Pending& p, const OpenReply& o) {
    HandleId h = o.handle.handle;
    Trace("  answer %llu: opened handle %llu%s\n",
          static_cast<unsigned long long>(p.serial),
          static_cast<unsigned long long>(h.value()),
          o.accepted ? "" : " (refused)");
    CHECK(o.handle.stream == p.expect_stream, "open answered stream=%d",
          o.handle.stream);
    switch (p.target) {
      case Target::kPort: {
        ConnModel& c = conns_[p.conn];
        c.open = OpenState::kOpened;
        if (o.accepted) {
          AddHandle(h, HKind::kClient, p.conn);
          c.client = h;
        } else {
          seen_handles_.insert(h);
          // The broker closes it itself: the client has gone.
          pending_discards_.push_back({p.conn, 1});
        }
        break;
      }
      case Target::kConnFile: {
        ConnModel& c = conns_[p.conn];
        c.bound = true;
        if (o.accepted) {
          AddHandle(h, HKind::kConnFile, p.conn);
          ++c.server_files;
        } else {
          seen_handles_.insert(h);
          if (c.server_files == 0) pending_discards_.push_back({p.conn, 0});
        }
        break;
      }
      case Target::kStats:
        if (o.accepted) {
          AddHandle(h, HKind::kStats, kNone);
        } else {
          seen_handles_.insert(h);
        }
        break;
      case Target::kOther:
        CHECK(false, "open of a node that is no file answered with a handle");
    }
  }

  void ApplyData(const Answer& a) {
    const Pending& p = a.req;
    const Bytes& data = std::get<Bytes>(a.reply);
    Trace("  answer %llu: %zu bytes\n",
          static_cast<unsigned long long>(p.serial), data.size());
    CHECK(!p.must_fail, "read %llu expected to fail got data",
          static_cast<unsigned long long>(p.serial));
    CHECK(data.size() <= p.size, "read of %zu bytes got %zu", p.size,
          data.size());
    CHECK(!p.expect_empty || data.empty(), "read expected empty got %zu bytes",
          data.size());
    switch (p.hkind) {
      case HKind::kStale:
        CHECK(false, "data for a read of a stale handle");
        break;
      case HKind::kStats:
        break;
      case HKind::kClient:
        ReadChannel(conns_[p.hindex].channel[1], p, data, "client");
        break;
      case HKind::kConnFile:
        ReadChannel(conns_[p.hindex].channel[0], p, data, "conn-file");
        break;
      case HKind::kServer:
        ReadRecord(p, data);
        if (p.offset == 0) ++records_read_;
        break;
    }
  }

  // Bytes read from one direction of a connection must be the next bytes
  // of the next message written in that direction, as many as both the
  // buffer and the rest of that message allow (lpc.7 "MESSAGES").
  void ReadChannel(ChannelModel& ch, const Pending& p, const Bytes& data,
                   const char* who) {
    if (data.empty()) {
      if (p.size == 0) return;
      if (p.offset > 0) {
        CHECK(ch.offset == 0,
              "%s split read at offset %llu got nothing though a message "
              "is half read",
              who, static_cast<unsigned long long>(p.offset));
        return;
      }
      // End of file: only once everything queued has been read.
      CHECK(!ch.unread(), "%s read got end of file with %zu messages unread",
            who, ch.messages.size() - ch.next);
      return;
    }
    CHECK(p.offset == 0 || ch.offset > 0,
          "%s split read at offset %llu started a new message", who,
          static_cast<unsigned long long>(p.offset));
    CHECK(ch.unread(), "%s read got %zu bytes nobody wrote to it", who,
          data.size());
    const Bytes& m = ch.messages[ch.next].data;
    size_t rest = m.size() - ch.offset;
    CHECK(data.size() == std::min(p.size, rest),
          "%s read of %zu got %zu bytes; %zu of message %zu are left", who,
          p.size, data.size(), rest, ch.next);
    CHECK(std::memcmp(data.data(), m.data() + ch.offset, data.size()) == 0,
          "%s read got bytes of another message than number %zu (offset "
          "%zu): %s",
          who, ch.next, ch.offset, Whose(data).c_str());
    ch.offset += data.size();
    if (ch.offset == m.size()) {
      ++ch.next;
      ch.offset = 0;
    }
  }

  // For a report: which message written anywhere these bytes come from.
  std::string Whose(const Bytes& data) const {
    for (size_t c = 0; c < conns_.size(); ++c) {
      for (int d = 0; d < 2; ++d) {
        const auto& messages = conns_[c].channel[d].messages;
        for (size_t i = 0; i < messages.size(); ++i) {
          const Bytes& m = messages[i].data;
          for (size_t at = 0; at + data.size() <= m.size(); ++at) {
            if (std::memcmp(m.data() + at, data.data(), data.size()) == 0) {
              char out[160];
              std::snprintf(
                  out, sizeof out,
                  "they are bytes %zu.. of message %zu %s of conn "
                  "%llu (pid %u)",
                  at, i, d ? "to the client" : "to the server",
                  static_cast<unsigned long long>(conns_[c].id.value()),
                  conns_[c].caller.sender.pid);
              return out;
            }
          }
        }
      }
    }
    return "no accepted message has them";
  }

  ConnModel& RecordConn(const lpc_record& h, size_t port, const char* type) {
    auto it = conn_by_id_.find(ConnId(h.conn_id));
    CHECK(it != conn_by_id_.end(), "%s record for unknown conn %llu", type,
          static_cast<unsigned long long>(h.conn_id));
    ConnModel& c = conns_[it->second];
    CHECK(c.port == port, "%s record of conn %llu on another port's handle",
          type, static_cast<unsigned long long>(h.conn_id));
    CHECK(c.records == RecordState::kConnectRead,
          "%s record of conn %llu in record state %d", type,
          static_cast<unsigned long long>(h.conn_id),
          static_cast<int>(c.records));
    return c;
  }

  // A record read from a server handle: whole, well formed, of a
  // connection of that port, in the order lpc.7 "Reading records" gives.
  void ReadRecord(const Pending& p, const Bytes& data) {
    if (p.offset > 0) return;  // checked empty (expect_empty)
    CHECK(data.size() >= sizeof(lpc_record), "server read got %zu bytes",
          data.size());
    lpc_record h;
    std::memcpy(&h, data.data(), sizeof h);
    CHECK(data.size() == sizeof h + h.length,
          "record of %zu bytes says length %u", data.size(), h.length);
    CHECK(h.reserved == 0 && h.status == 0, "record with reserved/status set");
    const std::byte* payload = data.data() + sizeof h;
    size_t port = p.hindex;
    switch (h.type) {
      case LPC_REC_CONNECT: {
        auto it = conn_by_pid_.find(h.pid);
        CHECK(it != conn_by_pid_.end(), "CONNECT for pid %u nobody opened",
              h.pid);
        size_t ci = it->second;
        ConnModel& c = conns_[ci];
        CHECK(c.port == port, "CONNECT of pid %u on another port's handle",
              h.pid);
        CHECK(c.records == RecordState::kUnseen, "second CONNECT of pid %u",
              h.pid);
        CHECK(c.open != OpenState::kFailed || c.failed_step == step_,
              "CONNECT of pid %u read after its open failed (%s)", h.pid,
              Describe(c.open_error));
        CHECK(h.conn_id != 0 && !conn_by_id_.count(ConnId(h.conn_id)),
              "CONNECT with a conn id already used: %llu",
              static_cast<unsigned long long>(h.conn_id));
        CHECK(h.uid == c.caller.sender.uid && h.gid == c.caller.sender.gid,
              "CONNECT credentials");
        CHECK(h.msg_id == 0, "CONNECT with msg_id");
        uint32_t expect =
            c.connect_flags | (c.expect_accepted ? LPC_CONNECT_ACCEPTED : 0);
        CHECK(h.flags == expect, "CONNECT flags %#x, expected %#x", h.flags,
              expect);
        Bytes info = EncodeConnectInfo(c.caller);
        CHECK(h.length == info.size() &&
                  std::memcmp(payload, info.data(), info.size()) == 0,
              "CONNECT payload differs from the caller's");
        c.id = ConnId(h.conn_id);
        c.records = RecordState::kConnectRead;
        conn_by_id_[c.id] = ci;
        known_.push_back(ci);
        break;
      }
      case LPC_REC_MESSAGE: {
        ConnModel& c = RecordConn(h, port, "MESSAGE");
        ChannelModel& ch = c.channel[0];
        CHECK(ch.offset == 0, "MESSAGE record of a half-read message");
        CHECK(ch.unread(), "MESSAGE record nobody wrote (conn %llu)",
              static_cast<unsigned long long>(h.conn_id));
        const ExpectedMessage& m = ch.messages[ch.next];
        // lpc.7 "CREDENTIALS": the writer against the client at connect
        // (the fuzzer's writers have no start time and no known groups).
        const Sender& at_connect = c.caller.sender;
        uint32_t changes = 0;
        if (m.sender.uid != at_connect.uid || m.sender.gid != at_connect.gid) {
          changes |= LPC_MESSAGE_IDENTITY_CHANGED;
        }
        if (m.sender.pid != at_connect.pid) {
          changes |= LPC_MESSAGE_PROCESS_CHANGED;
        }
        CHECK(h.flags == changes, "MESSAGE flags %#x, expected %#x", h.flags,
              changes);
        CHECK(h.msg_id == ch.next + 1, "MESSAGE msg_id %llu, expected %zu",
              static_cast<unsigned long long>(h.msg_id), ch.next + 1);
        CHECK(h.length == m.data.size() &&
                  std::memcmp(payload, m.data.data(), m.data.size()) == 0,
              "MESSAGE payload is not message %zu of conn %llu: %s", ch.next,
              static_cast<unsigned long long>(h.conn_id),
              Whose(Bytes(payload, payload + h.length)).c_str());
        CHECK(h.pid == m.sender.pid && h.uid == m.sender.uid &&
                  h.gid == m.sender.gid,
              "MESSAGE credentials %u/%u/%u, written by %u/%u/%u", h.pid, h.uid,
              h.gid, m.sender.pid, m.sender.uid, m.sender.gid);
        ++ch.next;
        c.awaiting.insert(h.msg_id);
        break;
      }
      case LPC_REC_DISCONNECT: {
        ConnModel& c = RecordConn(h, port, "DISCONNECT");
        CHECK(h.length == 0 && h.msg_id == 0 && h.pid == 0 && h.uid == 0 &&
                  h.gid == 0,
              "DISCONNECT with fields set");
        switch (h.flags) {
          case LPC_DISCONNECT_CLIENT_CLOSED:
          case LPC_DISCONNECT_SERVER_CLOSED:
            CHECK(c.open == OpenState::kOpened,
                  "DISCONNECT %#x of a connection never accepted", h.flags);
            break;
          case LPC_DISCONNECT_WITHDRAWN:
            CHECK(c.open == OpenState::kFailed,
                  "DISCONNECT withdrawn of a connection whose open did not "
                  "fail");
            break;
          default:
            CHECK(false, "DISCONNECT flags %#x", h.flags);
        }
        c.records = RecordState::kDisconnectRead;
        break;
      }
      default:
        CHECK(false, "record type %u read", h.type);
    }
  }

  // --- invariants

  void CheckInvariants() {
    size_t waiters = broker_.waiter_count();
    CHECK(waiters == adapter_.live_count(),
          "broker holds %zu waiting requests, the adapter waits for %zu",
          waiters, adapter_.live_count());
    size_t handles = broker_.handle_count();
    CHECK(handles == handles_.size(), "broker has %zu handles, model %zu",
          handles, handles_.size());
    size_t live_ports = 0;
    for (const PortModel& p : ports_) live_ports += p.live;
    size_t ports = broker_.port_count();
    CHECK(ports == live_ports, "broker has %zu ports, model %zu", ports,
          live_ports);
    CHECK(!adapter_.has_answers(), "a count query answered a request");
    for (Token t : adapter_.LiveTokens()) CheckParked(*adapter_.Find(t));
  }

  // A request still waiting after a call must have a reason to wait: the
  // broker serves what it can before it returns.
  void CheckParked(const Pending& p) {
    if (p.kind == RequestKind::kWrite && p.msg_conn != kNone) {
      // A message fits into an empty queue (lpc.7 "BACK-PRESSURE").
      CHECK(conns_[p.msg_conn].channel[Dir(p.msg_dir)].unread(),
            "write %llu waits though its queue is empty",
            static_cast<unsigned long long>(p.serial));
    }
    if (p.kind != RequestKind::kRead) return;
    switch (p.hkind) {
      case HKind::kClient:
      case HKind::kConnFile:
        CHECK(!conns_[p.hindex].channel[p.hkind == HKind::kClient].unread(),
              "%s read %llu waits though a message is queued",
              KindName(p.hkind), static_cast<unsigned long long>(p.serial));
        break;
      case HKind::kServer:
        for (const ConnModel& c : conns_) {
          if (c.port != p.hindex) continue;
          CHECK(
              c.records != RecordState::kUnseen || c.open == OpenState::kFailed,
              "server read %llu waits though a CONNECT is queued",
              static_cast<unsigned long long>(p.serial));
          CHECK(c.bound || !c.channel[0].unread(),
                "server read %llu waits though a MESSAGE is queued",
                static_cast<unsigned long long>(p.serial));
        }
        break;
      case HKind::kStats:
      case HKind::kStale:
        CHECK(false, "%s read %llu waits", KindName(p.hkind),
              static_cast<unsigned long long>(p.serial));
    }
  }

  // Reads every record queued on a server handle, then checks that none
  // is missing: a CONNECT for each request that did not fail, and a
  // DISCONNECT for each connection that has ended since its CONNECT.
  void DrainRecords(HandleId server) {
    size_t port = handles_.at(server).index;
    for (size_t i = 0; i < 100000; ++i) {
      size_t before = records_read_;
      IssueRead(server, LPC_RECORD_MAX, 0, true, false);
      if (records_read_ == before) break;
    }
    for (const ConnModel& c : conns_) {
      if (c.port != port) continue;
      CHECK(c.records != RecordState::kUnseen || c.open == OpenState::kFailed,
            "the CONNECT of pid %u never came", c.caller.sender.pid);
      CHECK(c.records != RecordState::kConnectRead || !c.ended,
            "conn %llu (pid %u) ended but its DISCONNECT never came",
            static_cast<unsigned long long>(c.id.value()), c.caller.sender.pid);
    }
  }

  void Finish() {
    Trace("finish\n");
    bool abort_first = in_.Byte() & 1;
    if (abort_first) Abort();
    while (!live_handles_.empty()) {
      HandleId h = live_handles_[in_.Pick(live_handles_.size())];
      if (handles_.at(h).kind == HKind::kServer) DrainRecords(h);
      ReleaseHandle(h);
      CheckInvariants();
    }
    Abort();
    for (const ConnModel& c : conns_) {
      CHECK(c.open != OpenState::kWaiting, "open (pid %u) never answered",
            c.caller.sender.pid);
    }
    CHECK(broker_.port_count() == 0, "%zu ports left", broker_.port_count());
    CHECK(broker_.connection_count() == 0, "%zu connections left",
          broker_.connection_count());
    CHECK(broker_.waiter_count() == 0, "%zu waiters left",
          broker_.waiter_count());
    CHECK(broker_.handle_count() == 0, "%zu handles left",
          broker_.handle_count());
    // Every path a connection ended by gave its quota charges back
    // (core/quota.h); folders may remain, and count for their makers.
    for (const ConnModel& c : conns_) {
      QuotaUsage u = broker_.UsageOf(c.caller.sender.uid);
      for (QuotaKind k : {QuotaKind::kPorts, QuotaKind::kClientConnections,
                          QuotaKind::kServedConnections, QuotaKind::kPending,
                          QuotaKind::kBytes}) {
        CHECK(u[k] == 0, "uid %u still charged %zu of quota kind %d",
              c.caller.sender.uid, u[k], static_cast<int>(k));
      }
    }
    CHECK(adapter_.poll_count() == 0, "%zu poll handles never dropped",
          adapter_.poll_count());
    CHECK(!adapter_.has_answers(), "answers after the end");
  }

  Input in_;
  FakeAdapter adapter_;  // outlives the broker, whose destructor calls it
  Broker broker_;
  std::chrono::steady_clock::time_point base_;
  std::chrono::steady_clock::duration clock_{};
  size_t step_ = 0;
  size_t expire_step_ = 0;
  NodeId conn_dir_;
  NodeId stats_;
  uint32_t next_pid_ = 1000;
  uint64_t write_serial_ = 0;
  size_t records_read_ = 0;

  std::vector<PortModel> ports_;
  std::vector<ConnModel> conns_;
  std::unordered_map<uint32_t, size_t> conn_by_pid_;
  std::unordered_map<ConnId, size_t> conn_by_id_;
  std::vector<size_t> known_;  // connections whose CONNECT was read
  std::vector<std::pair<NodeId, size_t>> conn_files_;  // .conn/ID inodes
  std::map<HandleId, HandleModel> handles_;
  std::vector<HandleId> live_handles_;  // in the order they were opened
  std::vector<HandleId> stale_;
  std::set<HandleId> seen_handles_;

  // Effects of the current step, applied or checked in Settle().
  std::vector<std::pair<size_t, int>> pending_discards_;  // conn, Dir()
  std::vector<size_t> expect_opened_;
  std::vector<std::pair<size_t, Error>> expect_rejected_;
  std::vector<size_t> expect_none_waiting_;
};

}  // namespace
}  // namespace lpc::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* t = std::getenv("LPC_FUZZ_TRACE");
  lpc::fuzz::trace_level = t && *t && *t != '0';
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  lpc::fuzz::Session session(data, size);
  session.Run();
  return 0;
}
