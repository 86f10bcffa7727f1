#!/usr/bin/env bash
# A private libvirtd for the fault tests, which kill -9 it in the middle of an apply: killing the shared
# test daemon (scripts/setup.sh) would break every other test running at the same time.
#
#   faultd.sh up      start it (own network, mount and UTS namespaces; like ../shared/twohost)
#   faultd.sh kill    SIGKILL its libvirtd (only that pid, from its pid file)
#   faultd.sh start   start libvirtd again inside the same namespaces (its virtlogd keeps them alive)
#   faultd.sh down    stop everything `up` started and remove /var/tmp/fleet-faultd
# The daemons get /dev/null for stdio: one that inherits a caller's pipe keeps it open, and a caller reading
# the pipe to its end (a test's shell helper) then waits forever.
#
# URI: qemu+unix:///system?socket=/var/tmp/fleet-faultd/run/libvirt-sock
# The daemon sees private tmpfs over /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt and its own /etc/libvirt, so it shares no state with the machine's daemon.
set -euo pipefail
ROOT=/var/tmp/fleet-faultd
NETNS=fleet-faultd
die() { echo "faultd.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

# Running, and not a zombie: a killed daemon is reparented to a PID 1 that may never reap it.
alive() {
    [ -s "$1" ] || return 1
    local state
    state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

wait_socket() {
    for _ in $(seq 1 150); do
        virsh -q -c "qemu+unix:///system?socket=$ROOT/run/libvirt-sock" version >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "no answer on $ROOT/run/libvirt-sock (see $ROOT/libvirtd.log)"
}

case "${1:-}" in
up)
    alive "$ROOT/libvirtd.pid" && die "already running (pid $(cat "$ROOT/libvirtd.pid")); run down first"
    ip netns list | grep -qw "$NETNS" && ip netns delete "$NETNS"
    rm -rf "$ROOT"
    mkdir -p "$ROOT/run" "$ROOT/etc/qemu/networks/autostart" "$ROOT/etc/storage/autostart" "$ROOT/etc/hooks" \
             "$ROOT/etc/secrets" "$ROOT/etc/nwfilter" "$ROOT/images"
    : > "$ROOT/etc/libvirt.conf"
    : > "$ROOT/etc/virtlogd.conf"
    cat > "$ROOT/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$ROOT/run"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$ROOT/libvirtd.log"
CONF
    cat > "$ROOT/etc/qemu.conf" <<'CONF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
CONF
    cat > "$ROOT/inner.sh" <<INNER
#!/bin/sh
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=0755 fleet-faultd-run /run/libvirt
mount -t tmpfs -o mode=0755 fleet-faultd-lib /var/lib/libvirt
mount -t tmpfs -o mode=0700 fleet-faultd-log /var/log/libvirt
mount -t tmpfs -o mode=0711 fleet-faultd-cache /var/cache/libvirt
mount --bind $ROOT/etc /etc/libvirt
hostname fleet-faultd
virtlogd -d -p $ROOT/virtlogd.pid </dev/null >/dev/null 2>&1
libvirtd -d -p $ROOT/libvirtd.pid -f $ROOT/etc/libvirtd.conf </dev/null >/dev/null 2>&1
INNER
    ip netns add "$NETNS"
    ip -n "$NETNS" link set lo up
    nsenter --net=/run/netns/$NETNS unshare --mount --uts --propagation private --fork /bin/sh "$ROOT/inner.sh"
    wait_socket
    echo "faultd: qemu+unix:///system?socket=$ROOT/run/libvirt-sock (libvirtd pid $(cat "$ROOT/libvirtd.pid"))"
    ;;
kill)
    alive "$ROOT/libvirtd.pid" || die "libvirtd is not running"
    kill -9 "$(cat "$ROOT/libvirtd.pid")"
    ;;
start)
    alive "$ROOT/virtlogd.pid" || die "its namespaces are gone (virtlogd not running); run up"
    alive "$ROOT/libvirtd.pid" && die "libvirtd already running"
    rm -f "$ROOT/libvirtd.pid"
    # A daemon killed while starting a network leaves that network's bridge behind with no status file: the
    # network is inactive on restart, and starting it fails with "error creating bridge interface virbr0: File
    # exists" (libvirt does not clean up after its own crash). Remove what an operator would: bridges in this
    # private namespace that no active network's status file claims.
    nsenter --target "$(cat "$ROOT/virtlogd.pid")" --mount --net sh -c '
        for br in $(ip -o link show type bridge | awk -F": " "{print \$2}" | cut -d@ -f1); do
            grep -qs "name=.$br." /run/libvirt/network/*.xml && continue
            echo "faultd: removing bridge $br left by the killed daemon" >&2
            ip link del "$br"
        done'
    # The same crash leaves that network's dnsmasq running (it is daemonized): starting the network again fails
    # with "dnsmasq: failed to create listening socket for …: Address already in use". Stop the dnsmasq processes
    # of this namespace whose network has no status file (only this namespace's: the machine's daemon runs its
    # own dnsmasq processes with the same conf-file paths).
    ns=$(readlink "/proc/$(cat "$ROOT/virtlogd.pid")/ns/net")
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$ns" ] || continue
        cmd=$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
        net=$(printf '%s' "$cmd" | sed -n 's|^[^ ]*dnsmasq .*--conf-file=/var/lib/libvirt/dnsmasq/\([^ ]*\)\.conf.*|\1|p')
        [ -n "$net" ] || continue
        nsenter --target "$(cat "$ROOT/virtlogd.pid")" --mount test -e "/run/libvirt/network/$net.xml" && continue
        echo "faultd: stopping dnsmasq of network $net left by the killed daemon" >&2
        kill "${d#/proc/}" 2>/dev/null || true
    done
    nsenter --target "$(cat "$ROOT/virtlogd.pid")" --mount --uts --net \
        libvirtd -d -p "$ROOT/libvirtd.pid" -f "$ROOT/etc/libvirtd.conf" </dev/null >/dev/null 2>&1
    wait_socket
    ;;
down)
    # The networks' dnsmasq processes are daemonized and would outlive the namespace: stop them first.
    if alive "$ROOT/virtlogd.pid"; then
        ns=$(readlink "/proc/$(cat "$ROOT/virtlogd.pid")/ns/net")
        for d in /proc/[0-9]*; do
            [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$ns" ] || continue
            case "$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null)" in
            *dnsmasq\ *--conf-file=/var/lib/libvirt/dnsmasq/*) kill "${d#/proc/}" 2>/dev/null || true ;;
            esac
        done
    fi
    for p in libvirtd virtlogd; do
        if alive "$ROOT/$p.pid"; then kill "$(cat "$ROOT/$p.pid")" 2>/dev/null || true; fi
    done
    sleep 0.5
    for p in libvirtd virtlogd; do
        if alive "$ROOT/$p.pid"; then kill -9 "$(cat "$ROOT/$p.pid")" 2>/dev/null || true; fi
    done
    ip netns list | grep -qw "$NETNS" && ip netns delete "$NETNS"
    rm -rf "$ROOT"
    ;;
*) die "usage: faultd.sh up|kill|start|down" ;;
esac
