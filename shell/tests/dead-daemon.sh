#!/bin/bash
# A mount whose daemon was killed: every lpc command says the daemon is gone
# and how to unmount (exit 1). Kills the daemon of its private mount with
# SIGKILL; tests/with-mount.sh still unmounts it. The daemon runs with
# -o user=root (shell/CMakeLists.txt): one that gives up root is mounted
# with auto_unmount, so fusermount3 unmounts it as it dies (lpcfs.8).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

: "${LPC_DAEMON_PID:?run under tests/with-mount.sh}"
mkdir "$LPC_MNT/folder"
kill -KILL "$LPC_DAEMON_PID"
wait_until "the mount answers ENOTCONN" \
  eval "! stat '$LPC_MNT' >/dev/null 2>&1"

gone="Transport endpoint is not connected: the lpcfs daemon is gone; unmount with \`fusermount3 -u $LPC_MNT\`"
run_capture "$LPC" call upper hello
check_eq "call" "1|lpc: connect $LPC_MNT/upper: $gone" "$rc|$err"
run_capture "$LPC" call folder/upper hello
check_eq "call, a port in a folder: the mount is named" \
  "1|lpc: connect $LPC_MNT/folder/upper: $gone" "$rc|$err"
run_capture "$LPC" serve upper -- cat
check_eq "serve" "1|lpc: create $LPC_MNT/upper: $gone" "$rc|$err"
run_capture "$LPC" wait upper
check_eq "wait" "1|lpc: wait for $LPC_MNT/upper: $gone" "$rc|$err"
run_capture "$LPC" ls
check_eq "ls" "1|lpc: read $LPC_MNT/.stats: $gone" "$rc|$err"
run_capture "$LPC" stat upper
check_eq "stat" "1|lpc: stat $LPC_MNT/upper: $gone" "$rc|$err"

finish
