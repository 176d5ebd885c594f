#!/bin/sh
# Smoke test for lpc-bench: runs it briefly and checks only that it exits 0
# and prints the round-trip ratio line. It asserts nothing about speed.
#
#   smoke-test.sh LPC_BENCH [ARGS...]
#
# The argument --mount-from-env is replaced by --mount "$LPC_MNT" (the mount
# tests/with-mount.sh made).
set -u
bench=$1
shift
for arg in "$@"; do
  shift
  if [ "$arg" = "--mount-from-env" ]; then
    set -- "$@" --mount "${LPC_MNT:?--mount-from-env needs LPC_MNT}"
  else
    set -- "$@" "$arg"
  fi
done

out=$("$bench" "$@")
status=$?
printf '%s\n' "$out"
if [ $status -ne 0 ]; then
  echo "smoke-test: lpc-bench exited with status $status" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq '^RESULT rtt_ratio_vs_uds [0-9]+(\.[0-9]+)?$'; then
  echo "smoke-test: no 'RESULT rtt_ratio_vs_uds' line in the output" >&2
  exit 1
fi
