#!/usr/bin/env bash
# fleet's main job on a real example, from a fresh Debian 12 machine: install and start libvirt
# (inside its own network namespace), build fleet, validate examples/quickstart, plan it, apply it,
# and show that a second plan has nothing left to do. `fleet destroy examples/quickstart --yes` undoes it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
F=$(bash scripts/build-release.sh)/fleet
$F validate examples/quickstart
$F plan examples/quickstart
$F apply examples/quickstart --yes
$F plan examples/quickstart --detailed-exitcode
$F show examples/quickstart
