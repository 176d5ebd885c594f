#!/bin/sh
# Builds lpcfs and runs every test (unit, integration, examples).
# Installs missing Debian packages first. Must run as root: the integration
# tests mount FUSE file systems in a private mount namespace and add users.
set -eu
cd "$(dirname "$0")"
scripts/deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 300
