#!/bin/bash
# Runs a command against a fresh lpcfs mount and always tears it down.
#
#   with-mount.sh LPCFS_BINARY [DAEMON_ARGS...] -- COMMAND [ARGS...]
#
# The mount lives in a temporary directory inside a private mount namespace
# (unshare -m), so it is invisible to the host and disappears with us even
# if everything else fails. COMMAND sees the mountpoint in $LPC_MNT and the
# daemon's pid in $LPC_DAEMON_PID (a test may kill it: the dead mount is
# still unmounted), and runs under `timeout` (${LPC_TEST_TIMEOUT:-120} s).
# Exit status is COMMAND's.
set -u

if [ -z "${LPC_IN_PRIVATE_NS:-}" ]; then
  export LPC_IN_PRIVATE_NS=1
  exec unshare -m --propagation private "$0" "$@"
fi

lpcfs=$1
shift
daemon_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  daemon_args+=("$1")
  shift
done
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ]; then
  echo "usage: with-mount.sh LPCFS [DAEMON_ARGS...] -- COMMAND [ARGS...]" >&2
  exit 2
fi

mnt=$(mktemp -d /tmp/lpcfs-test.XXXXXX)
log="$mnt.log"
daemon_pid=

teardown() {
  # mountpoint(1) cannot stat a mount whose daemon is dead (ENOTCONN);
  # the mount table still lists it.
  if mountpoint -q "$mnt" 2>/dev/null ||
    grep -qF " $mnt " /proc/self/mountinfo; then
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null ||
      umount -l "$mnt" 2>/dev/null
  fi
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$daemon_pid" 2>/dev/null
  fi
  rmdir "$mnt" 2>/dev/null
  rm -f "$log"
}
trap teardown EXIT
trap 'exit 130' INT TERM

"$lpcfs" -f "${daemon_args[@]}" "$mnt" >"$log" 2>&1 &
daemon_pid=$!

# The mount is ready when statfs reports FUSE's magic number.
for _ in $(seq 1 100); do
  if [ "$(stat -f -c %t "$mnt" 2>/dev/null)" = "65735546" ]; then
    break
  fi
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "with-mount.sh: lpcfs exited before mounting:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.05
done
if [ "$(stat -f -c %t "$mnt" 2>/dev/null)" != "65735546" ]; then
  echo "with-mount.sh: lpcfs did not mount $mnt in 5 s" >&2
  cat "$log" >&2
  exit 1
fi

export LPC_MNT=$mnt LPC_DAEMON_PID=$daemon_pid
timeout --kill-after=5 "${LPC_TEST_TIMEOUT:-120}" "$@"
status=$?
if [ $status -ne 0 ] && [ -s "$log" ]; then
  echo "--- lpcfs log ---" >&2
  cat "$log" >&2
fi
exit $status
