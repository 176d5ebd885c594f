// WindowTable (core/window_table.h): ids, who sees and opens a window,
// the bounds of reads and writes, and that an ended window is never
// touched again. The client's memory is an array here; fs/process_vm_memory.h
// is tested against real processes in process_vm_memory_test.cc.
#include "window_table.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "fake_client_memory.h"
#include "lpc.h"

namespace lpc {
namespace {

using testing::FakeMemory;
using testing::FakeSpace;

constexpr uint32_t kClientPid = 100;
constexpr uint32_t kClientUid = 1001;
constexpr uint32_t kServerUid = 1002;

class WindowTableTest : public ::testing::Test {
 protected:
  WindowTableTest() {
    FakeSpace& s = memory_.spaces[kClientPid];
    s.bytes.resize(64);
    for (size_t i = 0; i < s.bytes.size(); ++i) {
      s.bytes[i] = std::byte(static_cast<unsigned char>('a' + i % 26));
    }
  }

  FakeSpace& space() { return memory_.spaces[kClientPid]; }

  // A window of `length` bytes from `offset` into the client's space.
  WindowSpec Spec(uint64_t offset, uint64_t length, uint32_t access) {
    WindowSpec s;
    s.conn = ConnId(7);
    s.client = Sender{kClientPid, kClientUid, kClientUid, 12345};
    s.address = space().base + offset;
    s.length = length;
    s.access = access;
    s.server_uid = kServerUid;
    return s;
  }

  uint64_t Attach(uint64_t offset, uint64_t length, uint32_t access) {
    auto id = table_.Attach(Spec(offset, length, access));
    EXPECT_TRUE(id) << Describe(id.error());
    return id ? id.value() : 0;
  }

  std::string ReadText(uint64_t id, uint64_t offset, size_t count,
                       Error* error = nullptr) {
    std::vector<std::byte> buf(count);
    auto n = table_.Read(id, offset, buf);
    if (!n) {
      if (error) *error = n.error();
      return "<" + std::string(Describe(n.error())) + ">";
    }
    return std::string(reinterpret_cast<const char*>(buf.data()), n.value());
  }

  static std::span<const std::byte> Bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
  }

  FakeMemory memory_;
  WindowTable table_{&memory_};
};

TEST_F(WindowTableTest, IdsAreNewEveryTimeAndNeverZero) {
  uint64_t a = Attach(0, 4, LPC_WINDOW_READ);
  uint64_t b = Attach(0, 4, LPC_WINDOW_READ);
  EXPECT_NE(0u, a);
  EXPECT_NE(a, b);
  table_.End(a);
  table_.End(b);
  uint64_t c = Attach(0, 4, LPC_WINDOW_READ);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
  EXPECT_EQ(1u, table_.size());
}

TEST_F(WindowTableTest, OffWithoutClientMemory) {
  WindowTable off(nullptr);
  EXPECT_FALSE(off.enabled());
  auto id = off.Attach(Spec(0, 4, LPC_WINDOW_READ));
  ASSERT_FALSE(id);
  EXPECT_EQ(Error::kNotSupported, id.error());
}

TEST_F(WindowTableTest, AClientThatIsGoneOrUnknownGetsNoWindow) {
  WindowSpec unknown = Spec(0, 4, LPC_WINDOW_READ);
  unknown.client.pid = 0;
  EXPECT_EQ(Error::kNotSupported, table_.Attach(unknown).error());
  space().exited = true;
  EXPECT_EQ(Error::kBrokenPipe,
            table_.Attach(Spec(0, 4, LPC_WINDOW_READ)).error());
  EXPECT_EQ(0u, table_.size());
}

TEST_F(WindowTableTest, OnlyTheServerSideSeesAndOpensIt) {
  uint64_t id = Attach(0, 10, LPC_WINDOW_READ | LPC_WINDOW_WRITE);
  std::string name = std::to_string(id);
  auto seen = table_.Lookup(name, kServerUid);
  ASSERT_TRUE(seen);
  EXPECT_EQ(id, seen->id);
  EXPECT_EQ(WindowTable::NodeOf(id), seen->ino);
  EXPECT_EQ(kServerUid, seen->uid);
  EXPECT_EQ(0600u, seen->perm);
  EXPECT_EQ(10u, seen->size);
  EXPECT_EQ(Error::kNotFound, table_.Lookup(name, kClientUid).error());
  EXPECT_EQ(Error::kNotFound, table_.Lookup(name, 0).error());
  EXPECT_EQ(1u, table_.List(kServerUid).size());
  EXPECT_TRUE(table_.List(kClientUid).empty());
  EXPECT_TRUE(table_.Open(id, kServerUid, O_RDWR));
  EXPECT_EQ(Error::kAccessDenied,
            table_.Open(id, kClientUid, O_RDONLY).error());
}

TEST_F(WindowTableTest, NamesAreTheIdInDecimalOnly) {
  uint64_t id = Attach(0, 10, LPC_WINDOW_READ);
  std::string name = std::to_string(id);
  for (const std::string& other :
       {"0" + name, "+" + name, name + " ", std::string("x"), std::string()}) {
    EXPECT_EQ(Error::kNotFound, table_.Lookup(other, kServerUid).error())
        << "'" << other << "'";
  }
}

TEST_F(WindowTableTest, ModeAndOpenFollowTheAccess) {
  uint64_t ro = Attach(0, 10, LPC_WINDOW_READ);
  uint64_t wo = Attach(0, 10, LPC_WINDOW_WRITE);
  EXPECT_EQ(0400u, table_.Stat(ro)->perm);
  EXPECT_EQ(0200u, table_.Stat(wo)->perm);
  EXPECT_TRUE(table_.Open(ro, kServerUid, O_RDONLY));
  EXPECT_EQ(Error::kAccessDenied,
            table_.Open(ro, kServerUid, O_WRONLY).error());
  EXPECT_EQ(Error::kAccessDenied, table_.Open(ro, kServerUid, O_RDWR).error());
  EXPECT_TRUE(table_.Open(wo, kServerUid, O_WRONLY));
  EXPECT_EQ(Error::kAccessDenied,
            table_.Open(wo, kServerUid, O_RDONLY).error());
  // Even through a descriptor the kernel let through: no write to a
  // read-only window, no read of a write-only one.
  EXPECT_EQ(Error::kBadHandle, table_.Write(ro, 0, Bytes("x")).error());
  std::vector<std::byte> buf(1);
  EXPECT_EQ(Error::kBadHandle, table_.Read(wo, 0, buf).error());
  EXPECT_EQ(0, space().transfers);
}

TEST_F(WindowTableTest, ReadsStopAtTheEnd) {
  uint64_t id = Attach(2, 5, LPC_WINDOW_READ);  // "cdefg"
  EXPECT_EQ("cdefg", ReadText(id, 0, 100));
  EXPECT_EQ("efg", ReadText(id, 2, 100)) << "short where it ends";
  EXPECT_EQ("de", ReadText(id, 1, 2));
  EXPECT_EQ("", ReadText(id, 5, 10)) << "end of file";
  EXPECT_EQ("", ReadText(id, 1000, 10));
  EXPECT_EQ("", ReadText(id, ~uint64_t{0}, 10));
}

TEST_F(WindowTableTest, WritesPastTheEndWriteNothing) {
  uint64_t id = Attach(2, 5, LPC_WINDOW_READ | LPC_WINDOW_WRITE);
  auto n = table_.Write(id, 1, Bytes("XYZ"));
  ASSERT_TRUE(n);
  EXPECT_EQ(3u, n.value());
  EXPECT_EQ("cXYZg", ReadText(id, 0, 5));
  int before = space().transfers;
  EXPECT_EQ(Error::kFileTooBig, table_.Write(id, 3, Bytes("123")).error());
  EXPECT_EQ(Error::kFileTooBig, table_.Write(id, 6, Bytes("1")).error());
  EXPECT_EQ(Error::kFileTooBig,
            table_.Write(id, ~uint64_t{0}, Bytes("1")).error());
  EXPECT_EQ(before, space().transfers) << "nothing reached the client";
  EXPECT_EQ("cXYZg", ReadText(id, 0, 5));
  // The bytes outside the window are untouched.
  EXPECT_EQ(std::byte{'b'}, space().bytes[1]);
  EXPECT_EQ(std::byte{'h'}, space().bytes[7]);
  auto at_end = table_.Write(id, 3, Bytes("12"));
  ASSERT_TRUE(at_end);
  EXPECT_EQ(2u, at_end.value());
}

TEST_F(WindowTableTest, FaultsAndPartialTransfersComeFromTheClient) {
  // The window runs 4 bytes past what the client has mapped.
  uint64_t id = Attach(60, 8, LPC_WINDOW_READ | LPC_WINDOW_WRITE);
  EXPECT_EQ("ijkl", ReadText(id, 0, 8)) << "the bytes done";
  Error e{};
  ReadText(id, 4, 4, &e);
  EXPECT_EQ(Error::kBadAddress, e);
  auto n = table_.Write(id, 2, Bytes("123456"));
  ASSERT_TRUE(n);
  EXPECT_EQ(2u, n.value());
}

TEST_F(WindowTableTest, AnEndedWindowIsGoneAndNeverTouched) {
  uint64_t id = Attach(0, 10, LPC_WINDOW_READ | LPC_WINDOW_WRITE);
  table_.End(id);
  int before = space().transfers;
  std::vector<std::byte> buf(4);
  EXPECT_EQ(Error::kBrokenPipe, table_.Read(id, 0, buf).error());
  EXPECT_EQ(Error::kBrokenPipe, table_.Write(id, 0, Bytes("x")).error());
  EXPECT_EQ(before, space().transfers);
  EXPECT_EQ(Error::kNotFound,
            table_.Lookup(std::to_string(id), kServerUid).error());
  EXPECT_EQ(Error::kNotFound, table_.Stat(id).error());
  EXPECT_EQ(Error::kNotFound, table_.Open(id, kServerUid, O_RDONLY).error());
  EXPECT_TRUE(table_.List(kServerUid).empty());
  table_.End(id);  // again: nothing happens
  EXPECT_EQ(0u, table_.size());
}

TEST_F(WindowTableTest, AClientThatExitedIsNeverReadAgain) {
  uint64_t id = Attach(0, 10, LPC_WINDOW_READ);
  space().exited = true;
  std::vector<std::byte> buf(4);
  EXPECT_EQ(Error::kBrokenPipe, table_.Read(id, 0, buf).error());
}

TEST_F(WindowTableTest, EachClientUserHasALimit) {
  WindowTable small(&memory_, 2);
  ASSERT_TRUE(small.Attach(Spec(0, 1, LPC_WINDOW_READ)));
  auto second = small.Attach(Spec(0, 1, LPC_WINDOW_READ));
  ASSERT_TRUE(second);
  EXPECT_EQ(Error::kQuotaExceeded,
            small.Attach(Spec(0, 1, LPC_WINDOW_READ)).error());
  WindowSpec other_user = Spec(0, 1, LPC_WINDOW_READ);
  other_user.client.uid = kClientUid + 1;
  EXPECT_TRUE(small.Attach(other_user));
  small.End(second.value());
  EXPECT_TRUE(small.Attach(Spec(0, 1, LPC_WINDOW_READ)));
}

TEST(WindowTableNodes, WindowFilesHaveInodesOfTheirOwn) {
  EXPECT_TRUE(WindowTable::IsWindowNode(WindowTable::NodeOf(1)));
  EXPECT_EQ(5u, WindowTable::IdOf(WindowTable::NodeOf(5)));
  EXPECT_FALSE(WindowTable::IsWindowNode(NodeId(1)));
  EXPECT_FALSE(WindowTable::IsWindowNode(NodeId(1'000'000'000)));
}

}  // namespace
}  // namespace lpc
