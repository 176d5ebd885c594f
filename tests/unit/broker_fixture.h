// The fixture of the broker tests: a Broker driven through its public API,
// with a RecordingDelegate playing the adapter (tokens reused the way
// libfuse reuses request addresses), and helpers that speak the record
// protocol of include/lpc.h.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "broker.h"
#include "recording_delegate.h"

namespace lpc::testing {

inline Bytes BytesOf(std::string_view s) {
  Bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}
inline std::span<const std::byte> SpanOf(const Bytes& b) {
  return {b.data(), b.size()};
}

struct ParsedRecord {
  lpc_record header{};
  std::string payload;
};

inline Caller MakeCaller(uint32_t pid, uint32_t uid = 1000) {
  Caller c;
  c.sender = {pid, uid, uid};
  c.groups = {uid, 27};
  return c;
}

class BrokerTest : public ::testing::Test {
 protected:
  // `windows`: the broker's WindowTable, if any; it must outlive the test.
  explicit BrokerTest(Limits limits = {}, WindowTable* windows = nullptr)
      : d_(/*reuse_tokens=*/true), broker_(&d_, limits, windows) {}

  void TearDown() override {
    EXPECT_EQ(d_.stray_replies, 0) << "a reply for a request nobody made";
    EXPECT_EQ(d_.wrong_kind_replies, 0) << "a reply of the wrong kind";
    if (!expect_aborts_) {
      EXPECT_EQ(d_.aborted, 0) << "a request was orphaned";
    }
  }

  // Creates a port at the root; returns its server handle.
  HandleId Create(std::string_view name, uint32_t perm = 0666) {
    auto r = broker_.CreatePort(Namespace::kRootIno, name, perm, 0, true,
                                MakeCaller(1, 1000));
    EXPECT_TRUE(r);
    if (!r) return HandleId();
    port_ino_ = r->attr.ino;
    return r->handle;
  }

  Req OpenNode(NodeId ino, int flags = O_RDWR, uint32_t pid = 42) {
    Req r = d_.Issue(RequestKind::kOpen);
    broker_.Open(r.token, ino, flags, MakeCaller(pid));
    return r;
  }
  // A connection request to the last port created.
  Req Connect(int flags = O_RDWR, uint32_t pid = 42) {
    return OpenNode(port_ino_, flags, pid);
  }

  HandleId OpenedHandle(const Req& r) {
    auto reply = d_.reply(r);
    EXPECT_TRUE(reply && std::holds_alternative<Opened>(*reply))
        << "not opened";
    return reply && std::holds_alternative<Opened>(*reply)
               ? std::get<Opened>(*reply).handle.handle
               : HandleId();
  }
  Error ErrorOf(const Req& r) {
    auto reply = d_.reply(r);
    EXPECT_TRUE(reply && std::holds_alternative<Error>(*reply))
        << "no error reply";
    return reply && std::holds_alternative<Error>(*reply)
               ? std::get<Error>(*reply)
               : Error::kBusy;
  }
  std::string DataOf(const Req& r) {
    auto reply = d_.reply(r);
    EXPECT_TRUE(reply && std::holds_alternative<Data>(*reply))
        << "no data reply";
    return reply && std::holds_alternative<Data>(*reply)
               ? std::get<Data>(*reply).text()
               : "<none>";
  }
  void ExpectWritten(const Req& r) {
    auto reply = d_.reply(r);
    ASSERT_TRUE(reply) << "unanswered";
    ASSERT_TRUE(std::holds_alternative<Written>(*reply))
        << "error: "
        << (std::holds_alternative<Error>(*reply)
                ? Describe(std::get<Error>(*reply))
                : "not a write reply");
  }

  Req Read(HandleId h, size_t size = 4096, bool nonblock = false,
           uint64_t offset = 0) {
    Req r = d_.Issue(RequestKind::kRead);
    broker_.Read(r.token, h, size, offset, nonblock);
    return r;
  }
  Req Send(HandleId h, std::string_view text, bool nonblock = false,
           const Writer& writer = Sender{42, 1000, 1000}) {
    Req r = d_.Issue(RequestKind::kWrite);
    Bytes b = BytesOf(text);
    broker_.Write(r.token, h, SpanOf(b), nonblock, writer);
    return r;
  }
  // Writes a command record to a server handle.
  Req Command(HandleId server, uint32_t type, ConnId conn, uint64_t msg = 0,
              uint32_t flags = 0, int32_t status = 0,
              std::string_view payload = {}, bool nonblock = true) {
    Req r = d_.Issue(RequestKind::kWrite);
    Bytes p = BytesOf(payload);
    Bytes rec =
        EncodeCommand(type, conn.value(), msg, flags, status, SpanOf(p));
    broker_.Write(r.token, server, SpanOf(rec), nonblock,
                  Sender{1, 1000, 1000});
    return r;
  }
  Req SendRecord(HandleId server, ConnId conn, std::string_view payload,
                 bool nonblock = true) {
    return Command(server, LPC_REC_SEND, conn, 0, 0, 0, payload, nonblock);
  }

  // Reads one record from a server handle, which must have one queued.
  ParsedRecord NextRecord(HandleId server) {
    Req r = Read(server, LPC_RECORD_MAX, /*nonblock=*/true);
    std::string raw = DataOf(r);
    ParsedRecord p;
    if (raw.size() >= sizeof(lpc_record)) {
      std::memcpy(&p.header, raw.data(), sizeof p.header);
      p.payload = raw.substr(sizeof(lpc_record));
    }
    return p;
  }
  ConnId ConnOf(const ParsedRecord& r) { return ConnId(r.header.conn_id); }

  // Cancels a waiting request as a signal would; true if the broker let
  // go of it (and the adapter then answers EINTR).
  bool Cancel(const Req& r) {
    Broker::Cancelled c = broker_.Cancel(r.token);
    if (!c) return false;
    d_.AnswerCancelled(r, c);
    return true;
  }

  // A connected client: {client handle, conn id}.
  std::pair<HandleId, ConnId> AcceptedClient(HandleId server,
                                             uint32_t pid = 42) {
    Req open = Connect(O_RDWR, pid);
    ParsedRecord c = NextRecord(server);
    EXPECT_EQ(c.header.type, uint32_t{LPC_REC_CONNECT});
    ExpectWritten(Command(server, LPC_REC_ACCEPT, ConnOf(c)));
    return {OpenedHandle(open), ConnOf(c)};
  }

  // Opens .conn/ID of a connection.
  HandleId OpenConnFile(ConnId conn) {
    NodeId dir = broker_.Lookup(Namespace::kRootIno, ".conn").value().ino;
    auto file = broker_.Lookup(dir, std::to_string(conn.value()));
    EXPECT_TRUE(file);
    if (!file) return HandleId();
    return OpenedHandle(OpenNode(file->ino, O_RDWR, 1));
  }

  RecordingDelegate d_;
  Broker broker_;
  NodeId port_ino_;
  bool expect_aborts_ = false;
};

}  // namespace lpc::testing
