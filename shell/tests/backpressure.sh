#!/bin/bash
# Full client queues: lpc serve keeps CMD's output and sends it when there
# is room, never drops it. The daemon runs with tiny queues
# (-o queue_messages=4,queue_bytes=1024, see shell/CMakeLists.txt), so
# nearly every SEND meets a full queue.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

seq 1 5000 >"$TMP/seq"
start_server gen -- seq 1 5000
"$LPC" call --eof gen </dev/null >"$TMP/got"
check_eq "5000 lines through a 4-message queue: status" 0 $?
check_file "5000 lines through a 4-message queue: all, in order" \
  "$TMP/seq" "$TMP/got"

# A client that connects and reads only later: the output waits in
# lpc serve (the sleep only makes the queue fill up first; nothing is timed).
exec 3<"$LPC_MNT/gen"
sleep 1
cat <&3 >"$TMP/late"
exec 3<&-
check_file "a late reader gets everything" "$TMP/seq" "$TMP/late"

# A client that never reads does not hold up the others: its queue fills
# (to_client=4/... in .stats), lpc serve keeps that output and goes on.
exec 3<"$LPC_MNT/gen"
wait_until "the silent client's queue is full" \
  eval '"$LPC" stat gen | grep -q "^conn .* to_client=4/"'
"$LPC" call --timeout 10 --eof gen </dev/null >"$TMP/other"
check_eq "another client meanwhile: status" 0 $?
check_file "another client meanwhile: everything" "$TMP/seq" "$TMP/other"
cat <&3 >"$TMP/silent"
exec 3<&-
check_file "the silent client, reading at last, gets everything" \
  "$TMP/seq" "$TMP/silent"

# More output than lpc serve keeps for one client (64 KiB): it stops reading
# that CMD's stdout until the client catches up, and still loses nothing.
line=$(printf '%0254d' 0)
yes "$line" | head -n 1000 >"$TMP/wide"
start_server wide -- sh -c 'yes "$1" | head -n 1000' sh "$line"
exec 3<"$LPC_MNT/wide"
wait_until "the wide client's queue is full" \
  eval '"$LPC" stat wide | grep -q "^conn .* to_client=4/"'
cat <&3 >"$TMP/wide.got"
exec 3<&-
check_file "256 KiB to a late reader" "$TMP/wide" "$TMP/wide.got"

# Several slow consumers at once.
pids=()
for c in 1 2 3 4 5; do
  "$LPC" call --eof gen </dev/null >"$TMP/par.$c" &
  pids+=($!)
done
bad=0
for c in 1 2 3 4 5; do
  wait "${pids[c - 1]}" || bad=$((bad + 1))
  cmp -s "$TMP/seq" "$TMP/par.$c" || bad=$((bad + 1))
done
check_eq "5 parallel readers each get everything" 0 "$bad"

# A client that writes everything before reading anything: replies pile up
# in lpc serve and are all delivered. The client's writes often find its
# queue to the server full and wait in the daemon, holding the port inode's
# lock; lpc serve must never need that lock (it writes to .conn/ID, not to
# the server handle), or both wait forever. The race is narrow, hence the
# rounds; a stuck round fails after 20 s instead of hanging.
start_server echo -- cat
stuck=0
bad=0
for _ in $(seq 1 25); do
  exec 3<>"$LPC_MNT/echo"
  (for i in $(seq 1 300); do echo "line $i" >&3; done) &
  writer=$!
  for _ in $(seq 1 400); do
    kill -0 "$writer" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$writer" 2>/dev/null; then
    stuck=$((stuck + 1))
    kill "$writer"
    wait "$writer"
    exec 3>&-
    break
  fi
  wait "$writer"
  for i in $(seq 1 300); do
    read -r -t 20 reply <&3
    [ "$reply" = "line $i" ] || bad=$((bad + 1))
  done
  exec 3>&-
done
check_eq "25 x 300 messages written before reading: no deadlock" 0 "$stuck"
check_eq "25 x 300 messages written before reading: all replies" 0 "$bad"

# lpc call sending faster than the server takes: stdin streams through
# while replies are read (no deadlock with --eof).
start_server head5000 -- head -n 5000
seq 1 5000 | "$LPC" call --eof head5000 >"$TMP/head"
check_eq "--eof streaming 5000 messages: status" 0 $?
check_file "--eof streaming 5000 messages: replies" <(seq 1 5000) "$TMP/head"

# Lockstep through the small queues.
seq 1 300 | "$LPC" call echo >"$TMP/lock"
check_file "lockstep through small queues" <(seq 1 300) "$TMP/lock"

finish
