#!/bin/bash
# lpc wait: returns once a port is served, exit 3 on --timeout, and not
# for a port whose server has gone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Waiting first, the server comes later: wait returns once it is served.
"$LPC" wait later >"$TMP/wait.out" 2>&1 &
waiter=$!
wait_until "lpc wait is looking (the port is not there yet)" \
  eval "[ -d /proc/$waiter ]"
"$LPC" serve later -- cat &
server_pids+=($!)
wait "$waiter"
check_eq "wait, then serve: exit 0, silent" "0|" "$?|$(cat "$TMP/wait.out")"
# And what it promised: a connection reaches the server.
run_capture "$LPC" call later hello
check_eq "  a client gets through" "0|hello" "$rc|$out"

run_capture "$LPC" wait later
check_eq "an already served port: exit 0 at once" "0|" "$rc|$err"
run_capture "$LPC" wait "$LPC_MNT/later"
check_eq "an absolute PORT" "0|" "$rc|$err"

run_capture "$LPC" wait --timeout 0.2 never
check_eq "--timeout: exit 3" \
  "3|lpc: wait for $LPC_MNT/never: not served within 0.2 s" "$rc|$err"

# A port whose server handle has closed while a client still holds it has
# no user.lpc.server: not served.
start_server gone -- sleep 60
exec 3<>"$LPC_MNT/gone"
stop_server "$server_pid"
run_capture "$LPC" wait -t 0.2 gone
check_eq "a port without its server is not served" 3 "$rc"
exec 3>&-

# A plain file is not a port.
run_capture "$LPC" wait -t 0.2 "$TMP/plain"
check_eq "a path not on lpcfs" \
  "1|lpc: wait for $TMP/plain: not on an lpcfs mount" "$rc|$err"

finish
