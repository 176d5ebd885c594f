#!/bin/bash
# lpc ls and lpc stat against live ports and connections.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

run_capture "$LPC" ls
check_eq "ls on an empty mount: the header alone" \
  "0|OWNER PID CONNECTIONS PORT" "$rc|$out"

start_server echo -- cat
echo_pid=$server_pid
mkdir -m 1777 "$LPC_MNT/svc"
start_server --mode 0600 svc/db -- cat
db_pid=$server_pid
nobody=$(id -nu 65534)
# setpriv executes lpc serve: the same process.
setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$LPC" serve "$LPC_MNT/svc/theirs" -- cat &
theirs_pid=$!
server_pids+=($!)
wait_until "svc/theirs exists" test -e "$LPC_MNT/svc/theirs"

# ls_line PATH: the ls line of the port at PATH (PATH is the last field).
ls_line() { "$LPC" ls | awk -v p="$1" '$NF == p'; }

exec 3<>"$LPC_MNT/echo"
exec 4<"$LPC_MNT/echo"
expected_echo_line="^root +$echo_pid +2 $LPC_MNT/echo\$"
wait_until "ls shows 2 connections on echo" \
  eval '[[ $(ls_line "$LPC_MNT/echo") =~ $expected_echo_line ]]'
run_capture "$LPC" ls
check_eq "ls: status, a header and one line per port" "0|4" \
  "$rc|$(wc -l <<<"$out")"
check_match "ls: the header first" '^OWNER +PID +CONNECTIONS PORT$' \
  "$(head -n 1 <<<"$out")"
check_line "ls: echo, owner root, its server, 2 connections" \
  "root +$echo_pid +2 $LPC_MNT/echo" "$out"
check_line "ls: svc/db, owner root, its server, no connection" \
  "root +$db_pid +0 $LPC_MNT/svc/db" "$out"
check_line "ls: svc/theirs, owner $nobody, its server" \
  "$nobody +$theirs_pid +0 $LPC_MNT/svc/theirs" "$out"
check_eq "ls: --mount without \$LPC_MOUNT" "$out" \
  "$(env -u LPC_MOUNT "$LPC" ls --mount "$LPC_MNT")"
check_eq "ls: \$LPC_MOUNT with a trailing slash" "$out" \
  "$(LPC_MOUNT=$LPC_MNT/ "$LPC" ls)"

run_capture "$LPC" stat echo
check_eq "stat: status" 0 "$rc"
check_eq "stat: header lines" "path: $LPC_MNT/echo
owner: root (0)
group: $(id -ng 0) (0)
mode: 0666" "$(head -n 4 <<<"$out")"
port_line=$(sed -n 5p <<<"$out")
check_match "stat: the port's .stats line" \
  '^port /echo owner=0 group=0 mode=0666 .*auto_accept=1.* connections=2( |$)' \
  "$port_line"
conn_lines=$(tail -n +6 <<<"$out")
check_eq "stat: two conn lines" 2 "$(grep -c '^conn [0-9]* port=/echo ' <<<"$conn_lines")"
check_match "stat: the conn lines name this shell as client" \
  "client_pid=$$ " "$conn_lines"
capeff=$(awk '/^CapEff:/ {print $2}' /proc/$$/status | sed 's/^0*//')
check_eq "stat: .stats gives this shell's CapEff as client_caps" 2 \
  "$(grep -c " client_caps=0x${capeff:-0} " <<<"$conn_lines")"
# root's effective set: all (=e), less what this test's environment took
# away, each named as cap_to_text(3) does.
check_eq "stat: names them with cap_to_text" 2 \
  "$(grep -E -c '^  client capabilities: =e( cap_[a-z_]+-e)*$' <<<"$conn_lines")"
check_line "stat: the owner's and client's quota usage (root, who made svc)" \
  '^user 0 ports=2 connections=2 served=2 pending=0 bytes=0 folders=1$' \
  "$out"
check_eq "stat: same by absolute path, without \$LPC_MOUNT" "$out" \
  "$(env -u LPC_MOUNT "$LPC" stat "$LPC_MNT/echo")"

run_capture "$LPC" stat svc/theirs
check_eq "stat: another user's port" "0|owner: $nobody (65534)|mode: 0666" \
  "$rc|$(sed -n 2p <<<"$out")|$(sed -n 4p <<<"$out")"
check_line "stat: the owner's quota usage ($nobody)" \
  '^user 65534 ports=1 connections=0 .*' "$out"
run_capture "$LPC" stat --mount "$LPC_MNT/svc" db
check_line "stat: --mount a folder of the mount still finds the root" \
  'port /svc/db owner=0 group=0 mode=0600 .*' "$out"
check_eq "stat: no conn lines for svc/db" 0 "$(grep -c '^conn ' <<<"$out")"

exec 3>&- 4<&-
wait_until "ls shows 0 connections on echo once closed" \
  eval '[[ $(ls_line "$LPC_MNT/echo") =~ ^root\ +[0-9]+\ +0\  ]]'

# A port that is unlinked while served is listed as (unlinked).
exec 3<>"$LPC_MNT/svc/db"
rm "$LPC_MNT/svc/db"
run_capture "$LPC" ls
check_line "ls: unlinked port" "root +$db_pid +1 \\(unlinked\\)" "$out"
echo "still served" >&3
read -r reply <&3
check_eq "the unlinked port still serves its connection" "still served" "$reply"
exec 3>&-

run_capture "$LPC" ls extra
check_eq "ls: no operands" 2 "$rc"
run_capture "$LPC" stat
check_eq "stat: PORT needed" 2 "$rc"

finish
