#!/bin/bash
# Runs the Node.js examples against the mount in $LPC_MNT (tests/with-mount.sh).
#   test-node.sh NODE EXAMPLES_DIR
# shellcheck source-path=SCRIPTDIR source=../python/testlib.sh
source "$(dirname "$0")/../python/testlib.sh"
node=$1
server=("$node" "$2/lpc_server.js")
client=("$node" "$2/lpc_client.js")
port=$LPC_MNT/upper
uid=$(id -u)
gid=$(id -g)

# An accepted client: one reply per message; the server saw who it was.
start_server upper "${server[@]}" "$LPC_MNT"
expect_log_line "^listening on $port\$"
run_client "${client[@]}" "$port" hello "lpc world"
expect_client "two messages" 0 $'HELLO\nLPC WORLD' ""
expect_log_line "^connect conn=[0-9]+ pid=$client_pid uid=$uid gid=$gid\$"
conn=$(sed -nE "s/^connect conn=([0-9]+) pid=$client_pid .*/\1/p" \
  "$work/server.log")
expect_log_line "^accepted conn=$conn\$"
expect_log_line "^message conn=$conn msg=1 \"hello\" -> \"HELLO\"\$"
expect_log_line "^message conn=$conn msg=2 \"lpc world\" -> \"LPC WORLD\"\$"
expect_log_line "^disconnect conn=$conn \(client closed\)\$"

# The Python client's calls (LPC_IOC_CALL) are answered by the REPLY too.
if [ -n "${3:-}" ]; then
  run_client "$3" "$2/../python/lpc_client.py" --call "$port" ping
  expect_client "a Python call" 0 \
    "PING (from pid $server_pid uid $uid gid $gid)" ""
  expect_log_line "^message conn=[0-9]+ msg=1 \"ping\" -> \"PING\" \(call\)\$"
fi

# A server that another client keeps busy still answers: its one pending
# read holds one pool thread, and its writes run on the main thread.
exec 5<>"$port" || fail "bash could not connect"
run_client "${client[@]}" "$port" "while another client waits"
expect_client "second client" 0 "WHILE ANOTHER CLIENT WAITS" ""
exec 5>&-

# Failures end the client with the error text.
run_client "${client[@]}" "$port" "$(head -c 65537 /dev/zero | tr '\0' x)"
expect_client "65537-byte message" 1 "" "lpc_client.js: $port: Message too long"
run_client "${client[@]}" "$port" ""
expect_client "empty message" 1 "" \
  "lpc_client.js: empty messages cannot be sent"
run_client "${client[@]}" "$LPC_MNT/missing" hello
expect_client "missing port" 1 "" \
  "lpc_client.js: $LPC_MNT/missing: No such file or directory"

# A second server cannot take the name (O_EXCL).
"${server[@]}" "$LPC_MNT" >"$work/second.out" 2>&1 &&
  fail "a second server took the port"
grep -q "^lpc_server.js: $port: EEXIST\$" "$work/second.out" ||
  fail "second server: $(cat "$work/second.out")"

# SIGTERM while a read is pending: the server wakes its read, closes the
# handle (the port goes) and exits 0 (stop_server checks both).
stop_server TERM
expect_log_line "^stopping on SIGTERM\$"
run_client "${client[@]}" "$port" hello
expect_client "stopped server" 1 "" \
  "lpc_client.js: $port: No such file or directory"

# The same with SIGINT while a client is connected: the client's next read
# then sees the end of the connection.
start_server upper "${server[@]}" "$LPC_MNT"
exec 5<>"$port" || fail "bash could not connect"
stop_server INT
expect_log_line "^stopping on SIGINT\$"
IFS= read -r -u 5 line && fail "read after the server left: '$line'"
exec 5>&-
echo "PASS"
