// The Broker's side of the monitor (lpc.7 "MONITOR"): opening and reading
// /.monitor, its ioctl, and the events of connecting and ending that the
// broker's own operations publish. The queues are the MonitorHub's
// (core/monitor.h); messages are published by the MessageRouter.
#include <fcntl.h>

#include <cstring>

#include "broker.h"
#include "broker_internal.h"

namespace lpc {

void Broker::OpenMonitor(std::unique_ptr<OpenRequest> open, int open_flags,
                         const Caller& caller) {
  if ((open_flags & O_ACCMODE) != O_RDONLY) {
    return outbox_.Fail(std::move(open), Error::kNotPermitted);
  }
  // Each open holds a queue of up to monitor_queue bytes: a user may hold
  // only so many.
  MonitorReader reader = MonitorReaderOf(caller);
  if (monitors_.OpenBy(reader.uid) >= limits_.monitor_handles) {
    return outbox_.Fail(std::move(open), Error::kTooManyOpen);
  }
  HandleId h =
      tables_.NewHandle(HandleKind::kMonitor, PortId(), ConnId(), O_RDONLY);
  monitors_.Open(h, reader);
  outbox_.Opened(std::move(open), {h, true});
}

void Broker::ReadMonitor(std::unique_ptr<ReadRequest> read, HandleId handle) {
  MonitorQueue* queue = monitors_.Find(handle);
  if (!queue) return outbox_.Fail(std::move(read), Error::kBadHandle);
  if (read->offset > 0) {
    // A later part of one read(2) the kernel split: the first part took
    // whole records, and a record never spans two parts.
    return outbox_.Data(std::move(read), {});
  }
  bool ready = queue->ready() && queue->readers().empty();
  if (!ready) {
    if (read->nonblock) {
      return outbox_.Fail(std::move(read), Error::kWouldBlock);
    }
    // Asked under the lock before parking: an interrupt that comes later
    // finds the read through Cancel() (fs/README.md "Interrupts").
    if (delegate_->Interrupted(read->token())) {
      return outbox_.Fail(std::move(read), Error::kInterrupted);
    }
  }
  queue->readers().PushBack(std::move(read));
  monitors_.Serve(*queue);
}

Result<lpc_monitor_options> Broker::SetMonitorOptions(
    HandleId handle, std::span<const std::byte> buffer) {
  Transaction tx(this);
  Handle* h = tables_.handles.Find(handle);
  if (!h) return Error::kBadHandle;
  MonitorQueue* queue = monitors_.Find(handle);
  if (h->kind != HandleKind::kMonitor || !queue) return Error::kNotTty;
  lpc_monitor_options options;
  if (buffer.size() != sizeof options) return Error::kInvalid;
  std::memcpy(&options, buffer.data(), sizeof options);
  if ((options.flags & ~uint32_t{LPC_MONITOR_PAYLOADS}) || options.reserved) {
    return Error::kInvalid;
  }
  queue->set_payloads(options.flags & LPC_MONITOR_PAYLOADS);
  return options;
}

void Broker::Monitor(const ServerPort& port, uint16_t type,
                     const Connection& conn, const Sender& actor,
                     uint32_t flags, int32_t status, uint64_t msg_id) {
  if (!monitors_.active()) return;
  MonitorEvent event;
  event.type = type;
  event.conn = conn.id().value();
  event.msg_id = msg_id;
  event.actor = actor;
  event.flags = flags;
  event.status = status;
  monitors_.Publish(port.node(), event);
}

void Broker::MonitorRefused(NodeId port_node, const Sender& client, Error why) {
  if (!monitors_.active()) return;
  MonitorEvent event;
  event.type = LPC_MON_REJECT;
  event.actor = client;
  event.status = ToErrno(why);
  monitors_.Publish(port_node, event);
}

}  // namespace lpc
