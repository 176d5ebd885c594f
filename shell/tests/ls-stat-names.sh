#!/bin/bash
# lpc ls and lpc stat with names that hold newlines, backslashes and
# control characters (lpc.7 "Names in .stats"): one line per port, the
# real port's own lines, and nothing raw reaches the terminal.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_server victim -- cat
# Folder names that once forged a port line and a conn line (the slashes
# of the forged lines are those between the folders).
forged=$'x\nport /victim owner=0 group=0 mode=0666 auto_accept=1 pending=0 connections=7 records=0\nconn 1 port=/victim state=open client_pid=1 client_uid=0 to_server=0/0 to_client=0/0 bound=0\ny'
mkdir -p "$LPC_MNT/$forged"
start_server "$LPC_MNT/$forged/p" -- cat
odd=$'tab\there\\back\x1b[31mesc\x7fdel\xffbyte'
start_server "$LPC_MNT/$odd" -- cat

run_capture "$LPC" ls
check_eq "ls: status, a header and one line per port" "0|4" \
  "$rc|$(wc -l <<<"$out")"
check_line "ls: the victim once" "root +[0-9]+ +0 $LPC_MNT/victim" "$out"
check_eq "ls: no line with 7 connections" 0 "$(grep -c ' 7 ' <<<"$out")"
check_line "ls: the forged folder, escaped" \
  "root +[0-9]+ +0 $LPC_MNT/x\\\\nport /victim .*\\\\ny/p" "$out"
check_line "ls: control characters shown as escapes" \
  "root +[0-9]+ +0 $LPC_MNT/tab\\\\there\\\\\\\\back\\\\033\[31mesc\\\\177del\\\\377byte" \
  "$out"
check_eq "ls: no control character reaches the terminal" 0 \
  "$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$out")"

exec 3<>"$LPC_MNT/victim"
run_capture "$LPC" stat victim
check_eq "stat victim: status" 0 "$rc"
check_match "stat victim: its own port line" \
  '^port /victim owner=0 group=0 mode=0666 auto_accept=1 pending=0 connections=1 ' \
  "$(sed -n 5p <<<"$out")"
check_eq "stat victim: one conn line, this shell's" "1|1" \
  "$(grep -c '^conn ' <<<"$out")|$(grep -c "^conn [0-9]* port=/victim state=open client_pid=$$ " <<<"$out")"
exec 3>&-

run_capture "$LPC" stat "$LPC_MNT/$forged/p"
check_eq "stat by a path with newlines: status" 0 "$rc"
check_match "stat: the path shown escaped" \
  "^path: $LPC_MNT/x\\\\nport /victim .*\\\\ny/p\$" "$(sed -n 1p <<<"$out")"
check_match "stat: the port line shown escaped" \
  '^port /x\\nport /victim .*\\ny/p owner=0 ' "$(sed -n 5p <<<"$out")"
check_match "stat: then the owner's quota line" '^user 0 ports=3 ' \
  "$(sed -n 6p <<<"$out")"
check_eq "stat: one line per item" 6 "$(wc -l <<<"$out")"

run_capture "$LPC" stat "$LPC_MNT/$odd"
check_eq "stat of the odd name: status" 0 "$rc"
check_eq "stat: no control character reaches the terminal" 0 \
  "$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$out")"

finish
