// The monitor (lpc.7 "MONITOR"): every open of /.monitor gets its own
// bounded queue of the events that happen to the ports its opener may
// watch (connects, accepts, rejects, messages, sends, replies, cancels,
// disconnects), encoded as struct lpc_monitor_event records.
//
// A monitor must never slow the traffic it watches or make the daemon grow
// without bound: an event that does not fit a monitor's queue is dropped
// for that monitor alone and counted, and the reader gets one LPC_MON_LOST
// record with the count where the gap is. With no monitor open, every hook
// costs one branch (MonitorHub::active()).
//
// Plain data under the Broker's lock, like the rest of core/: the broker
// and the router publish events, the broker parks and answers reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "caller.h"
#include "errors.h"
#include "handle_table.h"
#include "ids.h"
#include "namespace.h"
#include "outbox.h"
#include "records.h"
#include "requests.h"

namespace lpc {

// Who opened a monitor, as decided at open(2) and kept for the life of the
// descriptor (like a file's open mode): its fsuid, and whether it had
// CAP_SYS_ADMIN (capability 21) in its effective set.
struct MonitorReader {
  uint32_t uid = 0;
  bool sees_every_port = false;
};

// The reader of a monitor as the caller that opens it.
MonitorReader MonitorReaderOf(const Caller& caller);

// Whether `reader` sees the events of a port owned by `owner` (its owner
// when the event happens): every port with CAP_SYS_ADMIN, as fanotify(7)
// asks of a watcher of the whole system; else only its own ports.
bool MonitorSees(const MonitorReader& reader, uint32_t owner);

// One event, before it is encoded for the monitors that see it.
struct MonitorEvent {
  uint16_t type = 0;  // LPC_MON_*
  uint64_t conn = 0;
  uint64_t msg_id = 0;
  Sender actor;  // the process the event is about (lpc.7 "MONITOR")
  uint32_t flags = 0;
  int32_t status = 0;   // errno, LPC_MON_REJECT
  uint32_t length = 0;  // payload bytes of the message
};

// The bytes of one record: header, path (cut at LPC_MONITOR_PATH_MAX),
// payload (cut at LPC_MONITOR_CAPTURE_MAX), without padding.
Bytes EncodeMonitorRecord(const MonitorEvent& event, Timestamp time,
                          std::string_view path,
                          std::span<const std::byte> payload);

// The queue of one open .monitor: encoded records waiting for its reader,
// at most `limit` bytes of them, and the reads waiting for records.
class MonitorQueue {
 public:
  using Record = std::shared_ptr<const Bytes>;  // shared by every monitor

  MonitorQueue(MonitorReader reader, size_t limit, WaitContext context);

  const MonitorReader& reader() const { return reader_; }
  bool payloads() const { return payloads_; }
  void set_payloads(bool on) { payloads_ = on; }

  // Queues a record if it fits (after an LPC_MON_LOST record for the
  // events lost before it, if any), else counts it lost. `time`: when it
  // happened. False if it was lost.
  bool Push(Record record, Timestamp time);
  // A record is queued, or a count of lost events waits to be told.
  bool ready() const { return !records_.empty() || lost_ > 0; }
  // As many whole records as `size` bytes hold, each padded to a multiple
  // of 8; the count of lost events last, once the queue is drained.
  // kMessageTooLong if the first one does not fit (it stays queued).
  Result<Bytes> Take(size_t size);

  WaitQueue<ReadRequest>& readers() { return readers_; }
  size_t queued_bytes() const { return bytes_; }
  uint64_t lost() const { return lost_; }

 private:
  // Queues the LPC_MON_LOST record of the events lost so far.
  Record LostRecord();

  MonitorReader reader_;
  size_t limit_;
  bool payloads_ = false;
  std::deque<Record> records_;
  size_t bytes_ = 0;
  uint64_t lost_ = 0;          // events dropped and not yet reported
  Timestamp first_lost_time_;  // when the first of them happened
  WaitQueue<ReadRequest> readers_;
};

// Every open monitor of one broker, and the one place events go through.
class MonitorHub {
 public:
  // `limit`: bytes each monitor may queue (-o monitor_queue, lpcfs.8).
  MonitorHub(size_t limit, WaitContext context, Namespace& names,
             HandleTable& handles, Outbox& outbox)
      : limit_(limit),
        context_(context),
        names_(names),
        handles_(handles),
        out_(outbox) {}
  MonitorHub(const MonitorHub&) = delete;
  MonitorHub& operator=(const MonitorHub&) = delete;

  // Some monitor is open: only then are events built at all.
  bool active() const { return !monitors_.empty(); }

  void Open(HandleId handle, MonitorReader reader);
  // Monitors open by `uid` (the monitor_handles limit, lpcfs.8).
  size_t OpenBy(uint32_t uid) const;
  MonitorQueue* Find(HandleId handle);
  // The descriptor's last close: its queue goes (no read can wait then,
  // since a read holds the file; any left would be answered EBADF).
  void Close(HandleId handle);

  // An event of the port whose node is `port_node` (its owner and path are
  // taken now): queued for every monitor that sees it, with `payload` for
  // those that asked for payloads. Wakes their readers and pollers.
  void Publish(NodeId port_node, const MonitorEvent& event,
               std::span<const std::byte> payload = {});

  // Answers the reads waiting on `queue` while it has records for them.
  void Serve(MonitorQueue& queue);

 private:
  size_t limit_;
  WaitContext context_;
  Namespace& names_;
  HandleTable& handles_;
  Outbox& out_;
  std::map<HandleId, std::unique_ptr<MonitorQueue>> monitors_;
};

}  // namespace lpc
