#!/bin/bash
# `cmake --install` into a fresh prefix: every file is there, pkg-config
# finds lpc.h, man finds the pages, the programs run.
#
#   install.sh BUILD_DIR
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
prefix=$(mktemp -d /tmp/lpcfs-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT


cmake --install "$BUILD" --prefix "$prefix"
check_eq "cmake --install" 0 $?

want="bin/lpc
bin/lpcfs
include/lpc.h
lib/systemd/system/lpcfs.service
share/bash-completion/completions/lpc
share/doc/lpcfs/copyright
share/man/man1/lpc.1.gz
share/man/man7/lpc.7.gz
share/man/man8/lpcfs.8.gz
share/pkgconfig/lpc.pc"
check_eq "the files installed" "$want" \
  "$(cd "$prefix" && find . -type f | sed 's|^\./||' | sort)"

check_eq "pkg-config --cflags lpc" "-I$prefix/include" \
  "$(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --cflags lpc | sed 's/ *$//')"
check_eq "pkg-config --modversion lpc" "$(sed -n 's/^project(lpcfs VERSION \([0-9.]*\).*/\1/p' \
  "$(dirname "$0")/../../CMakeLists.txt")" \
  "$(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --modversion lpc)"
# A client compiles against the installed header alone.
printf '#include <lpc.h>\nint main(void) { return LPC_PROTOCOL_VERSION > 0 ? 0 : 1; }\n' \
  >"$prefix/client.c"
cc $(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --cflags lpc) \
  -o "$prefix/client" "$prefix/client.c" && "$prefix/client"
check_eq "a client builds with the pkg-config flags" 0 $?

for page in "1 lpc" "7 lpc" "8 lpcfs"; do
  set -- $page
  check_eq "man -M PREFIX/share/man $1 $2" \
    "$prefix/share/man/man$1/$2.$1.gz" "$(man -M "$prefix/share/man" -w "$1" "$2")"
done
man -M "$prefix/share/man" lpc 2>/dev/null | grep -q "use lpcfs ports from the shell"
check_eq "man -M PREFIX/share/man lpc shows lpc(1)" 0 $?

"$prefix/bin/lpc" --version >/dev/null
check_eq "the installed lpc runs" 0 $?
"$prefix/bin/lpcfs" --help >/dev/null 2>&1
check_eq "the installed lpcfs runs" 0 $?

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
