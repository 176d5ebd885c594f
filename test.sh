#!/bin/sh
# Builds lpcfs and runs every test: the unit, integration, shell, example
# and benchmark-smoke tests, then the same suite again built with
# AddressSanitizer, LeakSanitizer and UBSan, then the fuzzers for a bounded
# number of runs. Installs missing Debian packages first. Must run as root:
# the integration tests mount FUSE file systems in a private mount
# namespace and add users.
#
#   LPC_TEST_STAGES="plain sanitize fuzz"   the default; name fewer to skip
set -eu
cd "$(dirname "$0")"
scripts/deps.sh
stages=${LPC_TEST_STAGES:-plain sanitize fuzz}
for stage in $stages; do
  echo "lpcfs: test stage: $stage" >&2
  case $stage in
    plain)
      BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh
      (cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "$(nproc)" --timeout 300)
      ;;
    sanitize) BUILD_DIR=build-asan scripts/test-sanitized.sh ;;
    fuzz) BUILD_DIR=build-fuzz scripts/fuzz.sh ;;
    *)
      echo "lpcfs: unknown test stage '$stage' (plain, sanitize, fuzz)" >&2
      exit 2
      ;;
  esac
done
