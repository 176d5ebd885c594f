#!/bin/bash
# `cpack -G DEB` of this build, into a temporary directory: the package's
# name, version, dependencies and maintainer scripts, and every installed
# file inside it (dpkg-deb -c). Nothing is installed on this machine.
#
#   deb.sh BUILD_DIR PROJECT_VERSION     exits 77 (skipped) without dpkg-deb
set -u
BUILD=${1:?usage: $0 BUILD_DIR PROJECT_VERSION}
VERSION=${2:?usage: $0 BUILD_DIR PROJECT_VERSION}
if ! command -v dpkg-deb >/dev/null; then
  echo "SKIP: no dpkg-deb"
  exit 77
fi
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
out=$(mktemp -d /tmp/lpcfs-deb.XXXXXX)
trap 'rm -rf "$out"' EXIT


cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log" >&2; echo "FAIL: cpack" >&2; exit 1; }
deb=$(ls "$out"/lpcfs_*.deb 2>/dev/null)
check_eq "one package, named lpcfs_VERSION_ARCH.deb" \
  "$out/lpcfs_${VERSION}_$(dpkg --print-architecture).deb" "$deb"
[ -f "$deb" ] || exit 1

check_eq "Package" lpcfs "$(dpkg-deb -f "$deb" Package)"
check_eq "Version" "$VERSION" "$(dpkg-deb -f "$deb" Version)"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in fuse3 libfuse3-3 libcap2 libc6 libstdc++6; do
  check_eq "Depends names $dep" 1 \
    "$(tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/ .*//' | grep -cxF "$dep")"
done
check_eq "Maintainer" 1 "$(dpkg-deb -f "$deb" Maintainer | grep -c '<.*@.*>')"
check_eq "Description" 1 \
  "$(dpkg-deb -f "$deb" Description | head -n 1 | grep -c 'ports as files')"

check_eq "the installed files" "./usr/bin/lpc
./usr/bin/lpcfs
./usr/include/lpc.h
./usr/lib/systemd/system/lpcfs.service
./usr/share/bash-completion/completions/lpc
./usr/share/doc/lpcfs/copyright
./usr/share/man/man1/lpc.1.gz
./usr/share/man/man7/lpc.7.gz
./usr/share/man/man8/lpcfs.8.gz
./usr/share/pkgconfig/lpc.pc" \
  "$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sort)"
check_eq "owned by root" "" \
  "$(dpkg-deb -c "$deb" | awk '$2 != "root/root"')"

# Written for /usr, not for the build's prefix or the staging directory.
mkdir "$out/root"
dpkg-deb -x "$deb" "$out/root"
check_eq "lpc.pc: prefix=/usr" "prefix=/usr" \
  "$(grep '^prefix=' "$out/root/usr/share/pkgconfig/lpc.pc")"
check_eq "lpcfs.service: ExecStart=/usr/bin/lpcfs" "ExecStart=/usr/bin/lpcfs -f /lpc" \
  "$(grep '^ExecStart=' "$out/root/usr/lib/systemd/system/lpcfs.service")"
"$out/root/usr/bin/lpc" --version >/dev/null
check_eq "the packaged lpc runs" 0 $?

# Debian policy 12.5: the copyright file, machine-readable (DEP-5).
copyright=$out/root/usr/share/doc/lpcfs/copyright
check_eq "copyright: the DEP-5 format line" \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" \
  "$(head -n 1 "$copyright")"
check_eq "copyright: names the package and a Files: * paragraph" "1|1|1" \
  "$(grep -c '^Upstream-Name: lpcfs$' "$copyright")|$(grep -c '^Files: \*$' "$copyright")|$(grep -c '^License: ' "$copyright")"
check_eq "copyright: the contact is the package's maintainer" \
  "Upstream-Contact: $(dpkg-deb -f "$deb" Maintainer)" \
  "$(grep '^Upstream-Contact: ' "$copyright")"

# Debian policy 12.1: man pages compressed with gzip -9n (no name, no
# time stamp: the same page, the same bytes), and each is the page of
# the source tree.
src=$(cd "$(dirname "$0")/../../man" && pwd)
for page in man1/lpc.1 man7/lpc.7 man8/lpcfs.8; do
  gz=$out/root/usr/share/man/$page.gz
  check_eq "$page.gz is the source page" 0 \
    "$(gzip -dc "$gz" | cmp -s - "$src/${page#*/}"; echo $?)"
  # The header's FLG byte (no FNAME) and MTIME (zero), RFC 1952.
  check_eq "$page.gz: no name, no time stamp" "00 00 00 00 00" \
    "$(od -A n -t x1 -j 3 -N 5 "$gz" | sed 's/^ *//')"
  check_eq "$page.gz: compressed with -9 (XFL 2)" "02" \
    "$(od -A n -t x1 -j 8 -N 1 "$gz" | sed 's/^ *//')"
done
check_eq "man finds the packaged lpc(1)" \
  "$out/root/usr/share/man/man1/lpc.1.gz" \
  "$(man -M "$out/root/usr/share/man" -w 1 lpc)"

mkdir "$out/control"
dpkg-deb -e "$deb" "$out/control"
for script in postinst prerm postrm; do
  [ -x "$out/control/$script" ] && sh -n "$out/control/$script"
  check_eq "$script is there and is sh" 0 $?
done

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
