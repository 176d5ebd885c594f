#include "monitor_records.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include "stats_file.h"

namespace lpc::shell {

bool ParseMonitorRecords(std::string_view bytes,
                         std::vector<MonitorRecord>* out) {
  size_t at = 0;
  while (at < bytes.size()) {
    MonitorRecord r;
    if (bytes.size() - at < sizeof r.header) return false;
    std::memcpy(&r.header, bytes.data() + at, sizeof r.header);
    const lpc_monitor_event& h = r.header;
    if (h.size < sizeof h || h.size > bytes.size() - at ||
        size_t{h.path_length} + h.captured != h.size - sizeof h) {
      return false;
    }
    r.path.assign(bytes.data() + at + sizeof h, h.path_length);
    r.payload.assign(bytes.data() + at + sizeof h + h.path_length, h.captured);
    out->push_back(std::move(r));
    at += LPC_MONITOR_SPACE(h.size);
  }
  return true;
}

std::string EventName(uint16_t type) {
  switch (type) {
    case LPC_MON_CONNECT:
      return "connect";
    case LPC_MON_ACCEPT:
      return "accept";
    case LPC_MON_REJECT:
      return "reject";
    case LPC_MON_MESSAGE:
      return "message";
    case LPC_MON_SEND:
      return "send";
    case LPC_MON_REPLY:
      return "reply";
    case LPC_MON_CANCEL:
      return "cancel";
    case LPC_MON_DISCONNECT:
      return "disconnect";
    case LPC_MON_LOST:
      return "lost";
  }
  return "event-" + std::to_string(type);
}

namespace {

struct FlagName {
  uint32_t bit;
  const char* name;
};

// The words of each type's flags (lpc.h): the same bits mean different
// things in different events.
std::vector<FlagName> FlagNamesOf(uint16_t type) {
  switch (type) {
    case LPC_MON_CONNECT:
      return {{LPC_CONNECT_READ, "read"},
              {LPC_CONNECT_WRITE, "write"},
              {LPC_CONNECT_GROUPS_TRUNCATED, "groups-truncated"}};
    case LPC_MON_ACCEPT:
      return {{LPC_CONNECT_ACCEPTED, "auto"}};
    case LPC_MON_MESSAGE:
      return {{LPC_MESSAGE_IDENTITY_CHANGED, "identity-changed"},
              {LPC_MESSAGE_PROCESS_CHANGED, "process-changed"},
              {LPC_MESSAGE_CALL, "call"},
              {LPC_MESSAGE_VIEW, "view"},
              {LPC_MESSAGE_WINDOW, "window"}};
    case LPC_MON_SEND:
      return {{LPC_MESSAGE_VIEW, "view"}};
    case LPC_MON_REPLY:
      return {{LPC_MESSAGE_VIEW, "view"},
              {LPC_MONITOR_REPLY_DROPPED, "dropped"}};
    case LPC_MON_CANCEL:
      return {{LPC_CANCEL_INTERRUPTED, "interrupted"},
              {LPC_CANCEL_TIMED_OUT, "timed-out"}};
    case LPC_MON_DISCONNECT:
      return {{LPC_DISCONNECT_CLIENT_CLOSED, "client-closed"},
              {LPC_DISCONNECT_SERVER_CLOSED, "server-closed"},
              {LPC_DISCONNECT_WITHDRAWN, "withdrawn"}};
    case LPC_MON_REJECT:
      return {{LPC_MONITOR_BY_SERVER, ""}};  // said by by=server
  }
  return {};
}

std::vector<std::string> FlagList(const lpc_monitor_event& h) {
  std::vector<std::string> words;
  uint32_t left = h.flags;
  for (const FlagName& f : FlagNamesOf(h.type)) {
    if (!(left & f.bit)) continue;
    left &= ~f.bit;
    if (*f.name) words.emplace_back(f.name);
  }
  if (left & LPC_MONITOR_PATH_TRUNCATED) {
    left &= ~uint32_t{LPC_MONITOR_PATH_TRUNCATED};
    words.emplace_back("path-truncated");
  }
  if (left) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", left);
    words.emplace_back(hex);
  }
  return words;
}

std::string HexBytes(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// The port as the user knows it: the mount, then the path (made visible,
// as lpc ls shows names).
std::string FullPath(std::string_view mount, const std::string& path) {
  if (path.empty() || path[0] != '/') return path;  // "(unlinked)"
  return std::string(mount) + path;
}

bool HasMessage(uint16_t type) {
  return type == LPC_MON_MESSAGE || type == LPC_MON_SEND ||
         type == LPC_MON_REPLY;
}

std::string IsoTime(uint64_t time_ns) {
  time_t seconds = static_cast<time_t>(time_ns / 1'000'000'000u);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%09lluZ",
                static_cast<unsigned long long>(time_ns % 1'000'000'000u));
  return text;
}

}  // namespace

std::string FlagWords(const lpc_monitor_event& header) {
  std::string out;
  for (const std::string& word : FlagList(header)) {
    if (!out.empty()) out += ',';
    out += word;
  }
  return out;
}

std::string QuotedBytes(std::string_view bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        }
    }
  }
  return out + "\"";
}

bool PathMatches(std::string_view path, std::string_view filter) {
  while (filter.size() > 1 && filter.back() == '/') filter.remove_suffix(1);
  if (filter == "/") return true;
  return path == filter || (path.size() > filter.size() &&
                            path.substr(0, filter.size()) == filter &&
                            path[filter.size()] == '/');
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

std::string EventLine(const MonitorRecord& record, std::string_view time,
                      std::string_view mount, PayloadMode payload) {
  const lpc_monitor_event& h = record.header;
  std::string line(time);
  line += ' ';
  if (h.type == LPC_MON_LOST) {
    return line + "lost " + std::to_string(h.length) + " events";
  }
  line += EventName(h.type) + ' ' + VisibleName(FullPath(mount, record.path));
  line += " conn=" + std::to_string(h.conn_id);
  if (h.msg_id != 0) line += " msg=" + std::to_string(h.msg_id);
  if (HasMessage(h.type)) line += " len=" + std::to_string(h.length);
  line += " pid=" + std::to_string(h.pid) + " uid=" + std::to_string(h.uid) +
          " gid=" + std::to_string(h.gid);
  if (h.type == LPC_MON_REJECT) {
    line += " error=" + ErrnoName(h.status);
    line += (h.flags & LPC_MONITOR_BY_SERVER) ? " by=server" : " by=daemon";
  }
  std::string flags = FlagWords(h);
  if (!flags.empty()) line += " flags=" + flags;
  if (payload != PayloadMode::kNone && HasMessage(h.type)) {
    line += " payload=";
    line += payload == PayloadMode::kHex ? HexBytes(record.payload)
                                         : QuotedBytes(record.payload);
    if (h.captured < h.length) line += "...";
  }
  return line;
}

nlohmann::ordered_json EventJson(const MonitorRecord& record,
                                 std::string_view mount, PayloadMode payload) {
  const lpc_monitor_event& h = record.header;
  nlohmann::ordered_json out;
  out["time"] = IsoTime(h.time_ns);
  out["time_ns"] = h.time_ns;
  out["event"] = EventName(h.type);
  if (h.type == LPC_MON_LOST) {
    out["count"] = h.length;
    return out;
  }
  std::string path = FullPath(mount, record.path);
  out["port"] = path;
  out["port_escaped"] = VisibleName(path);
  out["conn"] = h.conn_id;
  if (h.msg_id != 0 || h.type == LPC_MON_MESSAGE) out["msg_id"] = h.msg_id;
  out["pid"] = h.pid;
  out["uid"] = h.uid;
  out["gid"] = h.gid;
  out["flags"] = FlagList(h);
  if (h.type == LPC_MON_REJECT) {
    out["errno"] = h.status;
    out["error"] = ErrnoName(h.status);
    out["by_server"] = (h.flags & LPC_MONITOR_BY_SERVER) != 0;
  }
  if (HasMessage(h.type)) {
    out["length"] = h.length;
    if (payload == PayloadMode::kText) out["payload"] = record.payload;
    if (payload == PayloadMode::kHex) {
      out["payload_hex"] = HexBytes(record.payload);
    }
    if (payload != PayloadMode::kNone) {
      out["payload_truncated"] = h.captured < h.length;
    }
  }
  return out;
}

}  // namespace lpc::shell
