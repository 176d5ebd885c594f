# shellcheck shell=bash
# Sourced by tests/install/*.sh. check_eq counts failures instead of
# stopping at the first one; each script exits non-zero if $failures > 0.
failures=0

# check_eq NAME EXPECTED ACTUAL
check_eq() {
  if [ "$2" == "$3" ]; then
    echo "ok: $1"
  else
    failures=$((failures + 1))
    echo "FAIL: $1" >&2
    echo "  expected: $(printf '%q' "$2")" >&2
    echo "  actual:   $(printf '%q' "$3")" >&2
  fi
}
