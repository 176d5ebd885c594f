#include "connection.h"

#include <poll.h>

#include <algorithm>
#include <utility>

namespace lpc {

Connection::Connection(ConnId id, PortId port, Caller client,
                       uint32_t connect_flags, const Limits& limits,
                       WaitContext context, QuotaLedger* quota)
    : id_(id),
      port_(port),
      client_(std::move(client)),
      connect_flags_(connect_flags),
      connect_info_(EncodeConnectInfo(client_)),
      to_server_(limits, context, port, id, Direction::kToServer, quota),
      to_client_(limits, context, port, id, Direction::kToClient, quota),
      open_request_(context, {WaitSite::Place::kConnect, port, id}),
      replies_(limits.reply_window),
      calls_(context, {WaitSite::Place::kCalls, port, id},
             limits.reply_window) {}

bool ClientGone(Stage stage) {
  switch (stage) {
    case Stage::kRefused:
    case Stage::kClientGone:
    case Stage::kClosed:
      return true;
    case Stage::kRequested:
    case Stage::kOpen:
    case Stage::kServerGone:
      return false;
  }
  return true;
}

bool ServerGone(Stage stage) {
  switch (stage) {
    case Stage::kRefused:
    case Stage::kServerGone:
    case Stage::kClosed:
      return true;
    case Stage::kRequested:
    case Stage::kOpen:
    case Stage::kClientGone:
      return false;
  }
  return true;
}

void Connection::HoldCharges(QuotaCharge client, QuotaCharge served,
                             QuotaCharge pending) {
  client_charge_ = std::move(client);
  served_charge_ = std::move(served);
  pending_charge_ = std::move(pending);
}

void Connection::Accept() {
  if (stage_ == Stage::kRequested) stage_ = Stage::kOpen;
  pending_charge_.Reset();
}

void Connection::Refuse() {
  if (stage_ == Stage::kRequested) stage_ = Stage::kRefused;
  pending_charge_.Reset();
}

void Connection::EndClient() {
  if (stage_ == Stage::kOpen) {
    stage_ = Stage::kClientGone;
  } else if (stage_ == Stage::kServerGone) {
    stage_ = Stage::kClosed;
  }
}

bool Connection::EndServer() {
  if (stage_ == Stage::kOpen) {
    stage_ = Stage::kServerGone;
  } else if (stage_ == Stage::kClientGone) {
    stage_ = Stage::kClosed;
  } else {
    return false;
  }
  return true;
}

bool Connection::Finished() const {
  return !pending() && !client_handle_ && server_files_.empty() &&
         notice_ == Notice::kDone;
}

std::vector<HandleId> Connection::Readers(Direction d) const {
  if (d == Direction::kToClient) {
    return client_handle_ ? std::vector<HandleId>{client_handle_}
                          : std::vector<HandleId>{};
  }
  return server_files_;
}

std::vector<HandleId> Connection::Writers(Direction d) const {
  return Readers(d == Direction::kToServer ? Direction::kToClient
                                           : Direction::kToServer);
}

std::vector<HandleId> Connection::Handles() const {
  std::vector<HandleId> all = server_files_;
  if (client_handle_) all.push_back(client_handle_);
  return all;
}

uint32_t Connection::Readiness(Direction in) const {
  if (!carrying()) return POLLIN | POLLHUP;
  Direction out =
      in == Direction::kToClient ? Direction::kToServer : Direction::kToClient;
  return (channel(in).queue().empty() ? 0 : POLLIN) |
         (channel(out).HasRoom() ? POLLOUT : 0);
}

void Connection::RemoveServerFile(HandleId h) {
  server_files_.erase(
      std::remove(server_files_.begin(), server_files_.end(), h),
      server_files_.end());
}

void Connection::KeepDelivered(uint64_t msg_id, Attachments attachments) {
  for (Attachment& a : attachments) delivered_.emplace(msg_id, std::move(a));
}

}  // namespace lpc
