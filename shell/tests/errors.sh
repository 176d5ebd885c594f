#!/bin/bash
# lpc's failures: exit statuses and messages. The daemon runs with
# -o connect_timeout=2 (see shell/CMakeLists.txt).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

holder=$(dirname "$0")/port-holder.py

# start_holder PORT ARGS...: port-holder.py in the background, until ready.
start_holder() {
  local port=$1
  shift
  python3 "$holder" "$LPC_MNT/$port" "$@" >"$TMP/holder.$port" &
  server_pids+=($!)
  wait_until "$port is held" eval "grep -q ready '$TMP/holder.$port'"
}

# --- lpc call: exit 1, the connection failed ---
run_capture "$LPC" call nosuch hello
check_eq "missing port: status and message" \
  "1||lpc: connect $LPC_MNT/nosuch: No such file or directory" \
  "$rc|$out|$err"

start_holder refuser reject
run_capture "$LPC" call refuser hello
check_eq "rejected: Connection refused" \
  "1|lpc: connect $LPC_MNT/refuser: Connection refused" "$rc|$err"

start_holder busy reject EBUSY
run_capture "$LPC" call busy hello
check_eq "rejected with EBUSY" \
  "1|lpc: connect $LPC_MNT/busy: Device or resource busy" "$rc|$err"

start_holder silent hold
run_capture "$LPC" call silent hello
check_eq "never accepted: the daemon's connect_timeout" \
  "1|lpc: connect $LPC_MNT/silent: Connection timed out" "$rc|$err"

start_server --mode 0600 private -- cat
run_capture setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$LPC" call private hello
check_eq "mode 0600, another user: Permission denied" \
  "1|lpc: connect $LPC_MNT/private: Permission denied" "$rc|$err"
start_server public -- cat
run_capture setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$LPC" call public hello
check_eq "mode 0666, another user gets through" "0|hello" "$rc|$out"

# --- exit 3: --timeout ---
run_capture "$LPC" call --timeout 0.3 silent hello
check_eq "not accepted within --timeout" \
  "3|lpc: $LPC_MNT/silent: not accepted within 0.3 s" "$rc|$err"

# (cat's stdout is not the pipe, but sh keeps the pipe open while it waits.)
start_server sink -- sh -c 'cat >/dev/null; exit 0'
run_capture "$LPC" call --timeout 0.3 sink hello
check_eq "no reply within --timeout" \
  "3|lpc: $LPC_MNT/sink: no reply within 0.3 s" "$rc|$err"
run_capture "$LPC" call --eof -t 0.3 sink hello
check_eq "--eof: idle for --timeout" \
  "3|lpc: $LPC_MNT/sink: nothing sent or received within 0.3 s" "$rc|$err"

start_server one-reply -- sh -c 'read -r x; echo "reply 1"; cat >/dev/null'
run_capture "$LPC" call --timeout 1 one-reply a b
check_eq "what arrived before the timeout is printed" \
  "3|reply 1|lpc: $LPC_MNT/one-reply: no reply within 1 s" "$rc|$out|$err"

# --- exit 4: the server closed early ---
start_server quitter -- true
run_capture "$LPC" call quitter hello
check_eq "server closes without replying" \
  "4|lpc: $LPC_MNT/quitter: the server closed the connection" "$rc|$err"

start_server half -- sh -c 'read -r x; echo "reply 1"'
run_capture "$LPC" call half one two
check_eq "server closes after the first of two replies" \
  "4|reply 1|lpc: $LPC_MNT/half: the server closed the connection" \
  "$rc|$out|$err"

start_server unterminated -- sh -c 'read -r x; printf partial'
run_capture "$LPC" call --lines unterminated x
check_eq "--lines: closed in the middle of a line" "4|partial" "$rc|$out"

run_capture "$LPC" call --eof quitter hello
check_eq "--eof: the server closing is the normal end" "0|" "$rc|$out"

# --- exit 2: usage and bad input ---
# A message over the port's limit (64 KiB here) is the daemon's EMSGSIZE.
long=$(printf '%070000d' 0)
run_capture "$LPC" call public "$long"
check_eq "MESSAGE longer than the port takes" 1 "$rc"
check_match "  says why" "Message too long" "$err"
run_capture "$LPC" call public ok ""
check_match "empty MESSAGE" "^lpc: call: MESSAGE 2 is empty" "$err"
check_eq "  status" 2 "$rc"
# A line longer than any port takes is a usage error, found as it is
# read: the lines before it went out, nothing after it does.
printf 'short\n%s\nnever sent\n' "$(printf '%01040385d' 0)" >"$TMP/in"
run_capture "$LPC" call public <"$TMP/in"
check_eq "stdin line longer than any port takes" \
  "2|short|lpc: call: line 2 of standard input is longer than 1040384 bytes, the most any port takes" \
  "$rc|$out|$err"
run_capture "$LPC" call --lines --eof public x
check_eq "--lines with --eof" 2 "$rc"
run_capture "$LPC" call --timeout 0 public x
check_eq "--timeout 0" 2 "$rc"

# --- lpc serve ---
run_capture "$LPC" serve public -- cat
check_eq "serve: port exists" \
  "1|lpc: create $LPC_MNT/public: File exists" "$rc|$err"
run_capture "$LPC" serve no/such/dir -- cat
check_eq "serve: no such folder (says how to make it)" \
  "1|lpc: create $LPC_MNT/no/such/dir: no folder $LPC_MNT/no/such (make it first: \`mkdir -p $LPC_MNT/no/such\`)" \
  "$rc|$err"
run_capture "$LPC" serve .stats -- cat
check_eq "serve: reserved name" \
  "1|lpc: create $LPC_MNT/.stats: File exists" "$rc|$err"
run_capture "$LPC" serve newport -- no-such-command-here
check_eq "serve: CMD not found (and no port left behind)" \
  "1|lpc: serve: no-such-command-here: command not found|absent" \
  "$rc|$err|$([ -e "$LPC_MNT/newport" ] && echo present || echo absent)"
mkdir -m 0755 "$LPC_MNT/roots"
run_capture setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$LPC" serve roots/mine -- cat
check_eq "serve: cannot create" \
  "1|lpc: create $LPC_MNT/roots/mine: Permission denied" "$rc|$err"

# --- no lpcfs where lpc is told to look: say how to start it, make nothing ---
mkdir "$TMP/plain-dir"
no_mount="lpc: no lpcfs mounted at $TMP/plain-dir: start it with \`lpcfs $TMP/plain-dir\` (see lpcfs(8)) or set LPC_MOUNT"
run_capture "$LPC" serve -m "$TMP/plain-dir" x -- cat
check_eq "serve -m DIR (not lpcfs): status and message" "1|$no_mount" \
  "$rc|$err"
check_eq "  nothing created in DIR" "" "$(ls -A "$TMP/plain-dir")"
run_capture env LPC_MOUNT="$TMP/plain-dir/" "$LPC" serve x -- cat
check_eq "serve with LPC_MOUNT=DIR/ (not lpcfs)" "1|$no_mount|" \
  "$rc|$err|$(ls -A "$TMP/plain-dir")"
run_capture "$LPC" serve "$TMP/plain-dir/x" -- cat
check_eq "serve of a path not on lpcfs: says so, creates nothing" \
  "1|lpc: create $TMP/plain-dir/x: not on an lpcfs mount|" \
  "$rc|$err|$(ls -A "$TMP/plain-dir")"
run_capture "$LPC" call -m "$TMP/plain-dir" upper hello
check_eq "call, no lpcfs at the mount" "1|$no_mount" "$rc|$err"
run_capture "$LPC" call -m "$TMP/absent" upper hello
check_eq "call, the mount folder does not exist" \
  "1|lpc: no lpcfs mounted at $TMP/absent: start it with \`lpcfs $TMP/absent\` (see lpcfs(8)) or set LPC_MOUNT" \
  "$rc|$err"
run_capture "$LPC" wait -m "$TMP/plain-dir" upper
check_eq "wait, no lpcfs at the mount: fails at once" "1|$no_mount" "$rc|$err"
run_capture "$LPC" stat -m "$TMP/plain-dir" upper
check_eq "stat, no lpcfs at the mount" "1|$no_mount" "$rc|$err"

# --- a missing folder on the mount ---
run_capture "$LPC" call no/such/port hello
check_eq "call: no such folder" \
  "1|lpc: connect $LPC_MNT/no/such/port: no folder $LPC_MNT/no/such" \
  "$rc|$err"
run_capture "$LPC" wait no/such/port
check_eq "wait: no such folder (fails at once)" \
  "1|lpc: wait for $LPC_MNT/no/such/port: no folder $LPC_MNT/no/such" \
  "$rc|$err"

# --- lpc ls / stat ---
run_capture "$LPC" ls --mount "$TMP"
check_eq "ls: not an lpcfs mount" \
  "1|lpc: no lpcfs mounted at $TMP: start it with \`lpcfs $TMP\` (see lpcfs(8)) or set LPC_MOUNT" \
  "$rc|$err"
run_capture "$LPC" stat nosuch
check_eq "stat: missing port" \
  "1|lpc: stat $LPC_MNT/nosuch: No such file or directory" "$rc|$err"
mkdir "$LPC_MNT/folder"
run_capture "$LPC" stat folder
check_eq "stat: a folder" \
  "1|lpc: stat $LPC_MNT/folder: is a directory, not a port" "$rc|$err"
touch "$TMP/plain"
run_capture "$LPC" stat "$TMP/plain"
check_eq "stat: not on lpcfs" \
  "1|lpc: stat $TMP/plain: not on an lpcfs mount" "$rc|$err"

finish
