#!/bin/bash
# One lpc serve, many clients at the same time.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_server echo -- cat

# A connection that stays open in the middle of a conversation does not
# hold up other clients: one poll loop serves them all.
exec 3<>"$LPC_MNT/echo"
echo "A1" >&3
read -r reply <&3
check_eq "client A, first message" "A1" "$reply"
run_capture "$LPC" call --timeout 10 echo B
check_eq "client B while A is connected" "0|B" "$rc|$out"
echo "A2" >&3
read -r reply <&3
check_eq "client A, after B" "A2" "$reply"
exec 3>&-

# 40 lpc call clients at once, 50 messages each, each checks its replies.
clients=40
pids=()
for c in $(seq 1 $clients); do
  for m in $(seq 1 50); do echo "client $c message $m"; done >"$TMP/in.$c"
  "$LPC" call echo <"$TMP/in.$c" >"$TMP/out.$c" 2>"$TMP/err.$c" &
  pids+=($!)
done
bad=0
for c in $(seq 1 $clients); do
  wait "${pids[c - 1]}" || bad=$((bad + 1))
  cmp -s "$TMP/in.$c" "$TMP/out.$c" || bad=$((bad + 1))
done
check_eq "$clients concurrent lpc call clients get their own replies" 0 "$bad"

# 30 connections open together in one shell, written to in turn, then read
# in reverse order: each has its own CMD and its own queue.
fds=()
for c in $(seq 1 30); do
  exec {fd}<>"$LPC_MNT/echo"
  fds+=("$fd")
done
for round in 1 2; do
  for c in $(seq 1 30); do echo "conn $c round $round" >&"${fds[c - 1]}"; done
done
bad=0
for c in $(seq 30 -1 1); do
  for round in 1 2; do
    read -r reply <&"${fds[c - 1]}"
    [ "$reply" = "conn $c round $round" ] || bad=$((bad + 1))
  done
done
check_eq "30 open connections keep their own streams" 0 "$bad"
for fd in "${fds[@]}"; do exec {fd}>&-; done

# Clients come and go while a long conversation goes on.
exec 4<>"$LPC_MNT/echo"
bad=0
for i in $(seq 1 100); do
  echo "long $i" >&4
  if [ $((i % 10)) -eq 0 ]; then
    [ "$("$LPC" call echo "short $i")" = "short $i" ] || bad=$((bad + 1))
  fi
  read -r reply <&4
  [ "$reply" = "long $i" ] || bad=$((bad + 1))
done
exec 4>&-
check_eq "short clients during a long one" 0 "$bad"

# Every CMD was reaped: lpc serve has no children left once all clients
# have gone (each cat exits when its client closes).
wait_until "lpc serve has no children left" \
  eval '[ -z "$(ps -o pid= --ppid "$server_pid")" ]'

finish
