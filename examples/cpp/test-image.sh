#!/bin/bash
# The image hand-off through a view (lpc.7 "VIEWS"): the client puts an
# 8 MiB image in a section and calls the server with a view of it; the
# server inverts it in place and replies with the sum of what it read.
#   test-image.sh SERVER CLIENT   (under tests/with-mount.sh)
# shellcheck source=../python/testlib.sh
source "$(dirname "$0")/../python/testlib.sh"
server=$1
client=$2

start_server imaging "$server" "$LPC_MNT"
expect_log_line "^listening on $LPC_MNT/imaging\$"

# 2048 x 1024 RGBA. The gradient is byte i = (i * 7) mod 256: every value
# 0..255 once per 256 bytes, so the sum is 8 MiB / 256 * 32640.
run_client "$client" "$LPC_MNT"
expect_client "8 MiB image" 0 "reply: sum=1069547520
8388608 bytes inverted in place" ""
expect_log_line "^view [0-9]+ of 8388608 bytes: sum=1069547520\$"

# The reply ended the view and the client's exit the section: nothing of
# either is left.
[ -z "$(ls -A "$LPC_MNT/.views")" ] || fail "a view outlived its call"
for _ in $(seq 1 200); do
  [ -z "$(ls -A "$LPC_MNT/.sections")" ] && break
  sleep 0.05
done
[ -z "$(ls -A "$LPC_MNT/.sections")" ] || fail "the section outlived its client"
stop_server TERM
echo "PASS"
