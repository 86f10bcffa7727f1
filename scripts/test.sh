#!/usr/bin/env bash
# The whole test suite: unit tests, libvirt test-driver tests, golden CLI tests, and the
# system tests against the real libvirtd that scripts/setup.sh started (qemu:///system).
set -euo pipefail
cd "$(dirname "$0")/.."
export FLEET_TEST_LIBVIRT_URI=${FLEET_TEST_LIBVIRT_URI:-qemu:///system}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
if ! virsh -c "$FLEET_TEST_LIBVIRT_URI" version >/dev/null 2>&1; then
    echo "test: $FLEET_TEST_LIBVIRT_URI is not reachable; run scripts/setup.sh first" >&2
    exit 1
fi
swift build
swift test "$@"
