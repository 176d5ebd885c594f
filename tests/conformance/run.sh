#!/bin/bash
# Runs one language's conformance driver against the reference servers on
# the mount in $LPC_MNT (tests/with-mount.sh) and compares its output with
# the EXPECTED column of the scenario table (scenarios.tsv says how).
#
#   run.sh SCENARIOS LANGUAGE LPC PYTHON LPC_SERVER_PY DRIVER_COMMAND...
#
# The driver runs under timeout(1), so a step that hangs fails the test;
# with-mount.sh unmounts whatever happens. Nothing here measures time.
set -u
table=$1 language=$2 lpc=$3 python=$4 server_py=$5
shift 5
work=$(mktemp -d /tmp/lpc-conformance.XXXXXX)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL ($language): $*" >&2
  for log in "$work"/*.log; do
    [ -s "$log" ] && { echo "--- $log ---"; cat "$log"; } >&2
  done
  exit 1
}

# The skips each language may report, with the reason in the driver.
declare -A may_skip=(
  [bash:poll-timeout]=1 [bash:poll-readable]=1
  [node:poll-timeout]=1 [node:poll-readable]=1
)

# Results that differ for a language, and why. bash's <> opens with O_CREAT,
# and O_CREAT without O_EXCL on a missing name fails ECONNREFUSED, not
# ENOENT (lpc.7 "Creating a port": a client never creates a port by
# accident).
declare -A expect_instead=(
  [bash:missing-port]=ECONNREFUSED
)

# serve NAME COMMAND...: starts a reference server and waits for its port.
serve() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do
    [ -e "$LPC_MNT/$name" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || fail "server $name exited"
    sleep 0.05
  done
  fail "server $name did not create its port in 10 s"
}

serve echo "$lpc" serve --mount "$LPC_MNT" echo -- cat
serve gone "$lpc" serve --mount "$LPC_MNT" gone -- true
serve refuse "$python" "$server_py" --allow-uid 4242 "$LPC_MNT" refuse
serve upper "$python" "$server_py" "$LPC_MNT" upper

timeout --kill-after=5 60 "$@" "$table" "$LPC_MNT" >"$work/actual" \
  2>"$work/driver.err" || fail "driver failed: $(cat "$work/driver.err")"
[ -s "$work/driver.err" ] && fail "driver wrote to stderr: $(cat "$work/driver.err")"

status=0
checked=0
while IFS=$'\t' read -r name _ expected; do
  [[ -z "$name" || "$name" == "#"* ]] && continue
  checked=$((checked + 1))
  expected=${expect_instead[$language:$name]:-$expected}
  actual=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$work/actual")
  if [[ "$actual" == "skip: "* ]] && [ -n "${may_skip[$language:$name]:-}" ]; then
    echo "SKIP $name: ${actual#skip: }"
  elif [ "$actual" = "$expected" ]; then
    echo "PASS $name: $actual"
  else
    echo "FAIL $name: expected '$expected', got '$actual'"
    status=1
  fi
done <"$table"
[ "$(wc -l <"$work/actual")" -eq "$checked" ] ||
  { echo "FAIL: the driver printed $(wc -l <"$work/actual") lines for $checked scenarios"; status=1; }
[ $status -eq 0 ] || fail "scenarios differ"
echo "PASS ($language)"
