#!/usr/bin/env bash
# The whole test suite: unit tests, libvirt test-driver tests, golden CLI tests, and the
# system tests against the real libvirtd that scripts/setup.sh starts (qemu:///system) inside
# its own network namespace. Installs what is missing first (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLEET_TEST_LIBVIRT_URI=${FLEET_TEST_LIBVIRT_URI:-qemu:///system}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
# The real Debian 12 guest the boot tests use (RealGuestTests), from the shared folder beside the
# repository: cached in /var/tmp/realguest, about 3 minutes on a fresh machine, a no-op afterwards.
# Its tests are skipped when the image is absent; a failed build is an error, not a silent skip.
REALGUEST_BUILD=${FLEET_REALGUEST_BUILD:-../shared/realguest/build.sh}
if [ -f "$REALGUEST_BUILD" ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "test: building the real-guest image ($REALGUEST_BUILD, cached)"
    $SUDO env LIBGUESTFS_BACKEND_SETTINGS=force_tcg bash "$REALGUEST_BUILD"
else
    echo "test: $REALGUEST_BUILD not found; the real-guest boot tests will be skipped"
fi
# Every import must be a declared dependency (targets cannot lean on what another target happens to pull in).
swift build --build-tests --explicit-target-dependency-import-check error
if [ $# -gt 0 ]; then exec swift test "$@"; fi
# FaultTests kill -9 a private libvirtd of their own (scripts/faultd.sh), never the shared one, so they run
# with everything else.
swift test
