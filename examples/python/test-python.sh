#!/bin/bash
# Runs the Python examples against the mount in $LPC_MNT (tests/with-mount.sh).
#   test-python.sh PYTHON EXAMPLES_DIR
# shellcheck source=testlib.sh
source "$(dirname "$0")/testlib.sh"
python=$1
server=("$python" "$2/lpc_server.py")
client=("$python" "$2/lpc_client.py")
port=$LPC_MNT/upper
uid=$(id -u)
gid=$(id -g)

# An accepted client: one reply per message, and the server saw who it was.
start_server upper "${server[@]}" "$LPC_MNT"
expect_log_line "^listening on $port\$"
run_client "${client[@]}" "$port" hello "lpc world"
expect_client "two messages" 0 $'HELLO\nLPC WORLD' ""
expect_log_line "^connect conn=[0-9]+ pid=$client_pid uid=$uid gid=$gid groups=$my_groups mode=rw start_time=[1-9][0-9]*\$"
conn=$(sed -nE "s/^connect conn=([0-9]+) pid=$client_pid .*/\1/p" \
  "$work/server.log")
expect_log_line "^accepted conn=$conn\$"
expect_log_line "^message conn=$conn msg=1 b'hello' -> b'HELLO'\$"
expect_log_line "^message conn=$conn msg=2 b'lpc world' -> b'LPC WORLD'\$"
expect_log_line "^disconnect conn=$conn \(client closed\)\$"

# The same as calls: one ioctl(LPC_IOC_CALL) per message, answered by the
# server's LPC_REC_REPLY, which names the server process as its writer;
# the server sees each message flagged as a call.
run_client "${client[@]}" --call "$port" hello "lpc world"
expect_client "two calls" 0 \
  "HELLO (from pid $server_pid uid $uid gid $gid)
LPC WORLD (from pid $server_pid uid $uid gid $gid)" ""
conn=$(sed -nE "s/^connect conn=([0-9]+) pid=$client_pid .*/\1/p" \
  "$work/server.log")
[ -n "$conn" ] || fail "the server did not log the calling client"
expect_log_line "^message conn=$conn msg=1 b'hello' -> b'HELLO' \(call\)\$"
expect_log_line "^message conn=$conn msg=2 b'lpc world' -> b'LPC WORLD' \(call\)\$"
expect_log_line "^disconnect conn=$conn \(client closed\)\$"
# A call's message must fit one ioctl buffer (LPC_IOCTL_MAX less two
# headers); a message over the port's 64 KiB is refused by the daemon.
run_client "${client[@]}" --call "$port" "$(head -c 16288 /dev/zero | tr '\0' x)"
expect_client "16288-byte call" 1 "" "lpc_client.py: $port: Message too long"

# Failures end the client with the error text.
run_client "${client[@]}" "$port" "$(head -c 65537 /dev/zero | tr '\0' x)"
expect_client "65537-byte message" 1 "" "lpc_client.py: $port: Message too long"
run_client "${client[@]}" "$port" ""
expect_client "empty message" 1 "" \
  "lpc_client.py: empty messages cannot be sent"
run_client "${client[@]}" "$LPC_MNT/missing" hello
expect_client "missing port" 1 "" \
  "lpc_client.py: $LPC_MNT/missing: No such file or directory"

stop_server TERM
expect_log_line "^stopping on SIGTERM\$"
run_client "${client[@]}" "$port" hello
expect_client "stopped server" 1 "" \
  "lpc_client.py: $port: No such file or directory"

# A server that admits only uid 4242 rejects us: ECONNREFUSED.
start_server upper "${server[@]}" --allow-uid 4242 "$LPC_MNT"
run_client "${client[@]}" "$port" hello
expect_client "rejected client" 1 "" \
  "lpc_client.py: $port: Connection refused"
expect_log_line "^rejected conn=[0-9]+ \(uid $uid not allowed\)\$"
stop_server INT
expect_log_line "^stopping on SIGINT\$"
echo "PASS"
