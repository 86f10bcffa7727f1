#!/usr/bin/env bash
# The whole test suite: unit tests, libvirt test-driver tests, golden CLI tests, and the
# system tests against the real libvirtd that scripts/setup.sh starts (qemu:///system) inside
# its own network namespace. Installs what is missing first (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLEET_TEST_LIBVIRT_URI=${FLEET_TEST_LIBVIRT_URI:-qemu:///system}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
# Every import must be a declared dependency (targets cannot lean on what another target happens to pull in).
swift build --build-tests --explicit-target-dependency-import-check error
if [ $# -gt 0 ]; then exec swift test "$@"; fi
swift test --skip FaultTests
# The fault tests kill and restart the shared libvirtd: a phase of their own, with nothing else running.
FLEET_TEST_FAULT=1 swift test --filter FaultTests
