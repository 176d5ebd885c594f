#!/bin/bash
# lpc serve cuts lines longer than 256 bytes into 256-byte messages; the
# messages put together are exactly CMD's output.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# One read() returns one message only (lpc.7 "MESSAGES"), so
# `dd bs=4096 count=1` shows each message's size.
message_sizes() {
  local port=$1 sizes=() n
  exec 3<"$LPC_MNT/$port"
  while :; do
    n=$(dd bs=4096 count=1 status=none <&3 | wc -c)
    sizes+=("$n")
    [ "$n" -eq 0 ] && break
  done
  exec 3<&-
  echo "${sizes[*]}"
}

start_server big -- sh -c 'head -c 1000 /dev/zero | tr "\0" x; echo; echo short'
check_eq "a 1000-byte line is 256+256+256+233, then the next line" \
  "256 256 256 233 6 0" "$(message_sizes big)"
{
  head -c 1000 /dev/zero | tr '\0' x
  echo
  echo short
} >"$TMP/want"
"$LPC" call --eof big </dev/null >"$TMP/got"
check_eq "lpc call --eof: status" 0 $?
check_file "lpc call --eof puts the pieces back together" "$TMP/want" "$TMP/got"
check_file "cat PORT puts the pieces back together" "$TMP/want" \
  <(cat "$LPC_MNT/big")

start_server exact -- sh -c 'printf "%0255d\n" 0; printf "%0256d\n" 0; printf "%0257d" 0'
check_eq "255+newline is one message, 256+newline two, 257 unterminated two" \
  "256 256 1 256 1 0" "$(message_sizes exact)"

# The client's side: a 256-byte message comes back as 256 bytes plus a
# newline message; --lines reads the whole line.
start_server echo -- cat
m256=$(printf '%0256d' 7)
run_capture "$LPC" call --lines echo "$m256" next
check_eq "--lines joins a line sent as two messages" "0|$m256
next" "$rc|$out"
exec 3<>"$LPC_MNT/echo"
printf '%s' "$m256" >&3
read -r reply <&3
check_eq "read -r gets the whole 256-byte line" "$m256" "$reply"
exec 3>&-

# Binary output: arbitrary bytes and line lengths, nothing lost or added.
head -c 100000 /dev/urandom >"$TMP/random"
start_server blob -- cat "$TMP/random"
"$LPC" call --eof blob </dev/null >"$TMP/blob"
check_file "100000 random bytes arrive exactly" "$TMP/random" "$TMP/blob"

finish
