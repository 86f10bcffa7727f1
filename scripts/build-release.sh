#!/usr/bin/env bash
# The one release build of fleet, shared by scripts/quickstart.sh and scripts/install.sh (and so by
# scripts/package-deb.sh), so that a machine running more than one of them builds release once: the Swift
# runtime linked in statically, so the binary needs no Swift toolchain where it is installed, and without
# SwiftPM's $ORIGIN runpath (nothing is loaded from beside the binary; an installed /usr/bin/fleet must not).
# `build-release.sh [PRODUCT]` (default fleet). Build output goes to stderr; stdout is the directory
# holding the built product.
set -euo pipefail
cd "$(dirname "$0")/.."
FLAGS=(-c release --static-swift-stdlib --disable-local-rpath)
swift build "${FLAGS[@]}" --product "${1:-fleet}" >&2
swift build "${FLAGS[@]}" --show-bin-path
