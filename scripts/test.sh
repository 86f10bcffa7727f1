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
# The two-host lab (two libvirt daemons in their own network namespaces) for the migration tests
# (TwoHostTests): up for the suite, down on every exit. Its tests are skipped only when the lab's scripts
# are absent; a lab that does not come up is an error.
TWOHOST=${FLEET_TWOHOST_DIR:-../shared/twohost}
if [ -f "$TWOHOST/up.sh" ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    # A lab left by an interrupted run is stopped first (up.sh refuses to start over it).
    if [ -e /var/tmp/twohost ]; then $SUDO bash "$TWOHOST/down.sh"; fi
    echo "test: starting the two-host lab ($TWOHOST/up.sh)"
    trap '$SUDO bash "$TWOHOST/down.sh" >/dev/null 2>&1 || echo "test: $TWOHOST/down.sh failed" >&2' EXIT
    $SUDO bash "$TWOHOST/up.sh"
    export FLEET_TWOHOST_DIR=$(cd "$TWOHOST" && pwd)
else
    echo "test: $TWOHOST/up.sh not found; the two-host migration tests will be skipped"
fi
# Formatting and lint rules (.swift-format; swift-format ships with the toolchain). `swift format -i -r Sources
# Tests Benchmarks Plugins Package.swift` fixes what it reports.
swift format lint --strict -r Sources Tests Benchmarks Plugins Package.swift
# The functions fleet calls through dlopen'ed libvirt and libguestfs (docs/binding.md, "How libvirt is loaded").
bash scripts/check-library-symbols.sh
# Every import must be a declared dependency (targets cannot lean on what another target happens to pull in).
swift build --build-tests --explicit-target-dependency-import-check error
# (Not exec: the trap above takes the lab down when the tests are done.)
if [ $# -gt 0 ]; then swift test "$@"; exit $?; fi
# FaultTests kill -9 a private libvirtd of their own (scripts/faultd.sh), never the shared one, so they run
# with everything else.
swift test
# The release build installed by scripts/install.sh and packaged by scripts/package-deb.sh, the .deb installed
# into a minimal Debian 12 without libvirt (a few minutes on a fresh machine: release build and debootstrap).
bash scripts/test-install.sh
