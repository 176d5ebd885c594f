#!/bin/bash
# The memory-window example (window_fill.cc): the server fills each
# caller's buffer through /lpc/.windows/ID, and the client checks every
# byte; a 9 MiB buffer takes ten pwrite()s of at most 1 MiB.
#   test-window.sh PROGRAM   (under tests/with-mount.sh, lpcfs -o memory_windows)
# shellcheck source=../python/testlib.sh
source "$(dirname "$0")/../python/testlib.sh"
program=$1

start_server fill "$program" server "$LPC_MNT" fill
expect_log_line "^listening on $LPC_MNT/fill\$"

size=$((9 * 1024 * 1024 + 5))
run_client "$program" client "$LPC_MNT" fill "$size"
expect_client "9 MiB" 0 "filled $size
all $size bytes as the server wrote them" ""
run_client "$program" client "$LPC_MNT" fill 1
expect_client "1 byte" 0 "filled 1
all 1 bytes as the server wrote them" ""
expect_log_line "^call [0-9]+ from pid [0-9]+: filled $size\$"

# After the replies the windows are gone.
[ -z "$(ls -A "$LPC_MNT/.windows")" ] || fail ".windows is not empty"
stop_server TERM
echo "PASS"
