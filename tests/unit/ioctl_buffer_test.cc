// The integration tests' builder and parser of ioctl buffers
// (tests/integration/ioctl_buffer.h): records land on 8-byte boundaries
// and Parse accepts exactly the framing lpc.h describes, so a framing
// failure in an integration test is the daemon's.
#include "ioctl_buffer.h"

#include <gtest/gtest.h>

#include <cstring>

namespace lpctest {
namespace {

// Pretends the daemon returned the records that were added.
void ReturnAsReceived(IoctlBuffer& b, uint32_t n, uint32_t length) {
  b.header().received = n;
  b.header().received_length = length;
}

TEST(IoctlBufferTest, RecordsStartOnEightByteBoundaries) {
  IoctlBuffer b(512);
  ASSERT_TRUE(b.AddMessage("a"));
  EXPECT_EQ(49u, b.header().send_length) << "the last record is unpadded";
  ASSERT_TRUE(b.AddMessage("123456789"));
  EXPECT_EQ(56u + 57u, b.header().send_length);
  lpc_record h;
  std::memcpy(&h, b.data() + 56, sizeof h);
  EXPECT_EQ(uint32_t{LPC_REC_MESSAGE}, h.type);
  EXPECT_EQ(9u, h.length);
  EXPECT_EQ(0, std::memcmp(b.data() + 56 + 48, "123456789", 9));
}

TEST(IoctlBufferTest, AddFailsWhenTheRecordDoesNotFit) {
  IoctlBuffer b(48 + 48 + 10);
  EXPECT_FALSE(b.AddMessage(std::string(11, 'x')));
  EXPECT_EQ(0u, b.header().send_length);
  EXPECT_TRUE(b.AddMessage(std::string(10, 'x')));
}

TEST(IoctlBufferTest, ParseReadsBackWhatWasAdded) {
  IoctlBuffer b(512);
  ASSERT_TRUE(b.AddCommand(LPC_REC_REPLY, 5, 9, "reply"));
  ASSERT_TRUE(b.AddCommand(LPC_REC_SEND, 5, 0, "1234567"));
  std::vector<Record> got;
  // Padded or not at the end: both are whole records.
  for (uint32_t length : {56u + 56u, 56u + 55u}) {
    ReturnAsReceived(b, 2, length);
    ASSERT_TRUE(b.Parse(&got)) << length;
    ASSERT_EQ(2u, got.size());
    EXPECT_EQ(uint32_t{LPC_REC_REPLY}, got[0].h.type);
    EXPECT_EQ(9u, got[0].h.msg_id);
    EXPECT_EQ("reply", got[0].payload);
    EXPECT_EQ("1234567", got[1].payload);
  }
}

TEST(IoctlBufferTest, ParseRejectsBadFraming) {
  IoctlBuffer b(512);
  ASSERT_TRUE(b.AddMessage("abc"));
  ASSERT_TRUE(b.AddMessage("defg"));
  std::vector<Record> got;
  ReturnAsReceived(b, 2, 56 + 51);
  EXPECT_FALSE(b.Parse(&got)) << "second record cut short";
  ReturnAsReceived(b, 2, 56 + 56 + 8);
  EXPECT_FALSE(b.Parse(&got)) << "more bytes than the records";
  ReturnAsReceived(b, 3, 56 + 56);
  EXPECT_FALSE(b.Parse(&got)) << "more records than bytes";
  ReturnAsReceived(b, 1, 1000);
  EXPECT_FALSE(b.Parse(&got)) << "received_length past data[]";
  ReturnAsReceived(b, 0, 0);
  EXPECT_TRUE(b.Parse(&got));
  EXPECT_TRUE(got.empty());
}

TEST(IoctlBufferTest, ClearSendKeepsTheReceiveSettings) {
  IoctlBuffer b(256);
  b.header().flags = LPC_TRANSFER_NO_WAIT;
  b.header().timeout_ms = 7;
  b.header().max_records = 3;
  ASSERT_TRUE(b.AddMessage("x"));
  b.header().received = 1;
  b.ClearSend();
  EXPECT_EQ(uint32_t{LPC_TRANSFER_NO_WAIT}, b.header().flags);
  EXPECT_EQ(7u, b.header().timeout_ms);
  EXPECT_EQ(3u, b.header().max_records);
  EXPECT_EQ(0u, b.header().send_length);
  EXPECT_EQ(0u, b.header().received);
  ASSERT_TRUE(b.AddMessage("y"));
  EXPECT_EQ(49u, b.header().send_length) << "back at data[0]";
}

}  // namespace
}  // namespace lpctest
