// The records of /MOUNT/.monitor (include/lpc.h struct lpc_monitor_event,
// lpc.7 "MONITOR") as `lpc monitor` reads and prints them: one line of
// text, or one JSON object, per event. Pure functions, unit-tested in
// monitor_records_test.cc.
#pragma once

#include <lpc.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lpc::shell {

struct MonitorRecord {
  lpc_monitor_event header{};
  std::string path;     // from the mount root, "/a/b"
  std::string payload;  // the bytes captured, if payloads were asked for
};

// The records of one read(), each at a multiple of 8 bytes. False if one
// is malformed (its size disagrees with its parts or the bytes left): the
// records before it are in *out.
bool ParseMonitorRecords(std::string_view bytes,
                         std::vector<MonitorRecord>* out);

// How payloads are shown: not at all, as text with C escapes, or in hex.
enum class PayloadMode { kNone, kText, kHex };

// "connect", "message", ... ("event-N" for a type this lpc does not know).
std::string EventName(uint16_t type);

// The event's flags as words ("read,write", "call", "client-closed"...),
// comma-separated, in bit order; unknown bits as 0xN. "" if none.
std::string FlagWords(const lpc_monitor_event& header);

// Bytes as a double-quoted string a terminal shows as is: printable ASCII
// but '"' and '\' stays, everything else is \n, \t, \r, \\, \" or \xHH.
std::string QuotedBytes(std::string_view bytes);

// Whether an event of the port at `path` (from the mount root) is one the
// `filter` (also from the mount root) asks for: the port itself, or any
// port below it if it names a folder.
bool PathMatches(std::string_view path, std::string_view filter);

// One line, without a newline:
//   TIME EVENT PORT conn=ID [msg=ID] [len=N] pid=P uid=U gid=G
//        [error=ENAME by=server|daemon] [flags=WORDS] [payload=...]
//   TIME lost N events
// `time` is the event's time as the caller formats it; `mount` is put
// before the path (the mount as the user named it, without a trailing
// slash).
std::string EventLine(const MonitorRecord& record, std::string_view time,
                      std::string_view mount, PayloadMode payload);

// The same as one JSON object (lpc(1) "JSON OUTPUT").
nlohmann::ordered_json EventJson(const MonitorRecord& record,
                                 std::string_view mount, PayloadMode payload);

// "EBUSY" for EBUSY; the number for an errno glibc does not name.
std::string ErrnoName(int err);

}  // namespace lpc::shell
