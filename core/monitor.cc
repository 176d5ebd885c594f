#include "monitor.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "lpc.h"

namespace lpc {

MonitorReader MonitorReaderOf(const Caller& caller) {
  constexpr uint64_t kCapSysAdmin = uint64_t{1} << 21;
  return {caller.sender.uid, (caller.cap_effective & kCapSysAdmin) != 0};
}

bool MonitorSees(const MonitorReader& reader, uint32_t owner) {
  return reader.sees_every_port || reader.uid == owner;
}

Bytes EncodeMonitorRecord(const MonitorEvent& event, Timestamp time,
                          std::string_view path,
                          std::span<const std::byte> payload) {
  lpc_monitor_event h{};
  h.type = event.type;
  h.flags = event.flags;
  if (path.size() > LPC_MONITOR_PATH_MAX) {
    path = path.substr(0, LPC_MONITOR_PATH_MAX);
    h.flags |= LPC_MONITOR_PATH_TRUNCATED;
  }
  payload =
      payload.first(std::min<size_t>(payload.size(), LPC_MONITOR_CAPTURE_MAX));
  h.size = static_cast<uint32_t>(sizeof h + path.size() + payload.size());
  h.path_length = static_cast<uint16_t>(path.size());
  h.time_ns = static_cast<uint64_t>(time.sec) * 1'000'000'000u +
              static_cast<uint64_t>(time.nsec);
  h.conn_id = event.conn;
  h.msg_id = event.msg_id;
  h.pid = event.actor.pid;
  h.uid = event.actor.uid;
  h.gid = event.actor.gid;
  h.status = event.status;
  h.length = event.length;
  h.captured = static_cast<uint32_t>(payload.size());
  Bytes out(h.size);
  std::memcpy(out.data(), &h, sizeof h);
  if (!path.empty())
    std::memcpy(out.data() + sizeof h, path.data(), path.size());
  if (!payload.empty()) {
    std::memcpy(out.data() + sizeof h + path.size(), payload.data(),
                payload.size());
  }
  return out;
}

// ------------------------------------------------------------ queue

MonitorQueue::MonitorQueue(MonitorReader reader, size_t limit,
                           WaitContext context)
    : reader_(reader),
      limit_(limit),
      readers_(context, {WaitSite::Place::kMonitor, PortId(), ConnId()}) {}

MonitorQueue::Record MonitorQueue::LostRecord() {
  MonitorEvent lost;
  lost.type = LPC_MON_LOST;
  // More than 2^32 - 1 in one gap is told in several records.
  uint64_t told =
      std::min<uint64_t>(lost_, std::numeric_limits<uint32_t>::max());
  lost.length = static_cast<uint32_t>(told);
  lost_ -= told;
  return std::make_shared<const Bytes>(
      EncodeMonitorRecord(lost, first_lost_time_, {}, {}));
}

bool MonitorQueue::Push(Record record, Timestamp time) {
  const size_t space = LPC_MONITOR_SPACE(record->size());
  constexpr size_t kLostSpace = LPC_MONITOR_SPACE(sizeof(lpc_monitor_event));
  // The gap is told where it is: before the first record after it.
  const size_t needed = space + (lost_ > 0 ? kLostSpace : 0);
  if (bytes_ + needed > limit_) {
    if (lost_ == 0) first_lost_time_ = time;
    ++lost_;
    return false;
  }
  while (lost_ > 0) {
    bytes_ += kLostSpace;
    records_.push_back(LostRecord());
  }
  bytes_ += space;
  records_.push_back(std::move(record));
  return true;
}

Result<Bytes> MonitorQueue::Take(size_t size) {
  Bytes out;
  for (;;) {
    // Events lost with nothing queued after them are told at the end.
    if (records_.empty() && lost_ > 0) {
      bytes_ += LPC_MONITOR_SPACE(sizeof(lpc_monitor_event));
      records_.push_back(LostRecord());
    }
    if (records_.empty()) break;
    const Bytes& next = *records_.front();
    // Each record starts at a multiple of 8; the bytes returned end with
    // the last record, as a batch read of a server handle does.
    const size_t at = LPC_MONITOR_SPACE(out.size());
    if (at + next.size() > size) break;
    out.resize(at + next.size());
    std::memcpy(out.data() + at, next.data(), next.size());
    bytes_ -= LPC_MONITOR_SPACE(next.size());
    records_.pop_front();
  }
  if (out.empty()) return Error::kMessageTooLong;
  return out;
}

// ------------------------------------------------------------ hub

void MonitorHub::Open(HandleId handle, MonitorReader reader) {
  monitors_[handle] = std::make_unique<MonitorQueue>(reader, limit_, context_);
}

size_t MonitorHub::OpenBy(uint32_t uid) const {
  size_t n = 0;
  for (const auto& [handle, queue] : monitors_) n += queue->reader().uid == uid;
  return n;
}

MonitorQueue* MonitorHub::Find(HandleId handle) {
  auto it = monitors_.find(handle);
  return it == monitors_.end() ? nullptr : it->second.get();
}

void MonitorHub::Close(HandleId handle) {
  auto it = monitors_.find(handle);
  if (it == monitors_.end()) return;
  MonitorQueue& queue = *it->second;
  while (!queue.readers().empty()) {
    out_.Fail(queue.readers().PopFront(), Error::kBadHandle);
  }
  monitors_.erase(it);
}

void MonitorHub::Publish(NodeId port_node, const MonitorEvent& event,
                         std::span<const std::byte> payload) {
  if (!active()) return;
  Node* node = names_.Find(port_node);
  if (!node) return;
  const uint32_t owner = node->attr.uid;
  // Built once, and only if a monitor sees the port: most events of a busy
  // daemon are of ports nobody watches.
  std::string path;
  MonitorQueue::Record plain, with_payload;
  const Timestamp now = Now();
  for (auto& [handle, queue] : monitors_) {
    if (!MonitorSees(queue->reader(), owner)) continue;
    if (!plain) {
      path = names_.PathOf(*node);
      plain = std::make_shared<const Bytes>(
          EncodeMonitorRecord(event, now, path, {}));
    }
    MonitorQueue::Record record = plain;
    if (queue->payloads() && !payload.empty()) {
      if (!with_payload) {
        with_payload = std::make_shared<const Bytes>(
            EncodeMonitorRecord(event, now, path, payload));
      }
      record = with_payload;
    }
    const bool was_ready = queue->ready();
    queue->Push(std::move(record), now);
    Serve(*queue);
    if (!was_ready && queue->ready()) {
      if (Handle* h = handles_.Find(handle)) out_.NotifyPoll(h->poll);
    }
  }
}

void MonitorHub::Serve(MonitorQueue& queue) {
  while (queue.ready() && !queue.readers().empty()) {
    std::unique_ptr<ReadRequest> read = queue.readers().PopFront();
    Result<Bytes> records = queue.Take(read->size);
    if (!records) {
      out_.Fail(std::move(read), records.error());
      continue;
    }
    out_.Data(std::move(read), std::move(records.value()));
  }
}

}  // namespace lpc
