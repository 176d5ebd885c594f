#!/bin/bash
# lpc top, run for two frames without a terminal: one title, header and
# line per port each frame, rates from the counters' differences.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_server echo -- cat
echo_pid=$server_pid
exec 3<>"$LPC_MNT/echo"
printf 'hello\n' >&3
read -r reply <&3
check_eq "the echo server answers" hello "$reply"

# Nothing is sent while lpc top runs: the second frame's rates are 0.
run_capture timeout 30 "$LPC" top -n 2 -d 0.2
check_eq "top -n 2: status, no stderr" "0|" "$rc|$err"
check_eq "top: two frames, a title each" 2 "$(grep -c '^lpc top - ' <<<"$out")"
check_match "top: the title names the mount and the delay" \
  "^lpc top - $LPC_MNT - [0-9:]+ - 1 ports, every 0.2 s\$" \
  "$(head -n 1 <<<"$out")"
check_eq "top: a header each frame" 2 \
  "$(grep -c -E '^ *PID +CONNS +PEND +IN/S +OUT/S +QIN +QOUT +REFUSED +REJECTED PORT$' <<<"$out")"
echo_lines=$(grep -E " $LPC_MNT/echo\$" <<<"$out")
check_eq "top: echo once a frame" 2 "$(wc -l <<<"$echo_lines")"
check_match "top: first frame, no rate yet, nothing queued" \
  "^ *$echo_pid +1 +0 +- +- +0 +0 +0 +0 $LPC_MNT/echo\$" \
  "$(sed -n 1p <<<"$echo_lines")"
check_match "top: second frame, rates from the differences" \
  "^ *$echo_pid +1 +0 +0\\.0 +0\\.0 +0 +0 +0 +0 $LPC_MNT/echo\$" \
  "$(sed -n 2p <<<"$echo_lines")"
check_eq "top: frames a blank line apart, no escape sequence off a terminal" \
  "1|0" "$(grep -c '^$' <<<"$out")|$(grep -c $'\x1b' <<<"$out")"
exec 3>&-

run_capture "$LPC" top -n 0
check_eq "top -n 0: usage error" 2 "$rc"
run_capture "$LPC" top -d 0
check_eq "top -d 0: usage error" 2 "$rc"
run_capture "$LPC" top extra
check_eq "top: no operands" 2 "$rc"

finish
