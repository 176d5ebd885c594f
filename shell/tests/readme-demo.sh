#!/bin/bash
# The README's first session, exactly as printed: the ```sh block after the
# marker "<!-- first-session" in README.md, run by bash as a script (the
# way a reader pastes it), with the built lpc first in PATH and LPC_MOUNT
# set. 20 runs, each in a folder of its own, so a race between `lpc serve
# &` and the connect cannot pass by luck.
#   readme-demo.sh LPC_BINARY README
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

readme=${2:?usage: $0 LPC_BINARY README}
PATH=$(dirname "$LPC"):$PATH
export PATH

awk '/^<!-- first-session/ {marked = 1; next}
     marked && /^```sh$/ {inside = 1; next}
     inside && /^```$/ {exit}
     inside {print}' "$readme" >"$TMP/demo.sh"
check_match "the README has the marked block, with lpc wait" \
  $'lpc serve upper.*\nlpc wait upper' "$(cat "$TMP/demo.sh")"

for run in $(seq 1 20); do
  mkdir "$LPC_MNT/run$run"
  LPC_MOUNT=$LPC_MNT/run$run timeout 20 bash "$TMP/demo.sh" \
    >"$TMP/out.$run" 2>"$TMP/err.$run"
  check_eq "run $run: exit status, HELLO, nothing on stderr" "0|HELLO|" \
    "$?|$(cat "$TMP/out.$run")|$(cat "$TMP/err.$run")"
  # The demo's last line stops its server, which removes the port.
  wait_until "run $run: its port is gone" \
    eval "[ ! -e '$LPC_MNT/run$run/upper' ]"
done

finish
