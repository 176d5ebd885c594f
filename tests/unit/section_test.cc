// Sections without a mount (lpc.7 "SECTIONS"): a Section's size, bytes and
// quota charge; the table's idea of when a section is gone; the Broker's
// names, handles and effects for them; and the daemon's mapped memory.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "broker_fixture.h"
#include "mapped_section_memory.h"
#include "section_table.h"

namespace lpc::testing {
namespace {

Bytes Filled(size_t n, char c) { return Bytes(n, std::byte(c)); }

bool AllZero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](std::byte b) { return b == std::byte{0}; });
}

// A section's charge as the Broker makes it: 0 bytes to start with.
QuotaCharge NoBytes(QuotaLedger& ledger, uint32_t uid) {
  return std::move(ledger.Charge(uid, QuotaKind::kSectionBytes, 0).value());
}

QuotaLimits SectionQuota(size_t bytes) {
  QuotaLimits q;
  q[QuotaKind::kSectionBytes] = bytes;
  return q;
}

TEST(SectionTest, ResizeChargesTheCreatorAndGivesBackOnShrink) {
  QuotaLedger ledger(SectionQuota(10000));
  Section s(NodeId(7), NoBytes(ledger, 1000), NewHeapSectionMemory());
  ASSERT_TRUE(s.Resize(6000, 1 << 20));
  EXPECT_EQ(s.size(), 6000u);
  EXPECT_EQ(ledger.UsageOf(1000)[QuotaKind::kSectionBytes], 6000u);
  ASSERT_TRUE(s.Resize(100, 1 << 20));
  EXPECT_EQ(ledger.UsageOf(1000)[QuotaKind::kSectionBytes], 100u);
  ASSERT_TRUE(s.Resize(0, 1 << 20));
  EXPECT_TRUE(ledger.empty());
}

TEST(SectionTest, RefusedSizesChangeNothing) {
  QuotaLedger ledger(SectionQuota(8192));
  Section s(NodeId(7), NoBytes(ledger, 1000), NewHeapSectionMemory());
  ASSERT_TRUE(s.Resize(4096, 16384));
  EXPECT_EQ(s.Resize(16385, 16384).error(), Error::kFileTooBig);
  EXPECT_EQ(s.Resize(8193, 16384).error(), Error::kQuotaExceeded);
  EXPECT_EQ(s.size(), 4096u);
  EXPECT_EQ(ledger.UsageOf(1000)[QuotaKind::kSectionBytes], 4096u);
  EXPECT_TRUE(s.Resize(8192, 16384));  // exactly the quota
}

TEST(SectionTest, WritesExtendAndReadsStopAtTheEnd) {
  QuotaLedger ledger;
  Section s(NodeId(7), NoBytes(ledger, 1000), NewHeapSectionMemory());
  Bytes abc = BytesOf("abc");
  ASSERT_TRUE(s.Write(10, abc, 1 << 20));
  EXPECT_EQ(s.size(), 13u);
  std::vector<std::byte> all = s.Read(0, 100);
  ASSERT_EQ(all.size(), 13u);
  EXPECT_TRUE(AllZero({all.data(), 10}));  // the hole reads as zeros
  EXPECT_EQ(std::memcmp(all.data() + 10, "abc", 3), 0);
  EXPECT_EQ(s.Read(12, 100).size(), 1u);
  EXPECT_TRUE(s.Read(13, 100).empty());
  EXPECT_TRUE(s.Read(1000, 100).empty());
  // Past the largest section, and where offset + length wraps around.
  EXPECT_EQ(s.Write(1 << 20, abc, 1 << 20).error(), Error::kFileTooBig);
  EXPECT_EQ(s.Write(UINT64_MAX - 1, abc, UINT64_MAX).error(),
            Error::kFileTooBig);
  EXPECT_EQ(s.size(), 13u);
}

TEST(SectionTest, QuotaRefusesAWriteThatWouldGrowIt) {
  QuotaLedger ledger(SectionQuota(16));
  Section s(NodeId(7), NoBytes(ledger, 1000), NewHeapSectionMemory());
  Bytes ten = Filled(10, 'x');
  ASSERT_TRUE(s.Write(0, ten, 1 << 20));
  EXPECT_EQ(s.Write(10, ten, 1 << 20).error(), Error::kQuotaExceeded);
  EXPECT_TRUE(s.Write(0, ten, 1 << 20));  // inside: no growth, no charge
  EXPECT_EQ(s.size(), 10u);
}

TEST(SectionTableTest, TheLastHolderEndsItViewsIncluded) {
  QuotaLedger ledger;
  SectionTable table(NewHeapSectionMemory);
  Section& s = table.Add(NodeId(9), NoBytes(ledger, 5));
  ASSERT_TRUE(s.Resize(100, 1000));
  table.Open(s, HandleId(1), O_RDWR);
  table.Open(s, HandleId(2), O_RDONLY);
  table.AddView(s);
  EXPECT_EQ(table.FindHandle(HandleId(2))->access, O_RDONLY);
  EXPECT_EQ(table.SectionOf(HandleId(1)), &s);
  EXPECT_EQ(table.Close(HandleId(1)), std::nullopt);
  EXPECT_EQ(table.Close(HandleId(2)), std::nullopt);  // the view holds it
  EXPECT_EQ(table.size(), 1u);
  EXPECT_FALSE(ledger.empty());
  EXPECT_EQ(table.RemoveView(NodeId(9)), std::optional<NodeId>(NodeId(9)));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(ledger.empty()) << "the charge goes with the section";
  EXPECT_EQ(table.Close(HandleId(2)), std::nullopt);  // closed already
  EXPECT_EQ(table.RemoveView(NodeId(9)), std::nullopt);
}

// The daemon's memory: shrinking and growing again never shows old bytes,
// also within the page the shrink ended in.
TEST(MappedSectionMemoryTest, BytesCutOffReadAsZeroWhenGrownBack) {
  auto memory = NewMappedSectionMemory();
  ASSERT_TRUE(memory->Resize(3 * 4096 + 100));
  std::span<std::byte> b = memory->bytes();
  ASSERT_EQ(b.size(), 3u * 4096 + 100);
  EXPECT_TRUE(AllZero(b));
  std::fill(b.begin(), b.end(), std::byte{0x5a});
  ASSERT_TRUE(memory->Resize(4096 + 10));
  EXPECT_EQ(memory->bytes()[4096 + 9], std::byte{0x5a});
  ASSERT_TRUE(memory->Resize(3 * 4096 + 100));
  b = memory->bytes();
  EXPECT_TRUE(AllZero(b.subspan(4096 + 10)));
  EXPECT_EQ(b[0], std::byte{0x5a});
  ASSERT_TRUE(memory->Resize(0));
  EXPECT_TRUE(memory->bytes().empty());
  ASSERT_TRUE(memory->Resize(10));
  EXPECT_TRUE(AllZero(memory->bytes()));
}

// Sizing is lazy: 64 MiB of address space that nothing touched is zero.
TEST(MappedSectionMemoryTest, ALargeSectionReadsAsZero) {
  auto memory = NewMappedSectionMemory();
  ASSERT_TRUE(memory->Resize(uint64_t{64} << 20));
  std::span<std::byte> b = memory->bytes();
  EXPECT_EQ(b[0], std::byte{0});
  EXPECT_EQ(b[b.size() - 1], std::byte{0});
}

// --- The Broker.

class BrokerSectionTest : public BrokerTest {
 protected:
  BrokerSectionTest() : BrokerTest(SectionLimits()) {}
  static Limits SectionLimits() {
    Limits l;
    l.section_max = 1 << 20;
    l.quota[QuotaKind::kSectionBytes] = 1 << 21;
    return l;
  }
  Result<CreatedSection> NewSection(std::string_view name,
                                    uint32_t perm = 0600) {
    return broker_.CreateSection(broker_.sections_dir(), name, perm, 022,
                                 MakeCaller(7, 1000), O_RDWR);
  }
  SetAttrRequest Truncate(uint64_t size) {
    SetAttrRequest r;
    r.set_size = true;
    r.size = size;
    return r;
  }
};

TEST_F(BrokerSectionTest, CreatedInTheSectionsFolderOnly) {
  NodeId dir = broker_.sections_dir();
  EXPECT_EQ(broker_.Lookup(Namespace::kRootIno, ".sections")->ino, dir);
  auto created = NewSection("buf", 0666);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->attr.kind, NodeKind::kSection);
  EXPECT_EQ(created->attr.perm, 0644u) << "the umask applies";
  EXPECT_EQ(created->attr.uid, 1000u);
  EXPECT_EQ(NewSection("buf").error(), Error::kExists);
  EXPECT_EQ(broker_
                .CreateSection(Namespace::kRootIno, "x", 0600, 0, MakeCaller(7),
                               O_RDWR)
                .error(),
            Error::kNotPermitted);
  // Nor does a port, or a folder, go into .sections.
  EXPECT_EQ(broker_.CreatePort(dir, "p", 0600, 0, true, MakeCaller(7)).error(),
            Error::kNotPermitted);
  EXPECT_EQ(
      broker_.MakeFolder(dir, "d", 0700, 0, Sender{7, 1000, 1000}).error(),
      Error::kNotPermitted);
  EXPECT_EQ(broker_.Rename(dir, "buf", Namespace::kRootIno, "buf", 0).error(),
            Error::kNotPermitted);
  EXPECT_TRUE(broker_.Rename(dir, "buf", dir, "renamed", 0));
  broker_.Release(created->handle);
}

TEST_F(BrokerSectionTest, SizedReadAndWrittenThroughItsHandles) {
  auto created = NewSection("buf");
  ASSERT_TRUE(created);
  NodeId ino = created->attr.ino;
  auto sized = broker_.SetAttr(ino, Truncate(8192));
  ASSERT_TRUE(sized);
  EXPECT_EQ(sized->size, 8192u);
  HandleId other = OpenedHandle(OpenNode(ino, O_RDONLY));
  ASSERT_TRUE(other);
  auto opened = d_.reply(OpenNode(ino));
  ASSERT_TRUE(opened && std::holds_alternative<Opened>(*opened));
  EXPECT_TRUE(std::get<Opened>(*opened).handle.section);
  HandleId third = std::get<Opened>(*opened).handle.handle;

  Bytes hello = BytesOf("hello");
  EXPECT_EQ(broker_.WriteSection(created->handle, 100, hello, 1000u).value(),
            5u);
  auto read = broker_.ReadSection(other, 98, 10);
  ASSERT_TRUE(read);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(read->data()), read->size()),
      std::string("\0\0hello\0\0\0", 10));
  // A write past the end grows it; write-back leaves size and mtime.
  ASSERT_TRUE(broker_.WriteSection(third, 8190, hello, 1000u));
  EXPECT_EQ(broker_.GetAttr(ino)->size, 8195u);
  Timestamp mtime = broker_.GetAttr(ino)->mtime;
  ASSERT_TRUE(broker_.WriteSection(third, 0, hello, std::nullopt));
  EXPECT_EQ(broker_.GetAttr(ino)->mtime.nsec, mtime.nsec);
  EXPECT_EQ(broker_.GetAttr(ino)->size, 8195u);

  EXPECT_EQ(broker_.SetAttr(ino, Truncate((1 << 20) + 1)).error(),
            Error::kFileTooBig);
  // A peer that may write it may not resize it: only the owner or root.
  SetAttrRequest by_peer = Truncate(1);
  by_peer.caller_uid = 2000;
  EXPECT_EQ(broker_.SetAttr(ino, by_peer).error(), Error::kNotPermitted);
  EXPECT_EQ(broker_.WriteSection(third, 8195, hello, 2000u).error(),
            Error::kNotPermitted);
  EXPECT_TRUE(broker_.WriteSection(third, 0, hello, 2000u));
  by_peer.caller_uid = 0;
  by_peer.size = 8195;
  EXPECT_TRUE(broker_.SetAttr(ino, by_peer));
  EXPECT_EQ(broker_.WriteSection(third, 1 << 20, hello, 1000u).error(),
            Error::kFileTooBig);
  EXPECT_EQ(broker_.UsageOf(1000)[QuotaKind::kSectionBytes], 8195u);
  for (HandleId h : {created->handle, other, third}) broker_.Release(h);
}

TEST_F(BrokerSectionTest, QuotaCountsEverySectionOfTheUser) {
  auto a = NewSection("a");
  auto b = NewSection("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(broker_.SetAttr(a->attr.ino, Truncate(1 << 20)));
  ASSERT_TRUE(broker_.SetAttr(b->attr.ino, Truncate(1 << 20)));
  EXPECT_EQ(broker_.SetAttr(b->attr.ino, Truncate(1)).value().size, 1u);
  EXPECT_EQ(broker_.SetAttr(a->attr.ino, Truncate(1 << 20)).value().size,
            uint64_t{1} << 20);
  ASSERT_TRUE(broker_.SetAttr(b->attr.ino, Truncate(1 << 20)));
  Bytes one = BytesOf("x");
  EXPECT_EQ(broker_.WriteSection(b->handle, 1 << 20, one, 1000u).error(),
            Error::kFileTooBig);
  broker_.Release(a->handle);
  broker_.Release(b->handle);
  EXPECT_TRUE(broker_.quota_empty());
}

TEST_F(BrokerSectionTest, LivesUntilItsLastHandleNotItsName) {
  auto created = NewSection("buf");
  ASSERT_TRUE(created);
  NodeId ino = created->attr.ino;
  NodeId dir = broker_.sections_dir();
  ASSERT_TRUE(broker_.SetAttr(ino, Truncate(4096)));
  HandleId second = OpenedHandle(OpenNode(ino));
  broker_.Release(created->handle);
  // unlink removes the name only; the open handle still reads and writes.
  ASSERT_TRUE(broker_.Unlink(dir, "buf"));
  EXPECT_EQ(broker_.Lookup(dir, "buf").error(), Error::kNotFound);
  Bytes data = BytesOf("kept");
  EXPECT_TRUE(broker_.WriteSection(second, 0, data, 1000u));
  EXPECT_EQ(broker_.section_count(), 1u);
  EXPECT_TRUE(d_.invalidated.empty());
  broker_.Release(second);
  EXPECT_EQ(broker_.section_count(), 0u);
  EXPECT_TRUE(broker_.quota_empty());
  ASSERT_EQ(d_.invalidated.size(), 1u);
  EXPECT_EQ(d_.invalidated[0], std::make_pair(ino, true));
  // The node the kernel may still know opens no more.
  EXPECT_EQ(ErrorOf(OpenNode(ino)), Error::kNotFound);
}

TEST_F(BrokerSectionTest, TheLastCloseTakesTheName) {
  auto created = NewSection("buf");
  ASSERT_TRUE(created);
  NodeId dir = broker_.sections_dir();
  EXPECT_TRUE(broker_.Lookup(dir, "buf"));
  broker_.Release(created->handle);
  EXPECT_EQ(broker_.Lookup(dir, "buf").error(), Error::kNotFound);
  // A new section of that name is a new node: ids are never reused.
  auto again = NewSection("buf");
  ASSERT_TRUE(again);
  EXPECT_NE(again->attr.ino, created->attr.ino);
  broker_.Release(again->handle);
  EXPECT_TRUE(broker_.ReadDir(dir)->empty());
}

}  // namespace
}  // namespace lpc::testing
