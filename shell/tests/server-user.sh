#!/bin/bash
# lpc call --server-user: nothing is sent unless the given user both owns
# the port and runs the process serving it (lpc.7 "WHO SERVES A NAME").
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

nobody=$(id -u nobody)

# A port root owns and serves.
start_server mine -- cat
run_capture "$LPC" call --server-user root mine hello
check_eq "served by the user asked for: the call goes through" \
  "0|hello|" "$rc|$out|$err"
run_capture "$LPC" call -u 0 mine hello
check_eq "a numeric uid works too" "0|hello" "$rc|$out"
run_capture "$LPC" call --server-user nobody mine hello
check_eq "served by another user: exit 5, nothing sent" \
  "5||lpc: $LPC_MNT/mine: owned by uid 0, served by uid 0, not by nobody; nothing sent" \
  "$rc|$out|$err"

# A port nobody owns and serves, in a folder that only nobody may write.
mkdir "$LPC_MNT/theirs"
chown nobody: "$LPC_MNT/theirs"
setpriv --reuid="$nobody" --regid="$nobody" --clear-groups \
  "$LPC" serve theirs/svc -- cat &
server_pids+=($!)
wait_until "theirs/svc exists" test -e "$LPC_MNT/theirs/svc"
run_capture "$LPC" call -u nobody theirs/svc hi
check_eq "nobody's own port, asked for nobody" "0|hi" "$rc|$out"
run_capture "$LPC" call -u root theirs/svc hi
check_eq "nobody's port, asked for root" \
  "5|lpc: $LPC_MNT/theirs/svc: owned by uid $nobody, served by uid $nobody, not by root; nothing sent" \
  "$rc|$err"

# Owned by nobody but served by a root process: both must match.
start_server given -- cat
chown nobody "$LPC_MNT/given"
run_capture "$LPC" call -u nobody given hi
check_eq "owner matches, serving process does not" \
  "5|lpc: $LPC_MNT/given: owned by uid $nobody, served by uid 0, not by nobody; nothing sent" \
  "$rc|$err"

run_capture "$LPC" call -u root nosuch hi
check_eq "no such port: exit 1" \
  "1|lpc: check $LPC_MNT/nosuch: No such file or directory" "$rc|$err"

finish
