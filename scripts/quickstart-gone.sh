#!/usr/bin/env bash
# `fleet destroy examples/quickstart --yes`, then checks with virsh (not with fleet) that nothing of the quickstart
# is left on qemu:///system: no domain, network, pool or volume of it, no ledger of the fleet, and no file in its
# pool's directory. The directory itself stays, empty: deleting a pool never deletes its directory (README, Safety).
# Exit 1, naming what is left, otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
F=${FLEET:-.build/release/fleet}
URI=qemu:///system
[ -x "$F" ] || swift build -c release --product fleet
"$F" destroy examples/quickstart --yes
# The quickstart's names and its pool's directory, as examples/quickstart declares them.
prefix=qs-
dir=/var/lib/libvirt/fleet-quickstart
left=()
for d in $(virsh -c "$URI" list --all --name); do
    case "$d" in "$prefix"* | fleet-ledger-quickstart) left+=("domain $d") ;; esac
done
for n in $(virsh -c "$URI" net-list --all --name); do
    case "$n" in "$prefix"*) left+=("network $n") ;; esac
done
for p in $(virsh -c "$URI" pool-list --all --name); do
    case "$p" in "$prefix"*) left+=("pool $p") ;; esac
    # A volume of the quickstart's in any pool (its VMs' disks are named after them).
    for v in $(virsh -c "$URI" vol-list --pool "$p" 2>/dev/null | awk 'NR > 2 && NF { print $2 }'); do
        case "$v" in "$dir"/* | */"$prefix"*) left+=("volume $v (pool $p)") ;; esac
    done
done
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then left+=("files in $dir: $(ls -A "$dir" | tr '\n' ' ')"); fi
if [ ${#left[@]} -gt 0 ]; then
    printf 'quickstart-gone: left after fleet destroy examples/quickstart --yes:\n' >&2
    printf '  %s\n' "${left[@]}" >&2
    exit 1
fi
echo "quickstart-gone: nothing of examples/quickstart is left on $URI (domains, networks, pools, volumes, $dir)"
