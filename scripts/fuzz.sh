#!/bin/sh
# Builds the libFuzzer targets of fuzz/ with clang into
# ${BUILD_DIR:-build-fuzz} and runs each on its seed corpus fuzz/corpus/NAME
# for a fixed number of executions with a fixed seed, so that a run with the
# defaults is repeatable (about a minute on two cores, after the build).
# Exits non-zero if a target crashes, trips a sanitizer or reports a broken
# invariant. The input that did it is saved as
# $BUILD_DIR/fuzz-artifacts/NAME/crash-*; replay it with
#   $BUILD_DIR/fuzz/NAME_fuzzer FILE    (LPC_FUZZ_TRACE=1 traces the broker)
#
# Environment:
#   BUILD_DIR     build tree (default build-fuzz); configured with
#                 CC=clang CXX=clang++ -DLPC_FUZZ=ON
#   FUZZ_TARGETS  targets to run, in order (default "broker record")
#   FUZZ_RUNS     executions per target (default: broker 100000,
#                 record 2000000)
#   FUZZ_SECONDS  run each target this many seconds instead of a number of
#                 executions (libFuzzer -max_total_time); for long runs
#   FUZZ_JOBS     fuzzing processes per target (default 1; -fork=N)
#   FUZZ_SEED     libFuzzer -seed (default 1)
#   FUZZ_ARGS     further libFuzzer flags, e.g. "-max_len=8192"
# Arguments, if any, replace FUZZ_TARGETS.
#
# New inputs go to $BUILD_DIR/fuzz-corpus/NAME, emptied at the start of each
# run so that runs stay repeatable; never into the repository. To keep the
# ones that add coverage, merge them into the seed corpus:
#   $BUILD_DIR/fuzz/NAME_fuzzer -merge=1 fuzz/corpus/NAME \
#     $BUILD_DIR/fuzz-corpus/NAME
# (fuzz/make_corpus.py writes the scripted seeds.)
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
targets=${*:-${FUZZ_TARGETS:-broker record}}

CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DLPC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
build_targets=""
for t in $targets; do build_targets="$build_targets ${t}_fuzzer"; done
# shellcheck disable=SC2086
cmake --build "$BUILD_DIR" -j "$(nproc)" --target $build_targets

# Sanitizer reports with their stacks; UBSan already aborts (fuzz/CMakeLists).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=""
for t in $targets; do
  case $t in
    broker) runs=100000 ;;
    record) runs=2000000 ;;
    *) runs=100000 ;;
  esac
  if [ -n "${FUZZ_SECONDS:-}" ]; then
    limit="-max_total_time=$FUZZ_SECONDS"
  else
    limit="-runs=${FUZZ_RUNS:-$runs}"
  fi
  jobs=""
  if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then jobs="-fork=$FUZZ_JOBS"; fi
  scratch="$BUILD_DIR/fuzz-corpus/$t"
  artifacts="$BUILD_DIR/fuzz-artifacts/$t"
  rm -rf "$scratch"
  mkdir -p "$scratch" "$artifacts"
  echo "fuzz.sh: $t: $limit -seed=${FUZZ_SEED:-1} $jobs" >&2
  start=$(date +%s)
  # The first directory receives new inputs; the seed corpus is only read.
  # shellcheck disable=SC2086
  if "$BUILD_DIR/fuzz/${t}_fuzzer" $limit -seed="${FUZZ_SEED:-1}" $jobs \
      -timeout=30 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      ${FUZZ_ARGS:-} "$scratch" "fuzz/corpus/$t" \
      >"$BUILD_DIR/fuzz-$t.log" 2>&1; then
    grep -E '^#[0-9]+ *DONE|^Done|^stat::number_of_executed_units' \
      "$BUILD_DIR/fuzz-$t.log" >&2 || true
    echo "fuzz.sh: $t: ok in $(($(date +%s) - start)) s" >&2
  else
    tail -n 60 "$BUILD_DIR/fuzz-$t.log" >&2
    echo "fuzz.sh: $t FAILED (log: $BUILD_DIR/fuzz-$t.log," \
      "input: $artifacts/)" >&2
    failed="$failed $t"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz.sh: failed:$failed" >&2
  exit 1
fi
