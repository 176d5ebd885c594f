#include "outbox.h"

#include <utility>

namespace lpc {

void Outbox::Opened(std::unique_ptr<OpenRequest> request, OpenedHandle handle) {
  effects_.push_back(ReplyOpen{request->token(), handle});
}

void Outbox::Data(std::unique_ptr<ReadRequest> request, Bytes data) {
  effects_.push_back(ReplyData{request->token(), std::move(data)});
}

void Outbox::Written(std::unique_ptr<WriteRequest> request) {
  effects_.push_back(ReplyWritten{request->token(), request->count});
}

void Outbox::Fail(std::unique_ptr<Request> request, Error error) {
  effects_.push_back(ReplyError{request->token(), error});
}

void Outbox::Transferred(std::unique_ptr<Request> request, Bytes out) {
  effects_.push_back(ReplyIoctl{request->token(), std::move(out)});
}

void Outbox::NotifyPoll(PollToken poll) {
  if (poll) effects_.push_back(Notify{poll});
}

void Outbox::DropPoll(PollToken poll) {
  if (poll) effects_.push_back(Drop{poll});
}

void Outbox::InvalidateNode(NodeId node, bool data) {
  effects_.push_back(Invalidate{node, data});
}

void Outbox::Log(Event event) {
  if (!Logs(event.kind)) return;
  effects_.push_back(LogEvent{std::make_unique<const Event>(std::move(event))});
}

Outbox::Batch Outbox::Take() {
  Batch out;
  out.swap(effects_);
  return out;
}

std::vector<HandleId> Outbox::Deliver(Batch batch, BrokerDelegate& d) {
  std::vector<HandleId> refused;
  for (Effect& effect : batch) {
    std::visit(
        [&](auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, ReplyOpen>) {
            if (!d.ReplyOpen(e.token, e.handle))
              refused.push_back(e.handle.handle);
          } else if constexpr (std::is_same_v<E, ReplyData>) {
            d.ReplyData(e.token, {e.data.data(), e.data.size()});
          } else if constexpr (std::is_same_v<E, ReplyWritten>) {
            d.ReplyWritten(e.token, e.count);
          } else if constexpr (std::is_same_v<E, ReplyError>) {
            d.ReplyError(e.token, e.error);
          } else if constexpr (std::is_same_v<E, ReplyIoctl>) {
            d.ReplyIoctl(e.token, {e.out.data(), e.out.size()});
          } else if constexpr (std::is_same_v<E, Notify>) {
            d.NotifyPoll(e.poll);
          } else if constexpr (std::is_same_v<E, Drop>) {
            d.DropPoll(e.poll);
          } else if constexpr (std::is_same_v<E, Invalidate>) {
            d.InvalidateNode(e.node, e.data);
          } else {
            static_assert(std::is_same_v<E, LogEvent>);
            d.Log(*e.event);
          }
        },
        effect);
  }
  return refused;
}

}  // namespace lpc
