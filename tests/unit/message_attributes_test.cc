// Message attributes in records (lpc.h LPC_MESSAGE_VIEW,
// LPC_MESSAGE_WINDOW): their layout, where they may appear, and what a
// malformed one is.
#include "message_attributes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "records.h"
#include "transfer.h"

namespace lpc {
namespace {

lpc_view View(uint64_t section, uint64_t offset, uint64_t length,
              uint32_t access = LPC_VIEW_READ) {
  lpc_view v{};
  v.section = section;
  v.offset = offset;
  v.length = length;
  v.access = access;
  return v;
}

lpc_window Window(uint64_t address, uint64_t length,
                  uint32_t access = LPC_WINDOW_READ | LPC_WINDOW_WRITE) {
  lpc_window w{};
  w.address = address;
  w.length = length;
  w.access = access;
  return w;
}

// A client MESSAGE record: header, attributes, message.
Bytes ClientRecord(const MessageAttributes& a, const std::string& message) {
  lpc_record h{};
  h.type = LPC_REC_MESSAGE;
  h.length = static_cast<uint32_t>(a.size() + message.size());
  h.flags = a.flags();
  Bytes out(sizeof h);
  std::memcpy(out.data(), &h, sizeof h);
  a.AppendTo(out);
  out.resize(sizeof h + h.length);
  std::memcpy(out.data() + sizeof h + a.size(), message.data(), message.size());
  return out;
}

TEST(MessageAttributes, ViewComesBeforeWindowAndLengthCountsBoth) {
  MessageAttributes a;
  a.view = View(9, 4096, 100);
  a.window = Window(0x10000, 64);
  EXPECT_EQ(a.flags(), uint32_t{LPC_MESSAGE_VIEW | LPC_MESSAGE_WINDOW});
  EXPECT_EQ(a.size(), sizeof(lpc_view) + sizeof(lpc_window));
  const std::vector<std::byte> msg = {std::byte{'h'}, std::byte{'i'}};
  Bytes rec = EncodeRecord(LPC_REC_MESSAGE, 3, 4, {}, LPC_MESSAGE_CALL, a,
                           {msg.data(), msg.size()});
  lpc_record h;
  std::memcpy(&h, rec.data(), sizeof h);
  EXPECT_EQ(h.flags,
            uint32_t{LPC_MESSAGE_CALL | LPC_MESSAGE_VIEW | LPC_MESSAGE_WINDOW});
  EXPECT_EQ(h.length, a.size() + 2);
  lpc_view v;
  std::memcpy(&v, rec.data() + sizeof h, sizeof v);
  EXPECT_EQ(v.section, 9u);
  EXPECT_EQ(v.offset, 4096u);
  lpc_window w;
  std::memcpy(&w, rec.data() + sizeof h + sizeof v, sizeof w);
  EXPECT_EQ(w.address, 0x10000u);
  EXPECT_EQ(char(rec.back()), 'i');
}

TEST(MessageAttributes, ClientMessagesSplitIntoAttributesAndBytes) {
  MessageAttributes a;
  a.view = View(5, 0, 10);
  Bytes rec = ClientRecord(a, "abc");
  auto d = DecodeClientMessage({rec.data(), rec.size()}, 256,
                               AttributeSite::kClientTransfer);
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->attributes.view);
  EXPECT_EQ(d->attributes.view->section, 5u);
  EXPECT_FALSE(d->attributes.window);
  EXPECT_EQ(d->message.size(), 3u);
  // The limit is on the message bytes, not the attributes.
  rec = ClientRecord(a, std::string(256, 'x'));
  EXPECT_TRUE(DecodeClientMessage({rec.data(), rec.size()}, 256,
                                  AttributeSite::kClientTransfer));
  rec = ClientRecord(a, std::string(257, 'x'));
  EXPECT_EQ(DecodeClientMessage({rec.data(), rec.size()}, 256,
                                AttributeSite::kClientTransfer)
                .error(),
            Error::kMessageTooLong);
  // A view alone is no message: it needs bytes, as every message does.
  rec = ClientRecord(a, "");
  EXPECT_EQ(DecodeClientMessage({rec.data(), rec.size()}, 256,
                                AttributeSite::kClientTransfer)
                .error(),
            Error::kInvalid);
}

TEST(MessageAttributes, AWindowOnlyComesWithACall) {
  MessageAttributes a;
  a.window = Window(0x1000, 1, LPC_WINDOW_READ);
  Bytes rec = ClientRecord(a, "q");
  EXPECT_TRUE(DecodeClientMessage({rec.data(), rec.size()}, 256,
                                  AttributeSite::kClientCall));
  EXPECT_EQ(DecodeClientMessage({rec.data(), rec.size()}, 256,
                                AttributeSite::kClientTransfer)
                .error(),
            Error::kInvalid);
  // A server's SEND may carry a view, never a window.
  Bytes body;
  a.AppendTo(body);
  body.push_back(std::byte{'x'});
  Bytes send = EncodeCommand(LPC_REC_SEND, 1, 0, LPC_MESSAGE_WINDOW, 0,
                             {body.data(), body.size()});
  RecordFault fault;
  EXPECT_EQ(
      DecodeServerCommand({send.data(), send.size()}, 256, &fault).error(),
      Error::kInvalid);
  EXPECT_STREQ(fault.field, "flags");
}

TEST(MessageAttributes, MalformedAttributesAreInvalid) {
  std::string why;
  auto decode = [&](const auto& attribute, uint32_t flags) {
    Bytes body(sizeof attribute);
    std::memcpy(body.data(), &attribute, sizeof attribute);
    body.push_back(std::byte{'m'});
    return DecodeAttributes(flags, {body.data(), body.size()},
                            AttributeSite::kClientCall, &why);
  };
  lpc_view v = View(1, 0, 8);
  EXPECT_TRUE(decode(v, LPC_MESSAGE_VIEW));
  v.id = 3;  // ids are the daemon's to give
  EXPECT_FALSE(decode(v, LPC_MESSAGE_VIEW));
  EXPECT_NE(why.find("id"), std::string::npos);
  v = View(1, 0, 0);
  EXPECT_FALSE(decode(v, LPC_MESSAGE_VIEW)) << "empty range";
  v = View(1, ~uint64_t{0} - 2, 8);
  EXPECT_FALSE(decode(v, LPC_MESSAGE_VIEW)) << "wraps around";
  v = View(1, 0, 8, 0);
  EXPECT_FALSE(decode(v, LPC_MESSAGE_VIEW)) << "no access";
  v = View(1, 0, 8, 4);
  EXPECT_FALSE(decode(v, LPC_MESSAGE_VIEW)) << "unknown access bit";
  v = View(1, 0, 8);
  v.reserved = 1;
  EXPECT_FALSE(decode(v, LPC_MESSAGE_VIEW));
  lpc_window w = Window(0x1000, 8);
  EXPECT_TRUE(decode(w, LPC_MESSAGE_WINDOW));
  w.length = 0;
  EXPECT_FALSE(decode(w, LPC_MESSAGE_WINDOW));
  // Shorter than the attribute the flags announce.
  std::vector<std::byte> shorter(sizeof(lpc_view) - 1);
  EXPECT_FALSE(DecodeAttributes(LPC_MESSAGE_VIEW,
                                {shorter.data(), shorter.size()},
                                AttributeSite::kServer));
}

// The table side of an Attachment: what was detached, in order.
class RecordingTable : public AttachmentTable {
 public:
  void Detach(uint64_t id) override { detached.push_back(id); }
  std::vector<uint64_t> detached;
};

TEST(Attachment, DetachesOnceWhenItsLastOwnerLetsGo) {
  RecordingTable table;
  {
    Attachments held;
    held.emplace_back(&table, 7);
    Attachment moved = std::move(held.front());
    EXPECT_TRUE(held.front().empty());
    EXPECT_TRUE(table.detached.empty());
    held.clear();
    EXPECT_TRUE(table.detached.empty()) << "a moved-from one holds nothing";
    moved.Reset();
    EXPECT_EQ(table.detached, std::vector<uint64_t>{7});
  }
  EXPECT_EQ(table.detached, std::vector<uint64_t>{7}) << "not twice";
}

}  // namespace
}  // namespace lpc
