#!/usr/bin/env bash
# fleet as one more peer of ../shared/peers (same interface as kcli.sh and ansible.sh):
#   ./fleet.sh apply    N [URI] [shutdown|running]   # fleet apply (a re-run is a full diff that changes nothing)
#   ./fleet.sh check    N [URI] [shutdown|running]   # fleet plan (the dry run)
#   ./fleet.sh update   N [URI] [shutdown|running]   # fleet apply: the converge command is apply itself
#   ./fleet.sh teardown N [URI]                      # fleet destroy
# The desired state is the harness's: pool peerbench-pool at /var/lib/libvirt/images/peerbench; isolated network
# peerbench-net (bridge peerbench-net, 10.254.254.1/24, no DHCP); N VMs peerbench-vm-$i of 64 MiB, 1 vCPU, a 1 GiB
# qcow2 volume (DISK_GB), a virtio NIC and VNC on 127.0.0.1. FLEET is the binary (default: the release build).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
action="${1:?action}"; n="${2:?N}"; uri="${3:-qemu:///system}"; state="${4:-shutdown}"
FLEET="${FLEET:?set FLEET to the fleet binary}"
dir="$HERE/fleet-manifest"
mkdir -p "$dir"
vmstate=stopped; [ "$state" = running ] && vmstate=running
disk="${DISK_GB:-1}GiB"; [ "${DISK_GB:-1}" = 0 ] && disk=512KiB
cat > "$dir/fleet.yaml" <<YAML
fleet: peerbench
hosts: {local: {uri: "$uri"}}
pools: {peerbench-pool: {type: dir, path: /var/lib/libvirt/images/peerbench}}
networks: {peerbench-net: {mode: isolated, bridge: peerbench-net, subnet: 10.254.254.0/24, gateway: 10.254.254.1}}
vms:
  peerbench-vm:
    count: $n
    virt_type: qemu
    vcpus: 1
    memory: 64MiB
    disks: [{size: $disk, format: qcow2}]
    networks: [{network: peerbench-net}]
    graphics: {type: vnc, listen: 127.0.0.1}
    state: $vmstate
YAML
case "$action" in
  apply|update) exec "$FLEET" apply "$dir" --yes ;;
  check)        "$FLEET" plan "$dir" --detailed-exitcode || [ $? = 2 ] ;;
  teardown)     exec "$FLEET" destroy "$dir" --yes ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
