#!/bin/sh
# Builds lpcfs with AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer into ${BUILD_DIR:-build-asan} and runs the whole test suite
# against that build. Fails if any test fails or if any process of the run
# (the daemon, the tests, `lpc`, the benchmark) printed a sanitizer report,
# even one that did not change an exit status: every instrumented process
# writes its reports under one directory, which must stay empty.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
export BUILD_DIR
# -O1 with no other optimisation: the build is half as long as
# RelWithDebInfo and the reports keep their line numbers.
BUILD_TYPE=${BUILD_TYPE:-Debug} scripts/build.sh -DLPC_SANITIZE=ON
reports=$(mktemp -d /tmp/lpc-sanitizer.XXXXXX)
# Test children run as unprivileged users: let them write reports too.
chmod 1777 "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="log_path=$reports/lsan"
status=0
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$(nproc)" --timeout 300) ||
  status=$?
if [ -n "$(ls -A "$reports")" ]; then
  echo "lpcfs: sanitizer reports:" >&2
  for f in "$reports"/*; do
    echo "=== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
rm -rf "$reports"
exit $status
