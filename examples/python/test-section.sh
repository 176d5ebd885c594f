#!/bin/bash
# Runs the section example (lpc_section.py) against the mount in $LPC_MNT
# (tests/with-mount.sh): one process offers text in a section, another
# maps the same section, reads it and answers; the section is gone once
# both have closed and unmapped it.
#   test-section.sh PYTHON EXAMPLES_DIR
# shellcheck source=testlib.sh
source "$(dirname "$0")/testlib.sh"
python=$1
dir=$2
section=$LPC_MNT/.sections/py-demo

# The offering process is the "server" of testlib: its output is the log.
"$python" "$dir/lpc_section.py" offer "$section" "shared by mmap" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  [ -e "$section" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "offer exited: $(cat "$work/server.log")"
  sleep 0.05
done
[ -e "$section" ] || fail "offer did not create $section within 10 s"

run_client "$python" "$dir/lpc_section.py" answer "$section"
expect_client "answer" 0 "shared by mmap" ""
finish "$server_pid" "offer"
server_pid=
expect_eq "offer's output" "SHARED BY MMAP" "$(cat "$work/server.log")"

# The last close and munmap ended it: the name goes (the release reaches
# the daemon a moment after the process exits).
for _ in $(seq 1 200); do
  [ -e "$section" ] || break
  sleep 0.05
done
[ ! -e "$section" ] || fail "$section outlived its last holder"

run_client "$python" "$dir/lpc_section.py" answer "$LPC_MNT/.sections/missing"
[ "$client_status" -ne 0 ] || fail "answer of a missing section succeeded"
echo "PASS"
