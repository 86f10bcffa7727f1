#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for fleet: installs libvirt, QEMU and libguestfs,
# then starts virtlogd + libvirtd inside a network namespace of their own (fleet-test),
# so every bridge and NAT network that fleet or its tests create lives there and no
# traffic leaves the machine. Idempotent: safe to run again.
set -euo pipefail

NETNS=${FLEET_NETNS:-fleet-test}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# man-db, dpkg-dev and git for scripts/test-install.sh (man -l, dpkg-shlibdeps); libcurl4-openssl-dev for the
# release build (scripts/build-release.sh): with the Swift runtime linked in statically, FoundationNetworking
# links libcurl at build time. swtpm, swtpm-tools and ovmf for UEFI guests with secure boot and an emulated TPM
# (libvirt runs swtpm_setup and swtpm itself, and picks OVMF through /usr/share/qemu/firmware/*.json).
need_install=0
for bin in virsh libvirtd qemu-system-x86_64 qemu-img virt-xml-validate guestfish dnsmasq isoinfo debootstrap sfdisk ping \
    man dpkg-shlibdeps git swtpm swtpm_setup; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need_install=1
done
for pc in libvirt libvirt-qemu libguestfs libcurl; do pkg-config --exists "$pc" 2>/dev/null || need_install=1; done
[ -f /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || need_install=1
if [ "$need_install" = 1 ]; then
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
        libvirt-dev libguestfs-dev libvirt-daemon-system qemu-system-x86 qemu-utils \
        dnsmasq-base guestfs-tools libxml2-utils iproute2 pkg-config \
        genisoimage debootstrap e2fsprogs fdisk iputils-ping \
        man-db dpkg-dev git libcurl4-openssl-dev swtpm swtpm-tools ovmf
fi

# The schema tests validate YAML against the JSON Schema with Python's jsonschema.
python3 -c 'import jsonschema, yaml' 2>/dev/null || python3 -m pip install -q jsonschema pyyaml

# The drift example's alert rules (examples/prometheus) are checked with promtool, from Debian's prometheus package.
# Only the promtool binary is taken out of the package (dpkg-deb, not dpkg -i): installing the package would run
# its postinst, which adds a user and starts a Prometheus server. A failure here is a warning: the test then checks
# the rules without promtool and says so.
if ! command -v promtool >/dev/null 2>&1; then
    promdir=$(mktemp -d)
    chmod 755 "$promdir"
    if (cd "$promdir" && apt-get download -q prometheus >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && apt-get download -q prometheus; }) \
        && dpkg-deb --fsys-tarfile "$promdir"/prometheus_*.deb | tar -xO ./usr/bin/promtool >"$promdir/promtool" \
        && [ -s "$promdir/promtool" ]; then
        $SUDO install -m 0755 "$promdir/promtool" /usr/local/bin/promtool
    else
        echo "setup: warning: could not extract promtool from Debian's prometheus package" >&2
    fi
    rm -rf "$promdir"
fi

# `fleet inventory`'s test runs Ansible's own parser (ansible-inventory) on its output: Debian's ansible-core, without
# its recommends (about 50 s on a fresh machine). A failure here is a warning: that test then says it skipped the check.
if ! command -v ansible-inventory >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends ansible-core >/dev/null \
        || { $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends ansible-core >/dev/null; } \
        || echo "setup: warning: could not install ansible-core" >&2
fi

# KVM domains need /dev/kvm readable by the qemu user (group kvm).
if [ -e /dev/kvm ]; then
    $SUDO chown root:kvm /dev/kvm || true
    $SUDO chmod 0660 /dev/kvm || true
fi

# The namespace, with loopback up and nothing else.
if ! ip netns list 2>/dev/null | grep -qw "$NETNS"; then
    $SUDO ip netns add "$NETNS"
fi
$SUDO ip netns exec "$NETNS" ip link set lo up

$SUDO mkdir -p /var/log/libvirt /run/libvirt /var/lib/libvirt/images

running() { pgrep -x "$1" >/dev/null 2>&1; }
if running libvirtd; then
    # A daemon started outside the namespace would put test networks on the real host: refuse.
    pid=$(pgrep -xo libvirtd)
    if [ "$($SUDO readlink /proc/$pid/ns/net)" != "$($SUDO ip netns exec "$NETNS" readlink /proc/self/ns/net)" ]; then
        echo "setup: libvirtd (pid $pid) runs outside network namespace $NETNS; stop it first" >&2
        exit 1
    fi
else
    running virtlogd || $SUDO ip netns exec "$NETNS" virtlogd -d
    running virtlockd || $SUDO ip netns exec "$NETNS" virtlockd -d || true
    $SUDO ip netns exec "$NETNS" libvirtd -d
fi

# Wait for the daemon's socket.
for _ in $(seq 1 50); do
    virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.2
done
virsh -c qemu:///system version >/dev/null
echo "setup: libvirtd running in network namespace $NETNS ($(virsh -c qemu:///system version --daemon | grep -i 'running hypervisor' || true))"
