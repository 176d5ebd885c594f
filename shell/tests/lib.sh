# shellcheck shell=bash
# Sourced by the shell/tests/*.sh scripts. Each test runs as
#   TEST.sh LPC_BINARY
# inside tests/with-mount.sh, which sets $LPC_MNT to a fresh lpcfs mount.
# The helpers count failures instead of stopping at the first one, and
# finish() reports and sets the exit status.
set -u

LPC=${1:?usage: $0 LPC_BINARY (run under tests/with-mount.sh)}
[ -x "$LPC" ] || {
  echo "$0: $LPC is not an executable" >&2
  exit 1
}
: "${LPC_MNT:?run under tests/with-mount.sh}"
export LPC_MOUNT=$LPC_MNT
TMP=$(mktemp -d /tmp/lpc-shell-test.XXXXXX)
failures=0
checks=0
server_pids=()

cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${server_pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

pass() {
  checks=$((checks + 1))
  echo "ok: $*"
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
  if [ "$2" == "$3" ]; then
    pass "$1"
  else
    fail "$1"
    echo "  expected: $(printf '%q' "$2")" >&2
    echo "  actual:   $(printf '%q' "$3")" >&2
  fi
}

# check_match NAME REGEX TEXT (bash =~, extended regular expression)
check_match() {
  if [[ $3 =~ $2 ]]; then
    pass "$1"
  else
    fail "$1: $(printf '%q' "$3") does not match /$2/"
  fi
}

# check_line NAME REGEX TEXT: some line of TEXT matches REGEX (grep -E -x).
check_line() {
  if grep -E -q -x -e "$2" <<<"$3"; then
    pass "$1"
  else
    fail "$1: no line matches /$2/ in:"
    printf '%s\n' "$3" | sed 's/^/    /' >&2
  fi
}

# check_file NAME EXPECTED_FILE ACTUAL_FILE
check_file() {
  if cmp -s "$2" "$3"; then
    pass "$1"
  else
    fail "$1: files differ"
    cmp "$2" "$3" >&2
  fi
}

# run_capture CMD...: runs CMD, sets $out (stdout), $err (stderr), $rc.
run_capture() {
  "$@" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  out=$(cat "$TMP/out")
  err=$(cat "$TMP/err")
}

# wait_until DESCRIPTION CMD...: runs CMD every 50 ms until it succeeds,
# for at most 10 s. A bound for things that happen asynchronously, not a
# timing assertion. CMD's arguments are expanded once, by the caller: use
# `eval '...'` for a condition that must be evaluated each time.
wait_until() {
  local what=$1
  shift
  local i
  for i in $(seq 1 200); do
    "$@" && return 0
    sleep 0.05
  done
  fail "timed out waiting until $what"
  return 1
}

# start_server [SERVE_OPTIONS...] PORT -- CMD...: `lpc serve` in the
# background; returns when PORT exists. $server_pid is its pid.
start_server() {
  local args=("$@") port="" i
  for ((i = 1; i < ${#args[@]}; i++)); do
    if [ "${args[i]}" = "--" ]; then
      port=${args[i - 1]}
      break
    fi
  done
  [[ $port == /* ]] || port=$LPC_MNT/$port
  "$LPC" serve "$@" &
  server_pid=$!
  server_pids+=("$server_pid")
  for i in $(seq 1 200); do
    [ -e "$port" ] && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      fail "lpc serve $* exited before creating $port"
      return 1
    fi
    sleep 0.05
  done
  fail "lpc serve $* did not create $port in 10 s"
  return 1
}

# stop_server PID: SIGTERM, wait, and sets $rc to its exit status.
stop_server() {
  kill -TERM "$1"
  wait "$1"
  rc=$?
  local kept=() pid
  for pid in "${server_pids[@]}"; do
    [ "$pid" = "$1" ] || kept+=("$pid")
  done
  server_pids=("${kept[@]}")
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$(basename "$0"): $failures failed, $checks passed" >&2
    exit 1
  fi
  echo "$(basename "$0"): all $checks checks passed"
  exit 0
}
