# shellcheck shell=bash
# Helpers for the example test drivers (examples/python, examples/cpp).
# Sourced by a bash script that runs under tests/with-mount.sh ($LPC_MNT).
# Runs one example server at a time; its output goes to $work/server.log.
set -u

work=$(mktemp -d /tmp/lpc-example-test.XXXXXX)
server_pid=
server_port=

cleanup() {
  if [ -n "$server_pid" ]; then
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$work/server.log" ]; then
    echo "--- server output ---" >&2
    cat "$work/server.log" >&2
  fi
  exit 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" != "$3" ]; then
    diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2
    fail "$1: output differs (- expected, + actual)"
  fi
}

# expect_log_line REGEX: waits (10 s at most) until the server's output has a
# line matching REGEX (ERE); the server logs events as it reads them.
expect_log_line() {
  for _ in $(seq 1 200); do
    grep -Eq -- "$1" "$work/server.log" && return 0
    sleep 0.05
  done
  fail "server output lacks /$1/"
}

# start_server PORT_NAME COMMAND...: runs COMMAND in the background and waits
# until it has created $LPC_MNT/PORT_NAME.
start_server() {
  server_port=$1
  shift
  "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do
    [ -e "$LPC_MNT/$server_port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null ||
      fail "server exited before creating $server_port"
    sleep 0.05
  done
  fail "server did not create $server_port within 10 s"
}

# stop_server [SIGNAL]: sends SIGNAL (default TERM); the server must exit 0
# and its port must be gone.
stop_server() {
  kill -"${1:-TERM}" "$server_pid"
  finish "$server_pid" "server (after SIG${1:-TERM})"
  server_pid=
  [ ! -e "$LPC_MNT/$server_port" ] ||
    fail "port $server_port still exists after the server exited"
}

# wait_for_output FILE LINES PID WHAT: waits (10 s at most) until FILE, the
# output of background process PID, has LINES lines; PID must not exit first.
wait_for_output() {
  for _ in $(seq 1 200); do
    [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || fail "$4 exited early: $(cat "$1")"
    sleep 0.05
  done
  fail "$4 has not printed $2 lines after 10 s"
}

# finish PID WHAT [STATUS]: waits (20 s at most) for background process PID
# to exit; it must exit with STATUS (default 0).
finish() {
  for _ in $(seq 1 400); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$1" 2>/dev/null && fail "$2 still running after 20 s"
  local status=0
  wait "$1" || status=$?
  [ "$status" -eq "${3:-0}" ] ||
    fail "$2 exited with status $status, expected ${3:-0}"
}

# run_client COMMAND...: runs a client to completion, with the caller's stdin;
# sets client_pid, client_status, client_out (its stdout) and client_err (its
# stderr).
run_client() {
  # <&0: without it, a background command gets /dev/null as stdin.
  "$@" <&0 >"$work/client.out" 2>"$work/client.err" &
  client_pid=$!
  client_status=0
  wait "$client_pid" || client_status=$?
  client_out=$(cat "$work/client.out")
  client_err=$(cat "$work/client.err")
}

# expect_client WHAT STATUS STDOUT STDERR: checks the last run_client.
expect_client() {
  expect_eq "$1: stdout" "$3" "$client_out"
  expect_eq "$1: stderr" "$4" "$client_err"
  [ "$client_status" -eq "$2" ] ||
    fail "$1: exit status $client_status, expected $2"
}

# The supplementary groups of this shell (and so of its clients) as the
# examples print them: comma-separated, in the kernel's order.
# shellcheck disable=SC2034  # used by the drivers
my_groups=$(awk '/^Groups:/ { for (i = 2; i <= NF; i++)
  printf "%s%s", (i > 2 ? "," : ""), $i }' /proc/self/status)
