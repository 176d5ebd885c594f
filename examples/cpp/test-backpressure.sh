#!/bin/bash
# The epoll server with client queues of 1024 bytes (lpcfs -o queue_bytes=1024):
# a client that sends 40 "get" requests for 200-byte values before reading any
# reply fills its incoming queue after 5 replies, so the server's replies fail
# EAGAIN. The server must keep them, serve other clients meanwhile, and deliver
# all of them in order once the client reads. The requests are small, so the
# client's own writes never wait for queue room (a different situation, not
# tested here).
#   test-backpressure.sh SERVER CLIENT   (under tests/with-mount.sh)
# shellcheck source=../python/testlib.sh
source "$(dirname "$0")/../python/testlib.sh"
server=$1
client=$2
port=$LPC_MNT/kv
n=40

# value I: 200 bytes, distinct per key.
value() {
  printf 'value%03d-%0195d' "$1" 0 | head -c 200
}

start_server kv "$server" "$LPC_MNT"
sets=()
for i in $(seq 1 $n); do sets+=("set big$i $(value "$i")"); done
run_client "$client" "$port" "${sets[@]}"
expect_client "setting $n values" 0 "$(for _ in $(seq 1 $n); do echo OK; done)" ""

# The pipelining client sends each stdin line at once but reads replies only
# after stdin ends, so its queue stays full as long as we keep the FIFO open.
mkfifo "$work/in"
"$client" --pipeline "$port" <"$work/in" >"$work/out" 2>&1 &
slow_pid=$!
exec {fd}>"$work/in"
for i in $(seq 1 $n); do echo "get big$i" >&$fd; done
expect_log_line "^conn=[0-9]+: client queue full, replies deferred\$"

# Another client is served while those replies wait.
run_client "$client" "$port" "set other x" "get other"
expect_client "client beside a full queue" 0 $'OK\nx' ""

exec {fd}>&-
finish "$slow_pid" "pipelining client"
expect_eq "pipelining client" "$(for i in $(seq 1 $n); do value "$i"; echo; done)" \
  "$(cat "$work/out")"

stop_server TERM
deferred=$(sed -nE 's/.*replies deferred \(client queue full\): ([0-9]+)$/\1/p' \
  "$work/server.log")
if [ -z "$deferred" ] || [ "$deferred" -eq 0 ]; then
  fail "server reports no deferred replies"
fi
echo "PASS ($deferred replies deferred)"
