#!/bin/sh
# Builds lpcfs and runs the daemon in the foreground at ${LPC_MOUNT:-/lpc}.
# Installs missing Debian packages first. Stop it with Ctrl-C or
# `fusermount3 -u /lpc`.
set -eu
cd "$(dirname "$0")"
scripts/deps.sh
scripts/build.sh
MOUNT=${LPC_MOUNT:-/lpc}
mkdir -p "$MOUNT"
exec build/fs/lpcfs -f "$MOUNT" "$@"
