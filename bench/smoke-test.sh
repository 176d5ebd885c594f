#!/bin/sh
# Smoke test for lpc-bench: runs it briefly and checks only that it exits 0
# and prints the RESULT lines named. It asserts nothing about speed.
#
#   smoke-test.sh LPC_BENCH [--expect NAME]... [ARGS...]
#
# Each --expect NAME (default: rtt_ratio_vs_uds) must appear as a
# "RESULT NAME <number>" line. The argument --mount-from-env is replaced by
# --mount "$LPC_MNT" (the mount tests/with-mount.sh made). The other
# arguments go to lpc-bench.
set -u
bench=$1
shift
expect=
expecting=
for arg in "$@"; do
  shift
  if [ -n "$expecting" ]; then
    expect="$expect $arg"
    expecting=
  elif [ "$arg" = "--expect" ]; then
    expecting=1
  elif [ "$arg" = "--mount-from-env" ]; then
    set -- "$@" --mount "${LPC_MNT:?--mount-from-env needs LPC_MNT}"
  else
    set -- "$@" "$arg"
  fi
done
[ -n "$expect" ] || expect=rtt_ratio_vs_uds

out=$("$bench" "$@")
status=$?
printf '%s\n' "$out"
if [ $status -ne 0 ]; then
  echo "smoke-test: lpc-bench exited with status $status" >&2
  exit 1
fi
for name in $expect; do
  if ! printf '%s\n' "$out" |
    grep -Eq "^RESULT $name -?[0-9]+(\.[0-9]+)?\$"; then
    echo "smoke-test: no 'RESULT $name' line in the output" >&2
    exit 1
  fi
done
