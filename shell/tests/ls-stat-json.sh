#!/bin/bash
# lpc ls --json and lpc stat --json (lpc(1) "JSON OUTPUT"): one valid JSON
# document whose fields are the daemon's, names with newlines, control
# characters and invalid UTF-8 included.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# json_check NAME EXPR: EXPR, a Python expression over the document `d`
# parsed from $out (and the environment `e`), is true.
json_check() {
  if python3 -c 'import json, os, sys
d = json.load(sys.stdin)
e = os.environ
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2" <<<"$out"; then
    pass "$1"
  else
    fail "$1: not true: $2, of:"
    printf '%s\n' "$out" | sed 's/^/    /' >&2
  fi
}
export LPC_MNT

run_capture "$LPC" ls --json
check_eq "ls --json on an empty mount: status" 0 "$rc"
json_check "ls --json on an empty mount: an empty array" 'd == []'

start_server echo -- cat
export ECHO_PID=$server_pid
exec 3<>"$LPC_MNT/echo"
export SELF=$$
before=$(date +%s)
printf 'hello\n' >&3
read -r reply <&3
check_eq "the echo server answers" hello "$reply"
export BEFORE=$before NOW
NOW=$(date +%s)

run_capture "$LPC" ls --json
check_eq "ls --json: status" 0 "$rc"
json_check "ls --json: one port, echo" \
  'len(d) == 1 and d[0]["path"] == e["LPC_MNT"] + "/echo"'
json_check "ls --json: owner, group, mode" \
  'd[0]["owner"] == 0 and d[0]["owner_name"] == "root" and d[0]["group"] == 0 and d[0]["mode"] == "0666"'
json_check "ls --json: the server's pid, auto-accept, one connection" \
  'd[0]["server_pid"] == int(e["ECHO_PID"]) and d[0]["auto_accept"] is True and d[0]["connections"] == 1 and d[0]["pending"] == 0'
json_check "ls --json: the counters of one message each way" \
  'd[0]["counters"] == {"messages_to_server": 1, "bytes_to_server": 6, "messages_to_client": 1, "bytes_to_client": 6, "refused": 0, "rejected_records": 0}'
json_check "ls --json: no clients list (that is lpc stat's)" \
  '"clients" not in d[0]'

run_capture "$LPC" stat --json echo
check_eq "stat --json: status" 0 "$rc"
json_check "stat --json: one object, the port" \
  'isinstance(d, dict) and d["path"] == e["LPC_MNT"] + "/echo" and d["server_pid"] == int(e["ECHO_PID"])'
json_check "stat --json: one client, this shell, open" \
  'len(d["clients"]) == 1 and d["clients"][0]["client_pid"] == int(e["SELF"]) and d["clients"][0]["client_uid"] == 0 and d["clients"][0]["state"] == "open"'
json_check "stat --json: the client's queues are empty, nothing waits" \
  'd["clients"][0]["to_server"] == {"messages": 0, "bytes": 0} and d["clients"][0]["to_client"] == {"messages": 0, "bytes": 0} and d["clients"][0]["calls"] == 0'
# lpc serve reads each connection from its .conn/ID file.
json_check "stat --json: bound, a boolean" 'd["clients"][0]["bound"] is True'
json_check "stat --json: connected since it opened the port" \
  'int(e["BEFORE"]) - 1 <= d["clients"][0]["since"] <= int(e["NOW"])'
json_check "stat --json: client capabilities, hex and named" \
  'd["clients"][0]["client_caps"].startswith("0x") and d["clients"][0]["client_capabilities"].startswith("=")'
json_check "stat --json: root's quota usage" \
  'len(d["users"]) == 1 and d["users"][0]["uid"] == 0 and d["users"][0]["ports"] == 1 and d["users"][0]["connections"] == 1'
exec 3>&-

# A name with a newline, a control character, an escape and a byte that
# is not UTF-8: valid JSON, the name exact but for that byte (U+FFFD), and
# path_escaped as .stats writes it.
odd=$'new\nline\x01\x1b[31m\xffend'
start_server "$odd" -- cat
export ODD_PID=$server_pid
run_capture "$LPC" ls --json
check_eq "ls --json with an odd name: status" 0 "$rc"
json_check "ls --json: the odd name decoded, its bad byte replaced" \
  'len(d) == 2 and d[1]["path"] == e["LPC_MNT"] + "/new\nline\x01\x1b[31m\ufffdend"'
json_check "ls --json: the odd name escaped as in .stats" \
  'd[1]["path_escaped"] == e["LPC_MNT"] + "/new\\nline\\001\\033[31m\\377end"'
json_check "ls --json: the odd port's server" \
  'd[1]["server_pid"] == int(e["ODD_PID"])'
check_eq "ls --json: no raw control character in the output" 0 \
  "$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$out")"
run_capture "$LPC" stat --json "$LPC_MNT/$odd"
check_eq "stat --json of the odd name: status" 0 "$rc"
json_check "stat --json: the odd name, no clients" \
  'd["path"] == e["LPC_MNT"] + "/new\nline\x01\x1b[31m\ufffdend" and d["clients"] == []'

run_capture "$LPC" ls --json extra
check_eq "ls --json: no operands" 2 "$rc"
run_capture "$LPC" stat --json
check_eq "stat --json: PORT needed" 2 "$rc"

finish
