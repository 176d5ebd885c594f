#!/bin/bash
# The thread-pool server (pool_server.cc) with 12 C++ clients that write and
# read and 12 Python clients that call (LPC_IOC_CALL), all connected at the
# same time; every reply is checked, and the server's count of calls shows
# that the calls reached it as calls.
#   test-pool.sh SERVER CLIENT PYTHON PYTHON_DIR   (under tests/with-mount.sh)
# shellcheck source=../python/testlib.sh
source "$(dirname "$0")/../python/testlib.sh"
server=$1
client=$2
caller=("$3" "$4/lpc_client.py" --call)
port=$LPC_MNT/kv
n=12 # C++ clients
m=12 # Python callers
uid=$(id -u)
gid=$(id -g)

start_server kv "$server" --threads 4 "$LPC_MNT"
expect_log_line "^listening on $port with 4 threads\$"

# The C++ clients connect and stay connected, fed through FIFOs.
declare -a pids fds callers
for i in $(seq 1 $n); do
  mkfifo "$work/in$i"
  "$client" "$port" <"$work/in$i" >"$work/out$i" 2>&1 &
  pids[i]=$!
  exec {fd}>"$work/in$i"
  fds[i]=$fd
done
for i in $(seq 1 $n); do
  echo "set key$i value $i" >&"${fds[i]}"
done
for i in $(seq 1 $n); do
  wait_for_output "$work/out$i" 1 "${pids[i]}" "client $i"
done

# The callers, all at once, while the C++ clients send their next requests.
for i in $(seq 1 $m); do
  "${caller[@]}" "$port" "set p$i call $i" "get p$i" "del p$i" "get p$i" \
    >"$work/call$i" 2>&1 &
  callers[i]=$!
done
for i in $(seq 1 $n); do
  printf 'get key%d\nget key%d\n' "$i" $((i % n + 1)) >&"${fds[i]}"
  fd=${fds[i]}
  exec {fd}>&-
done

for i in $(seq 1 $n); do
  finish "${pids[i]}" "client $i ($(cat "$work/out$i"))"
  expect_eq "client $i" "OK
value $i
value $((i % n + 1))" "$(cat "$work/out$i")"
done
from="(from pid $server_pid uid $uid gid $gid)"
for i in $(seq 1 $m); do
  finish "${callers[i]}" "caller $i ($(cat "$work/call$i"))"
  expect_eq "caller $i" "OK $from
call $i $from
OK $from
ERR no such key $from" "$(cat "$work/call$i")"
done

[ "$(grep -c '^connect ' "$work/server.log")" -eq $((n + m)) ] ||
  fail "the server did not log $((n + m)) connections"
stop_server TERM
expect_log_line "^stopping on Terminated\$"
expect_log_line "^served $((n + m)) connections, $((3 * n + 4 * m)) messages \($((4 * m)) calls\) with 4 threads\$"
echo "PASS"
