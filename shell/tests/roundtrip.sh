#!/bin/bash
# lpc serve + lpc call, and plain shell clients, end to end.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_server echo -- cat

run_capture "$LPC" call echo hello
check_eq "one message" "0|hello" "$rc|$out"

run_capture "$LPC" call echo one "two words" three
check_eq "three messages, in order" "0|one
two words
three" "$rc|$out"

run_capture "$LPC" call "$LPC_MNT/echo" absolute
check_eq "absolute PORT" "0|absolute" "$rc|$out"

run_capture env -u LPC_MOUNT "$LPC" call --mount "$LPC_MNT" echo via-option
check_eq "--mount instead of \$LPC_MOUNT" "0|via-option" "$rc|$out"

run_capture "$LPC" call echo -- -x --lines
check_eq "messages that look like options" "0|--
-x
--lines" "$rc|$out"

printf 'from\n\nstdin\nno newline at end' >"$TMP/in"
"$LPC" call echo <"$TMP/in" >"$TMP/got"
check_eq "stdin lines (an empty line is a newline)" "0|from

stdin
no newline at end" "$?|$(cat "$TMP/got")"

"$LPC" call --lines echo <"$TMP/in" >"$TMP/got"
check_eq "--lines from stdin" "0|from

stdin
no newline at end" "$?|$(cat "$TMP/got")"

seq 1 500 >"$TMP/seq"
"$LPC" call echo <"$TMP/seq" >"$TMP/got"
check_eq "500 messages in lockstep: status" 0 $?
check_file "500 messages in lockstep: replies" "$TMP/seq" "$TMP/got"

run_capture "$LPC" call echo </dev/null
check_eq "nothing to send: exits at once" "0|" "$rc|$out"

# A reply without a newline gets one (default), and is printed as is with
# --eof.
start_server pong -- sh -c 'read -r x; printf "pong to %s" "$x"'
run_capture "$LPC" call pong ping
check_eq "reply without newline" "0|pong to ping" "$rc|$out"
"$LPC" call --eof pong ping >"$TMP/got"
check_eq "--eof: status" 0 $?
printf 'pong to ping' >"$TMP/want"
check_file "--eof prints the bytes as received, no newline added" \
  "$TMP/want" "$TMP/got"

# --eof: everything until the server closes. head takes 3 lines and exits.
start_server three -- head -n 3
run_capture "$LPC" call --eof three a b c d e
check_eq "--eof until the server closes" "0|a
b
c" "$rc|$out"

# A server that talks first: read-only clients.
start_server motd -- echo "message of the day"
check_eq "cat PORT (read-only one-shot)" "message of the day" \
  "$(cat "$LPC_MNT/motd")"
run_capture "$LPC" call --eof motd </dev/null
check_eq "lpc call --eof PORT </dev/null" "0|message of the day" "$rc|$out"

# Plain bash as the client: one write per message, read -r per line.
exec 3<>"$LPC_MNT/echo"
echo "hello from bash" >&3
read -r reply <&3
check_eq "bash exec 3<> / echo / read" "hello from bash" "$reply"
echo "second" >&3
check_eq "one read() returns one message" "second" \
  "$(timeout 5 dd bs=4096 count=1 status=none <&3)"
printf 'no newline' >&3
read -r reply <&3
check_eq "a message without newline comes back as a line" "no newline" \
  "$reply"
exec 3>&-

# One-shot `echo msg > PORT`: a logging server appends what it is sent.
start_server log -- sh -c 'cat >>"$1"' sh "$TMP/log"
echo "first entry" >"$LPC_MNT/log"
check_eq "echo msg > PORT: status" 0 $?
echo "second entry" >"$LPC_MNT/log"
wait_until "both entries are logged" \
  eval '[ "$(cat "$TMP/log" 2>/dev/null | wc -l)" -eq 2 ]'
# (Each connection has its own CMD, so the two appends may come in any order.)
check_eq "echo msg > PORT: delivered" "first entry
second entry" "$(sort "$TMP/log")"

# CMD's environment names the port and the client.
start_server who -- sh -c 'echo "$LPC_PORT $LPC_CLIENT_UID $LPC_CLIENT_GID"
  echo "$LPC_CLIENT_PID"; echo "$LPC_CONN_ID"'
run_capture "$LPC" call --eof who </dev/null
check_eq "LPC_PORT, LPC_CLIENT_UID, LPC_CLIENT_GID" \
  "$LPC_MNT/who $(id -u) $(id -g)" "$(sed -n 1p <<<"$out")"
check_match "LPC_CLIENT_PID" '^[1-9][0-9]*$' "$(sed -n 2p <<<"$out")"
check_match "LPC_CONN_ID" '^[0-9]+$' "$(sed -n 3p <<<"$out")"
exec 3<"$LPC_MNT/who"
read -r _ <&3
read -r client_pid <&3
exec 3<&-
check_eq "LPC_CLIENT_PID is the client's pid" "$$" "$client_pid"

# Modes: 0666 by default, --mode exactly, whatever the umask.
umask 022
start_server m1 -- cat
check_eq "default mode 0666 under umask 022" 666 "$(stat -c %a "$LPC_MNT/m1")"
umask 077
start_server --mode 0640 m2 -- cat
check_eq "--mode 0640 under umask 077" 640 "$(stat -c %a "$LPC_MNT/m2")"
umask 022
start_server -M 1777 m3 -- cat
check_eq "-M 1777" 1777 "$(stat -c %a "$LPC_MNT/m3")"
for port in m1 m2 m3; do
  check_eq "$port owned by us" "$(id -u)" "$(stat -c %u "$LPC_MNT/$port")"
done

# Ports in folders.
mkdir "$LPC_MNT/svc"
start_server svc/echo -- cat
run_capture "$LPC" call svc/echo nested
check_eq "port in a folder" "0|nested" "$rc|$out"

# A CMD that buffers its output needs line buffering (see lpc serve --help).
start_server upper -- stdbuf -oL tr a-z A-Z
run_capture "$LPC" call upper "make me loud"
check_eq "stdbuf -oL tr" "0|MAKE ME LOUD" "$rc|$out"

finish
