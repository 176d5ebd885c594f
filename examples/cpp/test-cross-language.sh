#!/bin/bash
# The Python client against the C++ server, the C++ client against the Python
# server: both speak only the lpcfs file protocol.
#   test-cross-language.sh CPP_SERVER CPP_CLIENT PYTHON PYTHON_EXAMPLES_DIR
# shellcheck source=../python/testlib.sh
source "$(dirname "$0")/../python/testlib.sh"
cpp_server=$1
cpp_client=$2
py_server=("$3" "$4/lpc_server.py")
py_client=("$3" "$4/lpc_client.py")

start_server kv "$cpp_server" "$LPC_MNT"
run_client "${py_client[@]}" "$LPC_MNT/kv" "set lang python" "get lang" \
  "get nope"
expect_client "Python client, C++ server" 0 $'OK\npython\nERR no such key' ""
expect_log_line "^connect conn=[0-9]+ pid=$client_pid uid=$(id -u) gid=$(id -g) groups=$my_groups start_time=[1-9][0-9]*\$"
stop_server INT

start_server upper "${py_server[@]}" "$LPC_MNT"
run_client "$cpp_client" "$LPC_MNT/upper" hello "Mixed Case 42"
expect_client "C++ client, Python server" 0 $'HELLO\nMIXED CASE 42' ""
expect_log_line "^connect conn=[0-9]+ pid=$client_pid uid=$(id -u) gid=$(id -g) groups=$my_groups mode=rw start_time=[1-9][0-9]*\$"
run_client "$cpp_client" "$LPC_MNT/upper" < <(printf 'one\ntwo\n')
expect_client "C++ client from stdin, Python server" 0 $'ONE\nTWO' ""

# A client still connected when the server stops: its next message fails EPIPE.
mkfifo "$work/in"
"$cpp_client" "$LPC_MNT/upper" <"$work/in" >"$work/out" 2>&1 &
held_pid=$!
exec {fd}>"$work/in"
echo one >&$fd
wait_for_output "$work/out" 1 "$held_pid" "connected C++ client"
stop_server TERM
echo two >&$fd
exec {fd}>&-
finish "$held_pid" "client of a stopped server" 1
expect_eq "client of a stopped server" \
  "ONE
lpc-example-client: $LPC_MNT/upper: Broken pipe" "$(cat "$work/out")"

start_server upper "${py_server[@]}" --allow-uid 4242 "$LPC_MNT"
run_client "$cpp_client" "$LPC_MNT/upper" hello
expect_client "C++ client rejected by the Python server" 1 "" \
  "lpc-example-client: $LPC_MNT/upper: Connection refused"
stop_server TERM
echo "PASS"
