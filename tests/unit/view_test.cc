// Views without a mount (lpc.7 "VIEWS"): the access an ACL lends a view's
// receiver and takes back, and the Broker's views: who sees them in
// /lpc/.views, and what ends them (unlink, the reply, the connection's
// end, a plain read) and what their end gives back.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "broker_fixture.h"

namespace lpc::testing {
namespace {

AclEntry NamedUser(uint32_t uid, uint16_t perm) {
  return {AclTag::kUser, perm, uid};
}

TEST(AclGrantTest, AGrantAddsANamedUserAndTheMaskThatLetsItThrough) {
  Acl lent = Acl::FromMode(0600).WithGrants(
      std::vector<AclGrant>{{1001, kAclRead | kAclWrite}});
  const std::vector<AclEntry> want = {{AclTag::kUserObj, 6, 0},
                                      NamedUser(1001, 6),
                                      {AclTag::kGroupObj, 0, 0},
                                      {AclTag::kMask, 6, 0},
                                      {AclTag::kOther, 0, 0}};
  EXPECT_EQ(lent.entries(), want);
  EXPECT_EQ(lent.ModeBits(), 0660u);
  Accessor grantee{1001, 1001, {}}, other{1002, 1001, {}};
  EXPECT_TRUE(lent.Permits(grantee, 1000, 1000, kAclRead | kAclWrite));
  EXPECT_FALSE(lent.Permits(other, 1000, 1000, kAclRead));
  // Round trip through the kernel's encoding: a valid list.
  EXPECT_TRUE(Acl::Decode(lent.Encode()));
}

TEST(AclGrantTest, AWiderMaskGivesNobodyElseMore) {
  // user:1002:rw masked to r, group (owning) rw masked to r.
  std::vector<std::byte> xattr =
      Acl::FromMode(0640).WithGrants(std::vector<AclGrant>{{1002, 6}}).Encode();
  Acl own = Acl::Decode(xattr).value();
  own.Chmod(0640);  // mask r: 1002 now reads only
  Acl lent = own.WithGrants(std::vector<AclGrant>{{1001, 6}});
  Accessor narrowed{1002, 5000, {}}, group{1003, 1000, {}};
  EXPECT_TRUE(lent.Permits(narrowed, 1000, 1000, kAclRead));
  EXPECT_FALSE(lent.Permits(narrowed, 1000, 1000, kAclWrite));
  EXPECT_FALSE(lent.Permits(group, 1000, 1000, kAclWrite));
  EXPECT_TRUE(lent.Permits({1001, 5000, {}}, 1000, 1000, kAclWrite));
  // Grants of one user add up.
  Acl both = Acl::FromMode(0600).WithGrants(
      std::vector<AclGrant>{{1001, kAclRead}, {1001, kAclWrite}});
  EXPECT_TRUE(both.Permits({1001, 5000, {}}, 1000, 1000, 6));
}

TEST(NamespaceLendTest, WhatTheOwnerSetComesBackWhenTheLastGrantGoes) {
  Namespace ns;
  Node* n = ns.Add(ns.sections_dir(), "s", NodeKind::kSection, 0600, 1000, 1000)
                .value();
  const NodeId ino = n->attr.ino;
  ns.Lend(ino, {1001, kAclRead});
  ns.Lend(ino, {1001, kAclWrite});
  EXPECT_EQ(n->attr.perm, 0660u);
  ASSERT_TRUE(n->access_acl);
  // chmod while lent changes what the owner set; the grants stay on top.
  SetAttrRequest chmod;
  chmod.set_perm = true;
  chmod.perm = 0640;
  ASSERT_TRUE(ns.SetAttr(ino, chmod));
  EXPECT_EQ(n->attr.perm, 0660u);
  ns.Unlend(ino, {1001, kAclWrite});
  EXPECT_EQ(n->attr.perm, 0640u);
  EXPECT_TRUE(n->access_acl->Permits({1001, 5000, {}}, 1000, 1000, kAclRead));
  ns.Unlend(ino, {1001, kAclRead});
  EXPECT_EQ(n->attr.perm, 0640u);
  EXPECT_FALSE(n->access_acl) << "the mode alone says it all again";
  EXPECT_FALSE(n->lent);
}

class BrokerViewTest : public BrokerTest {
 protected:
  void SetUp() override {
    server_ = Create("svc");
    ExpectWritten(Command(server_, LPC_REC_PORT_OPTIONS, ConnId(), 0,
                          LPC_PORT_AUTO_ACCEPT));
    // alice (2000) connects to the port of uid 1000 and shares her 0600
    // section with it.
    Req open = d_.Issue(RequestKind::kOpen);
    broker_.Open(open.token, port_ino_, O_RDWR, MakeCaller(42, kAlice));
    client_ = OpenedHandle(open);
    conn_ = ConnOf(NextRecord(server_));
    auto created = broker_.CreateSection(broker_.sections_dir(), "img", 0600, 0,
                                         MakeCaller(42, kAlice), O_RDWR);
    ASSERT_TRUE(created);
    section_ = created->attr.ino;
    section_handle_ = created->handle;
    SetAttrRequest size;
    size.set_size = true;
    size.size = 8192;
    ASSERT_TRUE(broker_.SetAttr(section_, size));
  }

  // alice sends a message with a view of her section; the error, if any.
  Status SendView(uint64_t offset, uint64_t length, uint32_t access) {
    lpc_view v{};
    v.section = section_.value();
    v.offset = offset;
    v.length = length;
    v.access = access;
    Bytes payload(sizeof v);
    std::memcpy(payload.data(), &v, sizeof v);
    payload.push_back(std::byte{'x'});
    Bytes record = EncodeCommand(LPC_REC_MESSAGE, 0, 0, LPC_MESSAGE_VIEW, 0,
                                 SpanOf(payload));
    Bytes buf(sizeof(lpc_transfer) + record.size());
    lpc_transfer h{};
    h.flags = LPC_TRANSFER_NO_RECEIVE;
    h.send_length = static_cast<uint32_t>(record.size());
    std::memcpy(buf.data(), &h, sizeof h);
    std::memcpy(buf.data() + sizeof h, record.data(), record.size());
    Req r = d_.Issue(RequestKind::kReceive);
    broker_.Transfer(r.token, client_, SpanOf(buf), Sender{42, kAlice, kAlice});
    auto reply = d_.reply(r);
    if (reply && std::holds_alternative<Error>(*reply)) {
      return std::get<Error>(*reply);
    }
    return Ok{};
  }
  // The view of the next record the server reads.
  lpc_view ReceivedView() {
    ParsedRecord r = NextRecord(server_);
    lpc_view v{};
    EXPECT_TRUE(r.header.flags & LPC_MESSAGE_VIEW);
    if (r.payload.size() >= sizeof v)
      std::memcpy(&v, r.payload.data(), sizeof v);
    msg_ = r.header.msg_id;
    return v;
  }

  static constexpr uint32_t kAlice = 2000;
  HandleId server_, client_, section_handle_;
  ConnId conn_;
  NodeId section_;
  uint64_t msg_ = 0;
};

TEST_F(BrokerViewTest, TheReceiverAloneSeesItAndIsLentAccessUntilTheReply) {
  ASSERT_TRUE(SendView(0, 8192, LPC_VIEW_READ | LPC_VIEW_WRITE));
  lpc_view v = ReceivedView();
  ASSERT_NE(v.id, 0u);
  EXPECT_EQ(v.section, section_.value());
  const std::string name = std::to_string(v.id);
  auto seen = broker_.LookupView(name, 1000);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->ino, section_) << "the section's own node";
  EXPECT_EQ(broker_.LookupView(name, kAlice).error(), Error::kNotFound);
  EXPECT_EQ(broker_.LookupView("0" + name, 1000).error(), Error::kNotFound);
  EXPECT_EQ(broker_.ListViews(1000)->size(), 1u);
  EXPECT_TRUE(broker_.ListViews(3000)->empty());
  // The server's uid is lent rw on alice's 0600 section.
  auto acl = broker_.GetAcl(section_, AclKind::kAccess);
  ASSERT_TRUE(acl);
  Acl lent = Acl::Decode(acl.value()).value();
  EXPECT_TRUE(lent.Permits({1000, 1000, {}}, kAlice, kAlice, 6));
  EXPECT_EQ(d_.invalidated.back(), std::make_pair(section_, false));
  // A plain message and then the reply: the reply ends it.
  ExpectWritten(Command(server_, LPC_REC_REPLY, conn_, msg_, 0, 0, "ok"));
  EXPECT_EQ(broker_.view_count(), 0u);
  EXPECT_EQ(broker_.LookupView(name, 1000).error(), Error::kNotFound);
  EXPECT_EQ(broker_.GetAcl(section_, AclKind::kAccess).error(), Error::kNoData);
  EXPECT_EQ(broker_.GetAttr(section_)->perm, 0600u);
}

TEST_F(BrokerViewTest, UnlinkOrTheConnectionsEndEndsIt) {
  ASSERT_TRUE(SendView(0, 1, LPC_VIEW_READ));
  lpc_view v = ReceivedView();
  EXPECT_EQ(broker_.ReleaseView(std::to_string(v.id), kAlice).error(),
            Error::kNotFound)
      << "only the receiver ends it";
  EXPECT_TRUE(broker_.ReleaseView(std::to_string(v.id), 1000));
  EXPECT_EQ(broker_.view_count(), 0u);
  ASSERT_TRUE(SendView(0, 1, LPC_VIEW_READ));
  ReceivedView();
  ASSERT_TRUE(SendView(1, 1, LPC_VIEW_READ));  // queued, unread
  EXPECT_EQ(broker_.view_count(), 2u);
  broker_.Release(client_);
  broker_.Release(server_);
  EXPECT_EQ(broker_.view_count(), 0u);
}

TEST_F(BrokerViewTest, AViewKeepsTheSectionAliveAfterItsLastHandle) {
  ASSERT_TRUE(SendView(0, 1, LPC_VIEW_READ));
  lpc_view v = ReceivedView();
  broker_.Release(section_handle_);
  EXPECT_EQ(broker_.section_count(), 1u);
  EXPECT_TRUE(broker_.LookupView(std::to_string(v.id), 1000));
  EXPECT_TRUE(broker_.ReleaseView(std::to_string(v.id), 1000));
  EXPECT_EQ(broker_.section_count(), 0u);
  EXPECT_EQ(d_.invalidated.back(), std::make_pair(section_, true));
}

TEST_F(BrokerViewTest, ACancelledCallEndsTheViewItCarried) {
  // A call with a view, read by the server, then interrupted.
  lpc_view v{};
  v.section = section_.value();
  v.length = 1;
  v.access = LPC_VIEW_READ;
  Bytes payload(sizeof v);
  std::memcpy(payload.data(), &v, sizeof v);
  payload.push_back(std::byte{'x'});
  Bytes record = EncodeCommand(LPC_REC_MESSAGE, 0, 0, LPC_MESSAGE_VIEW, 0,
                               SpanOf(payload));
  Bytes buf(sizeof(lpc_transfer) + 4096);
  lpc_transfer h{};
  h.send_length = static_cast<uint32_t>(record.size());
  std::memcpy(buf.data(), &h, sizeof h);
  std::memcpy(buf.data() + sizeof h, record.data(), record.size());
  Req call = d_.Issue(RequestKind::kCall);
  broker_.Call(call.token, client_, SpanOf(buf), Sender{42, kAlice, kAlice});
  lpc_view got = ReceivedView();
  EXPECT_TRUE(broker_.LookupView(std::to_string(got.id), 1000));
  ASSERT_TRUE(Cancel(call));
  EXPECT_EQ(broker_.view_count(), 0u);
  EXPECT_EQ(broker_.LookupView(std::to_string(got.id), 1000).error(),
            Error::kNotFound);
}

TEST_F(BrokerViewTest, APlainReadOfItsMessageEndsIt) {
  // The server shares a section of its own with a SEND; the client reads
  // the message with read(), which carries bytes only.
  auto own = broker_.CreateSection(broker_.sections_dir(), "server", 0600, 0,
                                   MakeCaller(1, 1000), O_RDWR);
  ASSERT_TRUE(own);
  SetAttrRequest size;
  size.set_size = true;
  size.size = 4096;
  ASSERT_TRUE(broker_.SetAttr(own->attr.ino, size));
  lpc_view v{};
  v.section = own->attr.ino.value();
  v.length = 4096;
  v.access = LPC_VIEW_READ;
  Bytes payload(sizeof v);
  std::memcpy(payload.data(), &v, sizeof v);
  payload.push_back(std::byte{'m'});
  Req w = d_.Issue(RequestKind::kWrite);
  Bytes rec = EncodeCommand(LPC_REC_SEND, conn_.value(), 0, LPC_MESSAGE_VIEW, 0,
                            SpanOf(payload));
  broker_.Write(w.token, server_, SpanOf(rec), true, Sender{1, 1000, 1000});
  ExpectWritten(w);
  ASSERT_EQ(broker_.view_count(), 1u);
  ASSERT_EQ(broker_.ListViews(kAlice)->size(), 1u);
  // alice is lent read access on the server's 0600 section meanwhile.
  Acl lent =
      Acl::Decode(broker_.GetAcl(own->attr.ino, AclKind::kAccess).value())
          .value();
  EXPECT_TRUE(lent.Permits({kAlice, kAlice, {}}, 1000, 1000, kAclRead));
  EXPECT_FALSE(lent.Permits({kAlice, kAlice, {}}, 1000, 1000, kAclWrite));
  EXPECT_EQ(DataOf(Read(client_)), "m");
  EXPECT_EQ(broker_.view_count(), 0u);
  EXPECT_EQ(broker_.GetAcl(own->attr.ino, AclKind::kAccess).error(),
            Error::kNoData);
  broker_.Release(own->handle);
}

TEST_F(BrokerViewTest, BadViewsFailAndLendNothing) {
  EXPECT_EQ(SendView(4096, 4097, LPC_VIEW_READ).error(), Error::kInvalid);
  EXPECT_EQ(SendView(8192, 1, LPC_VIEW_READ).error(), Error::kInvalid);
  EXPECT_EQ(broker_.view_count(), 0u);
  EXPECT_EQ(broker_.GetAcl(section_, AclKind::kAccess).error(), Error::kNoData);
}

}  // namespace
}  // namespace lpc::testing
