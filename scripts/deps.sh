#!/bin/sh
# Installs the Debian packages lpcfs needs to build, run and test, but only
# those that are missing, so a second run is quick and needs no network.
set -eu
# tests/install needs mount (mount -t fuse.lpcfs), man-db (man -M) and
# dpkg-dev (dpkg-shlibdeps, for the Depends of the .deb cpack builds);
# nodejs runs examples/node and the Node.js conformance driver;
# nlohmann-json3-dev: lpc ls/stat --json (shell/ls_stat.cc).
PACKAGES="build-essential cmake pkg-config libfuse3-dev fuse3 libcap-dev
libboost-dev libgtest-dev googletest python3 util-linux procps passwd acl
clang libclang-rt-14-dev llvm mount man-db dpkg-dev nodejs nlohmann-json3-dev"
missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "lpcfs: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "lpcfs: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
