#include "records.h"

#include <gtest/gtest.h>

#include <cstring>

namespace lpc {
namespace {

std::span<const std::byte> span_of(const Bytes& b) {
  return {b.data(), b.size()};
}

Bytes payload(const char* s) {
  Bytes b(std::strlen(s));
  std::memcpy(b.data(), s, b.size());
  return b;
}

TEST(DecodeServerCommand, AcceptsWellFormedRecords) {
  auto accept = EncodeCommand(LPC_REC_ACCEPT, 7, 0, 0, 0);
  auto cmd = DecodeServerCommand(span_of(accept), 256);
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->type, uint32_t{LPC_REC_ACCEPT});
  EXPECT_EQ(cmd->conn_id, 7u);

  Bytes p = payload("hi");
  auto reply = EncodeCommand(LPC_REC_REPLY, 7, 3, 0, 0, span_of(p));
  cmd = DecodeServerCommand(span_of(reply), 256);
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->msg_id, 3u);
  EXPECT_EQ(cmd->payload.size(), 2u);

  auto opts =
      EncodeCommand(LPC_REC_PORT_OPTIONS, 0, 0, LPC_PORT_AUTO_ACCEPT, 0);
  EXPECT_TRUE(DecodeServerCommand(span_of(opts), 256));
  auto batches = EncodeCommand(LPC_REC_PORT_OPTIONS, 0, 0,
                               LPC_PORT_AUTO_ACCEPT | LPC_PORT_READ_BATCHES, 0);
  EXPECT_TRUE(DecodeServerCommand(span_of(batches), 256));
}

struct BadCase {
  const char* what;
  Bytes bytes;
  Error expected;
};

TEST(DecodeServerCommand, RejectsMalformedRecords) {
  Bytes p = payload("x");
  Bytes big(257);
  std::vector<BadCase> cases = {
      {"short", Bytes(10), Error::kInvalid},
      {"unknown type", EncodeCommand(99, 1, 0, 0, 0), Error::kInvalid},
      {"read-only type", EncodeCommand(LPC_REC_MESSAGE, 1, 0, 0, 0),
       Error::kInvalid},
      {"no conn id", EncodeCommand(LPC_REC_ACCEPT, 0, 0, 0, 0),
       Error::kInvalid},
      {"flags on accept", EncodeCommand(LPC_REC_ACCEPT, 1, 0, 1, 0),
       Error::kInvalid},
      {"payload on accept",
       EncodeCommand(LPC_REC_ACCEPT, 1, 0, 0, 0, span_of(p)), Error::kInvalid},
      {"empty send", EncodeCommand(LPC_REC_SEND, 1, 0, 0, 0), Error::kInvalid},
      {"reply without id", EncodeCommand(LPC_REC_REPLY, 1, 0, 0, 0, span_of(p)),
       Error::kInvalid},
      {"oversized send", EncodeCommand(LPC_REC_SEND, 1, 0, 0, 0, span_of(big)),
       Error::kMessageTooLong},
      {"unknown option", EncodeCommand(LPC_REC_PORT_OPTIONS, 0, 0, 0x80, 0),
       Error::kInvalid},
  };
  for (auto& c : cases) {
    auto r = DecodeServerCommand(span_of(c.bytes), 256);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error(), c.expected) << c.what;
  }
  // Length field that disagrees with the write size.
  Bytes send = EncodeCommand(LPC_REC_SEND, 1, 0, 0, 0, span_of(p));
  send.push_back(std::byte{0});
  EXPECT_EQ(DecodeServerCommand(span_of(send), 256).error(), Error::kInvalid);
  // Nonzero reserved and sender fields.
  Bytes accept = EncodeCommand(LPC_REC_ACCEPT, 1, 0, 0, 0);
  lpc_record h;
  std::memcpy(&h, accept.data(), sizeof h);
  h.reserved = 1;
  std::memcpy(accept.data(), &h, sizeof h);
  EXPECT_EQ(DecodeServerCommand(span_of(accept), 256).error(), Error::kInvalid);
}

TEST(EncodeRecord, LayoutMatchesHeader) {
  Bytes p = payload("abc");
  Bytes rec =
      EncodeRecord(LPC_REC_MESSAGE, 5, 9, Sender{11, 12, 13}, 0, span_of(p));
  ASSERT_EQ(rec.size(), 48u + 3);
  lpc_record h;
  std::memcpy(&h, rec.data(), sizeof h);
  EXPECT_EQ(h.type, uint32_t{LPC_REC_MESSAGE});
  EXPECT_EQ(h.length, 3u);
  EXPECT_EQ(h.conn_id, 5u);
  EXPECT_EQ(h.msg_id, 9u);
  EXPECT_EQ(h.pid, 11u);
  EXPECT_EQ(h.uid, 12u);
  EXPECT_EQ(h.gid, 13u);
  EXPECT_EQ(std::memcmp(rec.data() + 48, "abc", 3), 0);
}

TEST(EncodeConnectInfo, CarriesGroupsCapabilitiesAndTheProcess) {
  Caller c;
  c.groups = {4, 27};
  c.cap_effective = 0x20;
  c.sender.pid = 4242;
  c.sender.start_time = 123456;
  Bytes info = EncodeConnectInfo(c);
  ASSERT_EQ(info.size(),
            sizeof(lpc_connect_info) + 8 + sizeof(lpc_connect_process));
  lpc_connect_info i;
  std::memcpy(&i, info.data(), sizeof i);
  EXPECT_EQ(i.ngroups, 2u);
  EXPECT_EQ(i.cap_effective, 0x20u);
  uint32_t g[2];
  std::memcpy(g, info.data() + sizeof i, sizeof g);
  EXPECT_EQ(g[0], 4u);
  EXPECT_EQ(g[1], 27u);
  // Protocol version 2: the process follows groups[].
  lpc_connect_process p;
  std::memcpy(&p, info.data() + sizeof i + sizeof g, sizeof p);
  EXPECT_EQ(p.pid, 4242u);
  EXPECT_EQ(p.start_time, 123456u);
  EXPECT_EQ(p.reserved, 0u);
}

}  // namespace
}  // namespace lpc
