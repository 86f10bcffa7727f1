#!/usr/bin/env bash
# N independent libvirtd "hosts" on one machine for the scale benchmark (`fleet-bench scale`): each daemon has
# its own socket, state and config (private tmpfs over /run/libvirt, /var/lib/libvirt, /var/log/libvirt,
# /var/cache/libvirt, its own /etc/libvirt), and all of them live in one network namespace of their own. Only
# their test drivers are used (test+unix:///default?socket=…), so no guest ever starts.
#
#   scalehosts.sh up N     start N daemons (hosts 1..N); prints one URI per line
#   scalehosts.sh uris     print the URIs of the daemons running
#   scalehosts.sh down     stop them and remove /var/tmp/fleet-scalehosts
set -euo pipefail
ROOT=/var/tmp/fleet-scalehosts
NETNS=fleet-scale
die() { echo "scalehosts.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

alive() {
    [ -s "$1" ] || return 1
    local state
    state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "${state:0:1}" != Z ]
}
uri() { echo "test+unix:///default?socket=$ROOT/h$1/run/libvirt-sock"; }

case "${1:-}" in
up)
    n=${2:?usage: scalehosts.sh up N}
    [ -d "$ROOT" ] && die "$ROOT exists; run down first"
    ip netns list | grep -qw "$NETNS" && ip netns delete "$NETNS"
    ip netns add "$NETNS"
    ip -n "$NETNS" link set lo up
    for i in $(seq 1 "$n"); do
        D=$ROOT/h$i
        mkdir -p "$D/run" "$D/etc/qemu/networks/autostart" "$D/etc/storage/autostart" "$D/etc/hooks" "$D/etc/secrets" "$D/etc/nwfilter"
        : > "$D/etc/libvirt.conf"
        : > "$D/etc/virtlogd.conf"
        cat > "$D/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$D/run"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$D/libvirtd.log"
CONF
        cat > "$D/inner.sh" <<INNER
#!/bin/sh
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=0755 fleet-scale-run /run/libvirt
mount -t tmpfs -o mode=0755 fleet-scale-lib /var/lib/libvirt
mount -t tmpfs -o mode=0700 fleet-scale-log /var/log/libvirt
mount -t tmpfs -o mode=0711 fleet-scale-cache /var/cache/libvirt
mount --bind $D/etc /etc/libvirt
exec libvirtd -d -p $D/libvirtd.pid -f $D/etc/libvirtd.conf </dev/null >/dev/null 2>&1
INNER
        nsenter --net=/run/netns/$NETNS unshare --mount --propagation private --fork /bin/sh "$D/inner.sh"
    done
    for i in $(seq 1 "$n"); do
        ok=
        for _ in $(seq 1 300); do
            if virsh -q -c "$(uri "$i")" version >/dev/null 2>&1; then ok=1; break; fi
            sleep 0.2
        done
        [ -n "$ok" ] || die "host $i: no answer on $ROOT/h$i/run/libvirt-sock (see $ROOT/h$i/libvirtd.log)"
        uri "$i"
    done
    ;;
uris)
    for d in "$ROOT"/h*; do
        [ -d "$d" ] || continue
        alive "$d/libvirtd.pid" && uri "${d##*/h}"
    done | sort -t h -k 3 -n
    ;;
down)
    for pf in "$ROOT"/h*/libvirtd.pid; do
        [ -e "$pf" ] || continue
        if alive "$pf"; then kill "$(cat "$pf")" 2>/dev/null || true; fi
    done
    sleep 0.5
    for pf in "$ROOT"/h*/libvirtd.pid; do
        [ -e "$pf" ] || continue
        if alive "$pf"; then kill -9 "$(cat "$pf")" 2>/dev/null || true; fi
    done
    ip netns list | grep -qw "$NETNS" && ip netns delete "$NETNS"
    rm -rf "$ROOT"
    ;;
*) die "usage: scalehosts.sh up N | uris | down" ;;
esac
