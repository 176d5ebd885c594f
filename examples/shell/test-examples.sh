#!/bin/bash
# Runs the shell examples against the mount in $LPC_MNT (tests/with-mount.sh):
#
#   test-examples.sh LPC_BINARY
#
# Starts echo-server.sh in the background, waits for its port, runs
# echo-client.sh and checks what it printed, then stops the server.
set -u
export LPC=${1:?usage: test-examples.sh LPC_BINARY}
export LPC_MOUNT=$LPC_MNT
dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/lpc-example-shell.XXXXXX)
failures=0
servers=()
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done; wait; rm -rf "$work"' EXIT

check() {
  if [ "$2" == "$3" ]; then
    echo "ok: $1"
  else
    failures=$((failures + 1))
    echo "FAIL: $1" >&2
    diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2
  fi
}

# start_server PORT: echo-server.sh PORT in the background, until the port
# exists (at most 10 s).
start_server() {
  "$dir/echo-server.sh" "$1" &
  server=$!
  servers+=("$server")
  for _ in $(seq 1 200); do
    [ -e "$LPC_MNT/$1" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: echo-server.sh $1 did not create $LPC_MNT/$1" >&2
  exit 1
}

expected="reply: hello
reply: one
reply: two
reply: three
reply: first line / second line
one-shot message sent"

start_server echo
out=$(timeout 30 "$dir/echo-client.sh")
check "echo-client.sh: status" 0 $?
check "echo-client.sh: output" "$expected" "$out"

# The client again, twice at once, against a second server port.
start_server other
timeout 30 "$dir/echo-client.sh" "$LPC_MNT/other" >"$work/out1" &
c1=$!
timeout 30 "$dir/echo-client.sh" "$LPC_MNT/other" >"$work/out2" &
c2=$!
wait $c1
s1=$?
wait $c2
check "two clients at once: status" "0 0" "$s1 $?"
check "two clients at once: first output" "$expected" "$(cat "$work/out1")"
check "two clients at once: second output" "$expected" "$(cat "$work/out2")"

# lpc call talks to the same server.
check "lpc call" "hi there" "$("$LPC" call echo "hi there")"

# SIGTERM stops the server cleanly and removes its port.
kill -TERM "$server"
wait "$server"
check "server stops on SIGTERM: status" 0 $?
check "server stops on SIGTERM: port removed" absent \
  "$([ -e "$LPC_MNT/other" ] && echo present || echo absent)"

# acl-service.sh: a port only the user named in its ACL may call.
for u in lpcex_in lpcex_out; do
  id -u "$u" >/dev/null 2>&1 || useradd --system --no-create-home "$u"
done
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done; wait
      userdel lpcex_in; userdel lpcex_out; rm -rf "$work"' EXIT
"$dir/acl-service.sh" services/greet u:lpcex_in >"$work/acl" &
acl_server=$!
servers+=("$acl_server")
for _ in $(seq 1 200); do
  grep -q '^user:lpcex_in:rw-$' "$work/acl" 2>/dev/null && break
  sleep 0.05
done
check "acl-service.sh: the ACL it set" "user::rw-
user:lpcex_in:rw-
group::---
mask::rw-
other::---" "$(sed '/^$/d' "$work/acl")"
check "acl-service.sh: the user let in is served" \
  "hello uid $(id -u lpcex_in): hi" \
  "$(runuser -u lpcex_in -- timeout 30 "$LPC" call services/greet hi)"
runuser -u lpcex_out -- timeout 30 "$LPC" call services/greet hi \
  >/dev/null 2>"$work/refused"
check "acl-service.sh: another user is refused" \
  "1 lpc: connect services/greet: Permission denied" \
  "$? $(sed 's|'"$LPC_MNT"'/||' "$work/refused")"
check "acl-service.sh: nobody else may add to its folder" \
  "root 755" "$(stat -c '%U %a' "$LPC_MNT/services")"
kill -TERM "$acl_server"
wait "$acl_server"
check "acl-service.sh: stops on SIGTERM" 0 $?

if [ "$failures" -ne 0 ]; then
  echo "test-examples.sh: $failures failed" >&2
  exit 1
fi
echo "test-examples.sh: all passed"
