#!/bin/bash
# A client that sends faster than its CMD reads: lpc serve stops reading it
# once about 64 KiB wait for CMD's stdin, so the daemon's queue pushes back
# on that client (EAGAIN, or a write that waits) and lpc serve's memory
# stays bounded; other clients of the port are still served.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The first line decides: "flood" gets a CMD that never reads, anything
# else an echo.
start_server flood -- sh -c \
  'read -r first; [ "$first" = flood ] && exec sleep 60; echo "$first"; exec cat'
serve_pid=$server_pid

# flooder.py PORT nonblock|block: writes "flood", then 256-byte messages.
# nonblock: until EAGAIN that poll() does not clear within 3 s (pushed back:
# prints "pushed back after N bytes"), or 8 MB (prints "never pushed back").
# block: for ever (it is killed).
cat >"$TMP/flooder.py" <<'PY'
import errno, os, select, sys
port, mode = sys.argv[1], sys.argv[2]
flags = os.O_RDWR | (os.O_NONBLOCK if mode == "nonblock" else 0)
fd = os.open(port, flags)
os.write(fd, b"flood\n")
message = b"x" * 255 + b"\n"
sent = 0
while sent < 8 * 1024 * 1024:
    try:
        sent += os.write(fd, message)
    except BlockingIOError:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if not poller.poll(3000):
            print("pushed back after", sent, "bytes", flush=True)
            sys.exit(0)
print("never pushed back", flush=True)
PY

run_capture timeout 60 python3 "$TMP/flooder.py" "$LPC_MNT/flood" nonblock
check_match "an O_NONBLOCK client is pushed back (EAGAIN)" \
  '^pushed back after [0-9]+ bytes$' "$out"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
rss=$(rss_kb "$serve_pid")
if [ -n "$rss" ] && [ "$rss" -lt 16384 ]; then
  pass "lpc serve's VmRSS stays bounded ($rss kB)"
else
  fail "lpc serve's VmRSS is $rss kB (limit 16384)"
fi

# A client blocked in write() on a full queue holds up only itself.
python3 "$TMP/flooder.py" "$LPC_MNT/flood" block >/dev/null 2>&1 &
blocked=$!
server_pids+=("$blocked")
# Full: the daemon's default queue holds 64 messages (lpcfs.8).
wait_until "the blocking client's queue is full" eval \
  "grep -q 'client_pid=$blocked .*to_server=64/' '$LPC_MNT/.stats'"
run_capture timeout 20 "$LPC" call flood hello
check_eq "another client of the port is served meanwhile" "0|hello" \
  "$rc|$out"
rss=$(rss_kb "$serve_pid")
if [ -n "$rss" ] && [ "$rss" -lt 16384 ]; then
  pass "lpc serve's VmRSS still bounded with two flooders ($rss kB)"
else
  fail "lpc serve's VmRSS is $rss kB with two flooders (limit 16384)"
fi

finish
