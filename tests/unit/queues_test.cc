// The small classes a connection is made of: MessageQueue, ReplyWindow,
// WaitList and Channel.
#include <gtest/gtest.h>

#include <cstring>

#include "channel.h"
#include "message_queue.h"
#include "outbox.h"
#include "reply_window.h"
#include "requests.h"

namespace lpc {
namespace {

Message Msg(std::string_view s) {
  Message m;
  m.data.resize(s.size());
  std::memcpy(m.data.data(), s.data(), s.size());
  return m;
}

std::string Text(const Bytes& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(MessageQueue, PiecesOfTheHeadOnly) {
  MessageQueue q;
  q.Push(Msg("hello"));
  q.Push(Msg("world"));
  EXPECT_EQ(q.count(), 2u);
  EXPECT_EQ(q.bytes(), 10u);
  bool finished = true;
  EXPECT_EQ(Text(q.TakeBytes(3, &finished)), "hel");
  EXPECT_FALSE(finished);
  EXPECT_TRUE(q.head_started());
  EXPECT_EQ(q.bytes(), 10u) << "counted until read to its end";
  EXPECT_EQ(Text(q.TakeBytes(100, &finished)), "lo");
  EXPECT_TRUE(finished);
  EXPECT_FALSE(q.head_started());
  EXPECT_EQ(q.bytes(), 5u);
  EXPECT_EQ(Text(q.PopFront().data), "world");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(ReplyWindow, RemembersAtMostTheLimitOldestForgottenFirst) {
  ReplyWindow w(2);
  w.Remember(1);
  w.Remember(2);
  w.Remember(3);
  EXPECT_FALSE(w.Awaits(1));
  EXPECT_TRUE(w.Take(2));
  EXPECT_FALSE(w.Take(2)) << "once";
  w.Restore(2);
  EXPECT_TRUE(w.Awaits(2));
  EXPECT_EQ(w.size(), 2u);
}

class WaitListTest : public ::testing::Test {
 protected:
  WaitRegistry registry_;
  Outbox outbox_;
  WaitContext ctx_{&registry_, &outbox_};
};

TEST_F(WaitListTest, OneListOneIndexAndDestroyingAParkedRequestUnlinksIt) {
  WaitQueue<ReadRequest> q(ctx_, {WaitSite::Place::kReaders, {}, {}});
  q.PushBack(std::make_unique<ReadRequest>(Token(1), 10, 0, false));
  q.PushBack(std::make_unique<ReadRequest>(Token(2), 20, 0, false));
  q.PushBack(std::make_unique<ReadRequest>(Token(3), 30, 0, false));
  ASSERT_EQ(registry_.size(), 3u);
  Request* middle = registry_.Find(Token(2));
  ASSERT_NE(middle, nullptr);
  EXPECT_EQ(middle->list(), &q);
  std::unique_ptr<Request> taken = q.Remove(middle);
  EXPECT_EQ(taken->list(), nullptr);
  EXPECT_EQ(registry_.Find(Token(2)), nullptr);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.front()->token(), Token(1));
  delete q.front();  // a request destroyed while parked unlinks itself
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(registry_.Find(Token(1)), nullptr);
  EXPECT_EQ(q.PopFront()->size, 30u);
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(registry_.empty());
}

TEST_F(WaitListTest, AListDestroyedWithRequestsAnswersThem) {
  {
    WaitQueue<WriteRequest> q(ctx_, {WaitSite::Place::kWriters, {}, {}});
    q.PushBack(std::make_unique<WriteRequest>(Token(9), 1, false));
  }
  EXPECT_TRUE(registry_.empty());
  Outbox::Batch batch = outbox_.Take();
  ASSERT_EQ(batch.size(), 1u);
  auto* e = std::get_if<Outbox::ReplyError>(&batch[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->token, Token(9));
  EXPECT_EQ(e->error, Error::kAborted);
}

class ChannelTest : public WaitListTest {
 protected:
  ChannelTest() {
    limits_.queue_messages = 2;
    limits_.queue_bytes = 10;
  }
  Limits limits_;
};

TEST_F(ChannelTest, RoomRules) {
  Channel ch(limits_, ctx_, PortId(1), ConnId(2), Direction::kToClient);
  EXPECT_TRUE(ch.Fits(1000)) << "a lone message always fits";
  ch.queue().Push(Msg("123456"));
  EXPECT_TRUE(ch.Fits(4));
  EXPECT_FALSE(ch.Fits(5)) << "bytes";
  EXPECT_FALSE(ch.HasRoom()) << "POLLOUT wants room for the largest message";
  ch.queue().Push(Msg("7"));
  EXPECT_FALSE(ch.Fits(1)) << "messages";
  auto w = std::make_unique<WriteRequest>(Token(5), 1, false);
  w->message = Msg("x");
  ch.writers().PushBack(std::move(w));
  EXPECT_EQ(ch.TakeFittingWriter(), nullptr);
  EXPECT_FALSE(ch.Admits(1)) << "behind a waiting writer";
  bool finished;
  ch.queue().TakeBytes(100, &finished);
  auto taken = ch.TakeFittingWriter();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->token(), Token(5));
}

TEST_F(ChannelTest, ReadersGetMessagesThenEndOfFile) {
  Channel ch(limits_, ctx_, PortId(1), ConnId(2), Direction::kToServer);
  ch.readers().PushBack(std::make_unique<ReadRequest>(Token(1), 2, 0, false));
  ch.readers().PushBack(std::make_unique<ReadRequest>(Token(2), 9, 0, false));
  ch.readers().PushBack(std::make_unique<ReadRequest>(Token(3), 9, 0, false));
  EXPECT_FALSE(ch.ServeReaders(outbox_, false)) << "nothing to read";
  ch.queue().Push(Msg("abc"));
  // The first reader takes what fits its buffer, the next the rest.
  EXPECT_TRUE(ch.ServeReaders(outbox_, false)) << "a message was finished";
  EXPECT_EQ(ch.readers().size(), 1u);
  EXPECT_FALSE(ch.ServeReaders(outbox_, true));
  EXPECT_TRUE(ch.readers().empty()) << "end of file for the last";
  Outbox::Batch batch = outbox_.Take();
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(Text(std::get<Outbox::ReplyData>(batch[0]).data), "ab");
  EXPECT_EQ(Text(std::get<Outbox::ReplyData>(batch[1]).data), "c");
  EXPECT_EQ(std::get<Outbox::ReplyData>(batch[2]).token, Token(3));
  EXPECT_EQ(Text(std::get<Outbox::ReplyData>(batch[2]).data), "");
}

}  // namespace
}  // namespace lpc
