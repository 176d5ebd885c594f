#!/bin/bash
# lpc --help, the subcommands' help, and usage errors (exit 2). No mount.
set -u
LPC=${1:?usage: $0 LPC_BINARY}
[ -x "$LPC" ] || {
  echo "$0: $LPC is not an executable" >&2
  exit 1
}
failures=0
checks=0

check_eq() {
  if [ "$2" == "$3" ]; then
    checks=$((checks + 1))
    echo "ok: $1"
  else
    failures=$((failures + 1))
    echo "FAIL: $1" >&2
    echo "  expected: $(printf '%q' "$2")" >&2
    echo "  actual:   $(printf '%q' "$3")" >&2
  fi
}

run() {
  out=$("$@" 2>/tmp/lpc-help-err.$$)
  rc=$?
  err=$(cat /tmp/lpc-help-err.$$)
  rm -f /tmp/lpc-help-err.$$
}

run "$LPC" --help
check_eq "lpc --help: status, no stderr" "0|" "$rc|$err"
check_eq "lpc --help: usage line first" "usage: lpc COMMAND [OPTION...] [ARG...]" \
  "$(head -n 1 <<<"$out")"
for word in serve call ls stat "Exit status"; do
  check_eq "lpc --help mentions $word" 1 "$(grep -c -m 1 -- "$word" <<<"$out")"
done
top_help=$out
run "$LPC" -h
check_eq "lpc -h is lpc --help" "0|$top_help" "$rc|$out"
run "$LPC" help
check_eq "lpc help is lpc --help" "0|$top_help" "$rc|$out"

for cmd in serve call wait ls stat top monitor; do
  run "$LPC" "$cmd" --help
  check_eq "lpc $cmd --help: status, no stderr" "0|" "$rc|$err"
  check_eq "lpc $cmd --help: starts with its usage" "usage: lpc $cmd" \
    "$(head -n 1 <<<"$out" | cut -d ' ' -f 1-3)"
  check_eq "lpc $cmd --help: documents exit status" 1 \
    "$(grep -c -m 1 '^Exit status' <<<"$out")"
  help=$out
  run "$LPC" "$cmd" -h
  check_eq "lpc $cmd -h" "0|$help" "$rc|$out"
  run "$LPC" help "$cmd"
  check_eq "lpc help $cmd" "0|$help" "$rc|$out"
  run "$LPC" "$cmd" --mount /nonexistent --help
  check_eq "lpc $cmd --mount DIR --help: help, nothing else done" "0|$help" \
    "$rc|$out"
done

run "$LPC" call --help
for rule in "--lines" "--eof" "--timeout SEC" "  3  " "  4  "; do
  check_eq "call --help explains '$rule'" 1 "$(grep -c -m 1 -F -- "$rule" <<<"$out")"
done

run "$LPC" --version
check_eq "--version" 0 "$rc"
[[ $out =~ ^lpc\ \(lpcfs\)\ [0-9]+\.[0-9]+ ]]
check_eq "--version format" 0 $?

# usage errors: status 2, "lpc: ..." on stderr, nothing on stdout
usage_error() {
  local name=$1 expected=$2
  shift 2
  run "$@"
  check_eq "$name" "2||$expected" "$rc|$out|$(head -n 1 <<<"$err")"
}
usage_error "no command" "lpc: missing command" "$LPC"
usage_error "unknown command" "lpc: unknown command 'frob'" "$LPC" frob
usage_error "help for an unknown command" "lpc: help: unknown command 'frob'" \
  "$LPC" help frob
usage_error "unknown option" "lpc: call: unknown option --frob" \
  "$LPC" call --frob port
usage_error "option without its value" "lpc: call: option --timeout needs a value" \
  "$LPC" call --timeout
usage_error "flag with a value" "lpc: call: option --eof takes no value" \
  "$LPC" call --eof=1 port
usage_error "call without PORT" "lpc: call: missing PORT" "$LPC" call
usage_error "bad timeout" \
  "lpc: call: invalid timeout 'soon' (seconds, like 2 or 0.5)" \
  "$LPC" call -t soon port
usage_error "serve without CMD" "lpc: serve: missing -- CMD after PORT" \
  "$LPC" serve port
usage_error "serve without --" "lpc: serve: expected -- between PORT and CMD" \
  "$LPC" serve port cat
usage_error "serve with nothing after --" "lpc: serve: missing CMD after --" \
  "$LPC" serve port --
usage_error "serve: option after PORT" \
  "lpc: serve: expected -- between PORT and CMD" \
  "$LPC" serve port --mode 600 -- cat
usage_error "serve: bad mode" \
  "lpc: serve: invalid mode '999' (octal, like 0660)" \
  "$LPC" serve --mode 999 port -- cat
usage_error "stat without PORT" "lpc: stat: missing PORT" "$LPC" stat
usage_error "wait without PORT" "lpc: wait: missing PORT" "$LPC" wait
usage_error "wait: bad timeout" \
  "lpc: wait: invalid timeout '0' (seconds, like 2 or 0.5)" \
  "$LPC" wait --timeout 0 port
usage_error "wait: two PORTs" "lpc: wait: unexpected argument 'b'" \
  "$LPC" wait a b
usage_error "call: unknown server user" \
  "lpc: call: unknown user 'no-such-user-x'" \
  "$LPC" call --server-user no-such-user-x port
usage_error "ls with an operand" "lpc: ls: unexpected argument 'x'" "$LPC" ls x
usage_error "monitor: bad payload format" \
  "lpc: monitor: invalid payload format 'raw' (text or hex)" \
  "$LPC" monitor --payload raw
usage_error "monitor: bad count" "lpc: monitor: invalid count '0'" \
  "$LPC" monitor --count 0
usage_error "monitor: a PORT outside the mount" \
  "lpc: monitor: '/elsewhere/x' is not below the mount /lpc" \
  "$LPC" monitor --mount /lpc /elsewhere/x
run "$LPC" call --frob port
check_eq "usage errors print the usage line and a hint" \
  "usage: lpc call [--mount DIR] [--timeout SEC] [--server-user USER] [--lines | --eof] PORT [MESSAGE...]
Try 'lpc call --help'." "$(tail -n 2 <<<"$err")"

if [ "$failures" -ne 0 ]; then
  echo "help.sh: $failures failed, $checks passed" >&2
  exit 1
fi
echo "help.sh: all $checks checks passed"
