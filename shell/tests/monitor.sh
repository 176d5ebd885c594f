#!/bin/bash
# lpc monitor against a daemon with -o monitor_queue=16384: the events of a
# call as lines and as JSON that parses, payloads only when asked, PORT
# filters, --count, a clean exit on SIGINT and on a closed pipe, and a
# stopped monitor that loses events (with a count) while the clients go on.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# start_monitor NAME [OPTIONS...]: lpc monitor in the background, its
# output in $TMP/NAME.out and .err; returns once it says it is open.
# $monitor_pid is its pid.
start_monitor() {
  local name=$1
  shift
  "$LPC" monitor "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  monitor_pid=$!
  wait_until "lpc monitor $* is open" grep -q '^lpc: monitoring ' "$TMP/$name.err"
}

# stop_monitor PID: SIGINT, as Ctrl-C; sets $rc to its exit status.
stop_monitor() {
  kill -INT "$1"
  wait "$1"
  rc=$?
}

start_server echo -- cat
echo_pid=$server_pid
start_server other -- cat

start_monitor lines
lines_pid=$monitor_pid
start_monitor json --json --payload text
json_pid=$monitor_pid
start_monitor hex --payload hex echo
hex_pid=$monitor_pid
start_monitor count --count 2
count_pid=$monitor_pid

run_capture "$LPC" call echo hello
check_eq "the echo server answers" "0|hello" "$rc|$out"
run_capture "$LPC" call other x
check_eq "the other server answers" "0|x" "$rc|$out"
wait "$count_pid"
check_eq "--count 2: exits 0 after two events" 0 $?
check_eq "--count 2: two lines" 2 "$(wc -l <"$TMP/count.out")"
# lpc serve ends its side of a connection last: once each monitor shows
# both calls' server-closed disconnects, it has shown everything.
wait_until "the lines monitor shows the last disconnect" \
  awk '/flags=server-closed/ {n++} END {exit n != 2}' "$TMP/lines.out"
wait_until "the JSON monitor shows the last disconnect" \
  awk '/"server-closed"/ {n++} END {exit n != 2}' "$TMP/json.out"
wait_until "the hex monitor shows echo's last disconnect" \
  grep -q "flags=server-closed" "$TMP/hex.out"
for pid in "$lines_pid" "$json_pid" "$hex_pid"; do
  stop_monitor "$pid"
  check_eq "SIGINT: lpc monitor exits 0" 0 "$rc"
done

out=$(cat "$TMP/lines.out")
t='[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}'
conn='conn=[0-9]+'
who="pid=[0-9]+ uid=0 gid=0"
check_eq "the events of a call, in order" \
  "connect accept message send disconnect disconnect" \
  "$(grep " $LPC_MNT/echo " <<<"$out" | awk '{printf "%s%s", sep, $2; sep=" "}')"
check_line "connect: time, port, conn, the client, its open mode" \
  "$t connect $LPC_MNT/echo $conn $who flags=read,write" "$out"
check_line "accept: automatic (lpc serve)" \
  "$t accept $LPC_MNT/echo $conn $who flags=auto" "$out"
check_line "message: its id and length, no payload unless asked" \
  "$t message $LPC_MNT/echo $conn msg=1 len=5 $who" "$out"
check_line "send: lpc serve's reply line" \
  "$t send $LPC_MNT/echo $conn len=6 pid=$echo_pid uid=0 gid=0" "$out"
check_line "disconnect: the client closed" \
  "$t disconnect $LPC_MNT/echo $conn $who flags=client-closed" "$out"
check_eq "no PORT: every port" 1 "$(grep -c "message $LPC_MNT/other " <<<"$out")"

out=$(cat "$TMP/hex.out")
check_eq "PORT echo: only echo's events" "0|6" \
  "$(grep -vc " $LPC_MNT/echo " <<<"$out")|$(wc -l <<<"$out")"
check_line "--payload hex" \
  "$t message $LPC_MNT/echo $conn msg=1 len=5 $who payload=68656c6c6f" "$out"

out=$(cat "$TMP/json.out")
# json_check NAME EXPR: EXPR, Python over the list `d` of the objects of
# $out, one per line, is true (and every line parses).
json_check() {
  if python3 -c 'import json, os, sys
d = [json.loads(line) for line in sys.stdin]
e = os.environ
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2" <<<"$out"; then
    pass "$1"
  else
    fail "$1: not true: $2, of:"
    printf '%s\n' "$out" | sed 's/^/    /' >&2
  fi
}
export LPC_MNT ECHO_PID=$echo_pid
json_check "--json: one object a line, 12 events" 'len(d) == 12'
json_check "--json: the call's events in order" \
  '[x["event"] for x in d if x["port"] == e["LPC_MNT"] + "/echo"] == ["connect", "accept", "message", "send", "disconnect", "disconnect"]'
json_check "--json: a message with its payload as text" \
  'any(x["event"] == "message" and x["payload"] == "hello" and x["length"] == 5 and x["msg_id"] == 1 and x["payload_truncated"] is False for x in d)'
json_check "--json: the send, by the server, payload with its newline" \
  'any(x["event"] == "send" and x["pid"] == int(e["ECHO_PID"]) and x["payload"] == "hello\n" for x in d)'
json_check "--json: times, ids and flags" \
  'all(x["time"].endswith("Z") and x["time_ns"] > 0 and x["conn"] > 0 and isinstance(x["flags"], list) for x in d)'
json_check "--json: in time order" \
  'all(a["time_ns"] <= b["time_ns"] for a, b in zip(d, d[1:]))'

# A reader that goes away: lpc monitor notices at its next write and
# exits 0, without a word.
(
  "$LPC" monitor 2>"$TMP/pipe.err" | head -n 1 >/dev/null
  echo "${PIPESTATUS[0]}" >"$TMP/pipe.status"
) &
wait_until "the piped monitor is open" grep -q '^lpc: monitoring ' "$TMP/pipe.err"
for _ in $(seq 1 100); do
  [ -e "$TMP/pipe.status" ] && break
  "$LPC" call echo again >/dev/null
done
wait_until "the piped monitor ends" test -s "$TMP/pipe.status"
check_eq "| head -n 1: lpc monitor exits 0, nothing on stderr" "0|lpc: monitoring $LPC_MNT/.monitor" \
  "$(cat "$TMP/pipe.status")|$(cat "$TMP/pipe.err")"

# A monitor that stops reading loses events, and says how many; the
# clients never wait for it. 100 calls make 600 events, about 43 KiB of
# records: more than the 16 KiB queue. (How many exactly is checked
# without lpc serve in tests/integration/monitor_test.cc.)
start_monitor slow
slow_pid=$monitor_pid
kill -STOP "$slow_pid"
calls_ok=0
for _ in $(seq 1 100); do
  [ "$("$LPC" call echo x)" = x ] && calls_ok=$((calls_ok + 1))
done
check_eq "every call is answered while the monitor is stopped" 100 "$calls_ok"
kill -CONT "$slow_pid"
wait_until "the slow monitor says what it lost" \
  grep -q -E '^[0-9:.]+ lost [0-9]+ events$' "$TMP/slow.out"
stop_monitor "$slow_pid"
check_eq "the slow monitor exits 0" 0 "$rc"
out=$(cat "$TMP/slow.out")
lost=$(grep ' lost ' <<<"$out" | awk '{n += $3} END {print n + 0}')
check_match "the slow monitor lost events and counted them" '^[1-9][0-9]*$' "$lost"
check_match "the slow monitor shows the events before the gap" \
  '^[0-9:.]+ connect ' "$(head -n 1 <<<"$out")"

run_capture "$LPC" monitor --mount "$TMP"
check_eq "monitor of a folder that is not lpcfs: status" 1 "$rc"
check_match "monitor of a folder that is not lpcfs: says so" \
  "no lpcfs mounted at $TMP" "$err"

finish
