// The FUSE side of lpcfs: low-level operations that decode a request, call
// the Broker and reply, and the BrokerDelegate that turns the broker's
// effects into deferred fuse_reply_* calls and poll notifications.
#pragma once

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "broker.h"

namespace lpc {

// Replies to parked requests on the broker's behalf. A Token is the
// fuse_req_t itself; a PollToken is a fuse_pollhandle*.
class FuseReplies : public BrokerDelegate {
 public:
  void set_broker(Broker* broker) { broker_ = broker; }

  bool interrupted(Token token) override;
  void reply_open(Token token, OpenedHandle handle) override;
  void reply_data(Token token, std::span<const std::byte> data) override;
  void reply_written(Token token, size_t count) override;
  void reply_error(Token token, Error error) override;
  void notify_poll(PollToken poll) override;
  void drop_poll(PollToken poll) override;

 private:
  Broker* broker_ = nullptr;
};

// The operation table; the session's userdata must be the Broker.
const fuse_lowlevel_ops& lpcfs_operations();

}  // namespace lpc
