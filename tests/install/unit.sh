#!/bin/bash
# lpcfs.service as `cmake --install` writes it: systemd-analyze verify
# accepts it (syntax, ExecStart= exists, the Documentation= pages are
# found), it starts the installed daemon as Type=notify, and no setting in
# it gives the service a mount namespace of its own, whose mounts would
# never reach the host (dist/lpcfs.service.in).
#
#   unit.sh BUILD_DIR     exits 77 (skipped) without systemd-analyze
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: no systemd-analyze (Debian package systemd)"
  exit 77
fi
failures=0
prefix=$(mktemp -d /tmp/lpcfs-unit.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

check() {
  if [ "$2" -eq 0 ]; then
    echo "ok: $1"
  else
    failures=$((failures + 1))
    echo "FAIL: $1" >&2
  fi
}

cmake --install "$BUILD" --prefix "$prefix" >/dev/null
check "cmake --install" $?
unit=$prefix/lib/systemd/system/lpcfs.service
[ -f "$unit" ] || { echo "FAIL: no $unit" >&2; exit 1; }

# verify runs man(1) for each Documentation= page: the installed ones.
MANPATH=$prefix/share/man: systemd-analyze verify "$unit"
check "systemd-analyze verify" $?

settings=$(grep -v '^[[:space:]]*#' "$unit")
grep -qx "ExecStart=$prefix/bin/lpcfs -f /lpc" <<<"$settings"
check "ExecStart= is the installed lpcfs, in the foreground" $?
grep -qx "Type=notify" <<<"$settings"
check "Type=notify" $?
# systemd.exec(5): these set up a mount namespace for the service.
namespaced=$(grep -oE '^(ProtectSystem|PrivateTmp|ProtectHome|PrivateDevices|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectProc|ProcSubset|ProtectHostname|PrivateMounts|PrivateNetwork|PrivateIPC|PrivateUsers|ReadOnlyPaths|ReadWritePaths|InaccessiblePaths|ExecPaths|NoExecPaths|TemporaryFileSystem|BindPaths|BindReadOnlyPaths|MountFlags|RootDirectory|RootImage|MountAPIVFS|RuntimeDirectory|StateDirectory|CacheDirectory|LogsDirectory|ConfigurationDirectory|DynamicUser)=' <<<"$settings")
[ -z "$namespaced" ]
check "no setting that needs a mount namespace${namespaced:+: $namespaced}" $?

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
