#!/bin/bash
# lpcfs mounted the way any FUSE file system is: `mount -t fuse.lpcfs` and
# the /etc/fstab line of lpcfs.8, through mount(8) and mount.fuse3(8), in
# a private mount namespace. Needs root and /dev/fuse (else skipped, 77).
#
#   mount.sh LPCFS LPC LPCFS_MAN_PAGE
#
# mount(8) clears PATH before it runs mount.fuse3, whose shell then looks
# lpcfs up in its default path, /usr/local/sbin first (lpcfs.8 "MOUNTING AT
# BOOT"). So the test does not put the build first in PATH: inside the
# namespace it mounts a directory holding only `lpcfs`, the built one, over
# /usr/local/sbin. The host's /usr/local/sbin is untouched.
set -u
LPCFS=${1:?usage: $0 LPCFS LPC LPCFS_MAN_PAGE}
LPC=${2:?usage: $0 LPCFS LPC LPCFS_MAN_PAGE}
MAN_PAGE=${3:?usage: $0 LPCFS LPC LPCFS_MAN_PAGE}
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || [ ! -d /usr/local/sbin ]; then
  echo "SKIP: needs root, /dev/fuse and /usr/local/sbin"
  exit 77
fi
if [ -z "${LPC_IN_PRIVATE_NS:-}" ]; then
  export LPC_IN_PRIVATE_NS=1
  exec unshare -m --propagation private "$0" "$@"
fi

# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
LPCFS=$(realpath "$LPCFS")
tmp=$(mktemp -d /tmp/lpcfs-mount.XXXXXX)
mnt=$tmp/lpc
mkdir "$mnt" "$tmp/sbin"
ln -s "$LPCFS" "$tmp/sbin/lpcfs"
server_pid=


# The daemons mount.fuse3 started: they went to the background, but stay
# in this mount namespace.
daemons() {
  local ns p
  ns=$(readlink /proc/self/ns/mnt)
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] &&
      [ "$(readlink "$p/exe" 2>/dev/null)" = "$LPCFS" ] && echo "${p#/proc/}"
  done
}

# Waits up to 5 s until no daemon is left; false if one is.
no_daemon_left() {
  for _ in $(seq 1 50); do
    [ -z "$(daemons)" ] && return 0
    sleep 0.1
  done
  return 1
}

teardown() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  mountpoint -q "$mnt" && { umount "$mnt" 2>/dev/null || umount -l "$mnt"; }
  if ! no_daemon_left; then
    # shellcheck disable=SC2046
    kill -TERM $(daemons) 2>/dev/null
    sleep 1
    # shellcheck disable=SC2046
    kill -KILL $(daemons) 2>/dev/null
  fi
  mountpoint -q /usr/local/sbin && umount /usr/local/sbin
  rm -rf "$tmp"
}
trap teardown EXIT
trap 'exit 130' INT TERM

mount --bind "$tmp/sbin" /usr/local/sbin || exit 1

# The mount works: a server and a client through it.
serve_and_call() {
  "$LPC" serve --mount "$mnt" echo -- cat &
  server_pid=$!
  for _ in $(seq 1 100); do
    [ -e "$mnt/echo" ] && break
    sleep 0.05
  done
  check_eq "$1: lpc call through the mount" "hello" \
    "$(timeout 10 "$LPC" call --timeout 5 --mount "$mnt" echo hello)"
  kill "$server_pid"
  wait "$server_pid"
  server_pid=
}

# The options of the mount in /proc/self/mountinfo, or "" if not mounted:
# TYPE SOURCE PER-MOUNT-OPTIONS.
mount_entry() {
  awk -v m="$mnt" '$5 == m { for (i = 7; $i != "-"; i++); print $(i+1), $(i+2), $6 }' \
    /proc/self/mountinfo
}

# 1. mount -t fuse.lpcfs SOURCE DIR -o OPTIONS
timeout 20 mount -t fuse.lpcfs lpc "$mnt" -o queue_messages=128
check_eq "mount -t fuse.lpcfs lpc DIR -o queue_messages=128" 0 $?
entry=$(mount_entry)
check_eq "mounted as fuse.lpcfs named lpcfs" "fuse.lpcfs lpcfs" "${entry% *}"
[[ ,${entry##* }, == *,nosuid,* && ,${entry##* }, == *,nodev,* ]]
check_eq "nosuid,nodev although mount.fuse3 asked for suid,dev" 0 $?
pid=$(daemons)
check_eq "the option reached the daemon" 1 \
  "$(tr '\0' ' ' <"/proc/${pid:-0}/cmdline" 2>/dev/null | grep -c 'queue_messages=128')"
serve_and_call "mount -t"
umount "$mnt"
check_eq "umount" 0 $?
no_daemon_left
check_eq "the daemon exits after umount" 0 $?

# 2. The fstab line of lpcfs.8, for this mount point.
line=$(grep -E '^lpc +/lpc +fuse\.lpcfs ' "$MAN_PAGE")
check_eq "lpcfs.8 has an fstab line" 1 "$(grep -c . <<<"$line")"
sed "s|^lpc  */lpc |lpc $mnt |" <<<"$line" >"$tmp/fstab"
timeout 20 mount -T "$tmp/fstab" "$mnt"
check_eq "mount DIR with the fstab line" 0 $?
check_eq "mounted from fstab" "fuse.lpcfs lpcfs" "$(mount_entry | cut -d' ' -f1,2)"
serve_and_call "fstab"
umount "$mnt"
check_eq "umount after fstab" 0 $?
no_daemon_left
check_eq "the daemon exits after umount (fstab)" 0 $?

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
