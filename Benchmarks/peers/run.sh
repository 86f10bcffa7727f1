#!/usr/bin/env bash
# fleet, kcli and Ansible's community.libvirt timed side by side, in one run, by the harness in ../shared/peers.
#   bash Benchmarks/peers/run.sh [N=50] [URI=qemu:///system] [STATE=shutdown] [REPS=1]
# Copies the harness to /var/tmp/fleet-peers (it writes beside its scripts), adds fleet.sh as a third peer
# (fleet's dry run is `plan`, its converge command `apply`), runs bench.py for all three, then summarize.py.
# Needs root, a running libvirtd, PyPI (setup.sh builds the harness's venv) and a release build of fleet.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
n="${1:-50}"; uri="${2:-qemu:///system}"; state="${3:-shutdown}"; reps="${4:-1}"
SRC="${PEERS:-$REPO/../shared/peers}"
W=/var/tmp/fleet-peers
[ -d "$SRC" ] || { echo "run.sh: no peers harness at $SRC (set PEERS)" >&2; exit 1; }
FLEET="$(bash "$REPO/scripts/build-release.sh")/fleet"
export FLEET
mkdir -p "$W"
# The harness, refreshed; its venv, home and results stay between runs.
(cd "$SRC" && tar --exclude=.venv --exclude=home --exclude=results -cf - .) | (cd "$W" && tar -xf -)
cp "$REPO/Benchmarks/peers/fleet.sh" "$W/fleet.sh"
python3 - "$W/bench.py" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
if "fleet" not in s.split("def peer_cmd", 1)[1].split("def timed", 1)[0]:
    s = s.replace('action = "check" if peer == "ansible" else "update"',
                  'action = "check" if peer in ("ansible", "fleet") else "update"')
    s = s.replace('action = "apply" if peer == "ansible" else "update"',
                  'action = "apply" if peer in ("ansible", "fleet") else "update"')
    s = s.replace('    clean = re.sub(r"\\x1b\\[[0-9;]*m", "", out)\n',
                  '    clean = re.sub(r"\\x1b\\[[0-9;]*m", "", out)\n'
                  '    if peer == "fleet":\n'
                  '        m = re.search(r"(\\d+) applied, (\\d+) failed", clean)\n'
                  '        p = re.search(r"(\\d+) to create, (\\d+) to update live, (\\d+) need restart, (\\d+) to replace, (\\d+) to delete", clean)\n'
                  '        return {"applied": int(m.group(1)) if m else 0, "failed": int(m.group(2)) if m else 0,\n'
                  '                "planned": sum(int(x) for x in p.groups()) if p else None}\n', 1)
    open(p, "w").write(s)
PY
python3 - "$W/summarize.py" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
if '"fleet"' not in s:
    s = s.replace('    r = rec["reported"]\n',
                  '    r = rec["reported"]\n'
                  '    if rec["peer"] == "fleet":\n'
                  '        return r.get("planned") or 0\n', 1)
    open(p, "w").write(s)
PY
grep -q '"fleet"' "$W/bench.py" && grep -q '"fleet"' "$W/summarize.py" || { echo "run.sh: could not add fleet to the harness" >&2; exit 1; }
cd "$W"
# setup.sh can fail on its last check (`ansible --version | head -1` under pipefail: a broken pipe) after
# installing everything; what the run needs is checked here instead.
[ -x .venv/bin/python ] || ./setup.sh || true
mkdir -p home results
.venv/bin/python -c "import libvirt" && [ -x .venv/bin/kcli ] && [ -x .venv/bin/ansible-playbook ] ||
    { echo "run.sh: the harness's venv is incomplete (see $W/setup.sh)" >&2; exit 1; }
.venv/bin/python cleanup.py "$uri" >/dev/null 2>&1 || true
tag="fleet-side-by-side-$(date +%s)"
.venv/bin/python bench.py --peer fleet,kcli,ansible --n "$n" --uri "$uri" --state "$state" --reps "$reps" --tag "$tag"
.venv/bin/python summarize.py --tag "$tag"
echo "command: bash Benchmarks/peers/run.sh $n $uri $state $reps"
