#!/bin/bash
# 24 C++ clients connected to the epoll server at once, fed in phases so that
# each phase's replies arrive while all of them stay connected: a server that
# served one connection at a time could not answer phase 1.
#   test-concurrent.sh SERVER CLIENT     (under tests/with-mount.sh)
# shellcheck source=../python/testlib.sh
source "$(dirname "$0")/../python/testlib.sh"
server=$1
client=$2
port=$LPC_MNT/kv
n=24

start_server kv "$server" "$LPC_MNT"
declare -a pids fds
for i in $(seq 1 $n); do
  mkfifo "$work/in$i"
  "$client" "$port" <"$work/in$i" >"$work/out$i" 2>&1 &
  pids[i]=$!
  exec {fd}>"$work/in$i"
  fds[i]=$fd
done

# wait_for_replies COUNT: every client has printed COUNT replies.
wait_for_replies() {
  local i
  for i in $(seq 1 $n); do
    wait_for_output "$work/out$i" "$1" "${pids[i]}" "client $i"
  done
}

for i in $(seq 1 $n); do
  echo "set key$i value $i" >&"${fds[i]}"
done
wait_for_replies 1
[ "$(grep -c '^connect ' "$work/server.log")" -eq $n ] ||
  fail "server did not see $n connections"
grep -q '^disconnect ' "$work/server.log" &&
  fail "a connection ended while all should be open"

# Every key is set by now, so reading a neighbour's key is deterministic.
for i in $(seq 1 $n); do
  printf 'get key%d\nget key%d\n' "$i" $((i % n + 1)) >&"${fds[i]}"
done
wait_for_replies 3

for i in $(seq 1 $n); do
  printf 'del key%d\nget key%d\nbogus\n' "$i" "$i" >&"${fds[i]}"
  fd=${fds[i]}
  exec {fd}>&-
done
for i in $(seq 1 $n); do
  finish "${pids[i]}" "client $i ($(cat "$work/out$i"))"
  expected="OK
value $i
value $((i % n + 1))
OK
ERR no such key
ERR usage: set KEY VALUE | get KEY | del KEY"
  expect_eq "client $i" "$expected" "$(cat "$work/out$i")"
done

# Each connection ends with its own DISCONNECT record.
for i in $(seq 1 $n); do
  conn=$(sed -nE "s/^connect conn=([0-9]+) pid=${pids[i]} .*/\1/p" \
    "$work/server.log")
  expect_log_line "^disconnect conn=$conn \(client closed\)\$"
done
stop_server TERM
expect_log_line "^served $n connections, $((n * 6)) messages;"
echo "PASS"
