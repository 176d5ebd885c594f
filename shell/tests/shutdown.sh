#!/bin/bash
# Stopping lpc serve: the port goes, clients read end of file, CMDs are
# terminated and reaped, exit status 0.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# CMD prints its pid, then echoes.
start_server echo -- sh -c 'echo "$$"; exec cat'
exec 3<>"$LPC_MNT/echo"
read -r cmd_pid <&3
echo "before" >&3
read -r reply <&3
check_eq "connection works" "before" "$reply"
echo "unread reply" >&3
# Make sure the reply is queued to us before the server goes.
exec 4<>"$LPC_MNT/echo"
read -r _ <&4
echo "sync" >&4
read -r _ <&4
exec 4>&-

# CMD that ignores its stdin and SIGTERM is killed after the grace time.
start_server stubborn -- sh -c 'trap "" TERM; echo started; while :; do sleep 1; done'
exec 5<"$LPC_MNT/stubborn"
read -r started <&5
check_eq "stubborn CMD started" "started" "$started"
stubborn_pid=$server_pid

stop_server "$(
  for pid in "${server_pids[@]}"; do
    [ "$pid" != "$stubborn_pid" ] && echo "$pid"
  done | head -n 1
)"
check_eq "SIGTERM: exit status 0" 0 "$rc"
check_eq "SIGTERM: the port is gone" absent \
  "$([ -e "$LPC_MNT/echo" ] && echo present || echo absent)"
check_eq "SIGTERM: CMD was terminated and reaped" gone \
  "$(kill -0 "$cmd_pid" 2>/dev/null && echo running || echo gone)"
read -r reply <&3
check_eq "the client still reads what was queued" "unread reply" "$reply"
check_eq "then end of file" "0|" "$(
  timeout 10 cat <&3
  echo "$?|"
)"
echo "after" >&3 2>"$TMP/err"
check_eq "writing after the server has gone fails (EPIPE)" \
  "1|Broken pipe" "$?|$(grep -o 'Broken pipe' "$TMP/err")"
exec 3>&-

stop_server "$stubborn_pid"
check_eq "a CMD ignoring SIGTERM is killed: exit status 0" 0 "$rc"
check_eq "the stubborn client reads end of file" "0|" "$(
  timeout 10 cat <&5
  echo "$?|"
)"
exec 5<&-

# SIGINT and SIGHUP stop it too. (Job control, so that the background
# lpc serve does not start with SIGINT ignored, as non-interactive shells
# do for background commands.)
set -m
for sig in INT HUP; do
  start_server "stop-$sig" -- cat
  run_capture "$LPC" call "stop-$sig" ping
  check_eq "SIG$sig: serving" "0|ping" "$rc|$out"
  kill -"$sig" "$server_pid"
  wait "$server_pid"
  check_eq "SIG$sig: exit status 0, port gone" "0|absent" \
    "$?|$([ -e "$LPC_MNT/stop-$sig" ] && echo present || echo absent)"
done
set +m

# The daemon going away is fatal for lpc serve: exit 1 with a message. The
# FUSE connection is aborted through fusectl (mounted here if need be; we
# are in with-mount.sh's private mount namespace). This is the last check:
# the mount is dead afterwards.
start_server last -- cat 2>"$TMP/last.err"
conns=/sys/fs/fuse/connections
mountpoint -q "$conns" || mount -t fusectl fusectl "$conns"
conn_dir="$conns/$(stat -c %d "$LPC_MNT")"
if [ -e "$conn_dir/abort" ]; then
  echo 1 >"$conn_dir/abort"
  wait "$server_pid"
  check_eq "daemon gone: exit status 1" 1 "$?"
  check_match "daemon gone: says so" \
    "^lpc: read $LPC_MNT/last: (Transport endpoint is not connected|Software caused connection abort|No such device)(: the lpcfs daemon is gone.*)?\$" \
    "$(cat "$TMP/last.err")"
  server_pids=()
else
  fail "cannot abort the FUSE connection: no $conn_dir/abort"
fi

finish
