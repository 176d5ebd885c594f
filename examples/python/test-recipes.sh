#!/bin/bash
# Runs the Python recipes against the mount in $LPC_MNT (tests/with-mount.sh):
# the connect timeout (lpc_timeout_client.py) and the asyncio client
# (lpc_asyncio_client.py).
#   test-recipes.sh PYTHON EXAMPLES_DIR
# shellcheck source=testlib.sh
source "$(dirname "$0")/testlib.sh"
python=$1
dir=$2
port=$LPC_MNT/upper

start_server upper "$python" "$dir/lpc_server.py" "$LPC_MNT"

# asyncio: five connections at once, each reply awaited with add_reader.
run_client "$python" "$dir/lpc_asyncio_client.py" "$port" one two three four five
expect_client "asyncio client" 0 "one -> ONE
two -> TWO
three -> THREE
four -> FOUR
five -> FIVE" ""
for word in one two three four five; do
  upper=${word^^}
  expect_log_line "^message conn=[0-9]+ msg=1 b'$word' -> b'$upper'\$"
done
[ "$(grep -c '^accepted conn=' "$work/server.log")" -eq 5 ] ||
  fail "asyncio client: expected 5 connections"
run_client "$python" "$dir/lpc_asyncio_client.py" "$LPC_MNT/missing" x
expect_client "asyncio missing port" 1 "" \
  "lpc_asyncio_client.py: $LPC_MNT/missing: No such file or directory"

# The timeout client connects normally to a server that answers.
run_client "$python" "$dir/lpc_timeout_client.py" 5 "$port" hello
expect_client "timeout client, answered" 0 "HELLO" ""
stop_server TERM

# A server that reads the request but answers nothing: the timer's
# exception ends the open(), and the daemon withdraws the request: the
# server reads LPC_REC_DISCONNECT (3) with LPC_DISCONNECT_WITHDRAWN (4)
# after the LPC_REC_CONNECT (1) of a reader and writer (flags 3).
start_server silent "$python" "$dir/silent_server.py" "$LPC_MNT/silent"
expect_log_line "^listening\$"
run_client "$python" "$dir/lpc_timeout_client.py" 1 "$LPC_MNT/silent" hello
expect_client "timeout client, no answer" 3 "" \
  "lpc_timeout_client.py: $LPC_MNT/silent: no answer within 1 s"
expect_log_line "^record 3 flags=4\$"
expect_eq "records of the withdrawn request" "listening
record 1 flags=3
record 3 flags=4" "$(cat "$work/server.log")"
kill -TERM "$server_pid"
finish "$server_pid" "silent server" 143
server_pid=
echo "PASS"
