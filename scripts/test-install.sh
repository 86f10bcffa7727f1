#!/usr/bin/env bash
# fleet installed the two ways a user installs it, then used (scripts/test.sh runs this, so CI does):
#  1. scripts/install.sh into a temporary prefix: `fleet --version` names this checkout's commit, the bash, zsh
#     and fish completions and the man page are in place (the page renders with `man -l`), and the installed
#     binary plans examples/quickstart against libvirt's test driver.
#  2. scripts/package-deb.sh, and the .deb installed with `apt-get install --no-install-recommends ./fleet.deb`
#     into a minimal Debian 12 (debootstrap --variant=minbase: no libvirt, no libguestfs), where `fleet --version`, `fleet validate` (copies of
#     examples/quickstart and examples/lab) and `fleet schema` work and `fleet plan` fails naming libvirt0.
# The Debian root is cached as a tarball in /var/tmp/fleet-chroot-cache; on a fresh machine debootstrap
# downloads it while the release build runs.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
repo=$(pwd)
CACHE=${FLEET_CHROOT_CACHE:-/var/tmp/fleet-chroot-cache}
TARBALL=$CACHE/bookworm-minbase.tar
MIRROR=${FLEET_DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "test-install: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

work=$(mktemp -d /var/tmp/fleet-test-install.XXXXXX)
chroot_dir=$work/chroot
boot_pid=""
cleanup() {
    set +e # every step, whatever fails
    # The background debootstrap (its own process group), then whatever is still mounted below $work.
    if [ -n "$boot_pid" ]; then $SUDO kill -- "-$boot_pid" 2>/dev/null || true; wait "$boot_pid" 2>/dev/null || true; fi
    findmnt -rn -o TARGET | { grep "^$work/" || true; } | sort -r | while read -r m; do $SUDO umount -l "$m" || true; done
    $SUDO rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# The Debian root, in the background: network-bound, while the release build below is CPU-bound.
if [ ! -f "$TARBALL" ]; then
    say "no cached Debian 12 root: debootstrap --variant=minbase bookworm (log: $work/debootstrap.log)"
    set -m
    (
        $SUDO debootstrap --variant=minbase bookworm "$work/bootstrap" "$MIRROR" >"$work/debootstrap.log" 2>&1
        $SUDO mkdir -p "$CACHE"
        $SUDO tar -C "$work/bootstrap" --numeric-owner -cpf "$TARBALL.tmp" .
        $SUDO mv "$TARBALL.tmp" "$TARBALL"
        $SUDO rm -rf --one-file-system "$work/bootstrap"
    ) &
    boot_pid=$!
    set +m
fi

# 1. install.sh into a temporary prefix.
prefix=$work/prefix
bash scripts/install.sh "$prefix"
F=$prefix/bin/fleet
commit=$(git rev-parse --short HEAD)
dirty=""
[ -z "$(git status --porcelain)" ] || dirty="+dirty"
version=$("$F" --version)
[[ $version =~ ^fleet\ [0-9]+\.[0-9]+\.[0-9]+\ \((.*)\)$ ]] && [ "${BASH_REMATCH[1]}" = "$commit$dirty" ] ||
    fail "installed fleet --version says '$version', this checkout is $commit$dirty"
say "installed: $version"
bash_c=$prefix/share/bash-completion/completions/fleet
zsh_c=$prefix/share/zsh/site-functions/_fleet
fish_c=$prefix/share/fish/vendor_completions.d/fleet.fish
[ -s "$bash_c" ] && bash -n "$bash_c" || fail "no bash completion at $bash_c, or not valid bash"
head -1 "$zsh_c" | grep -qx '#compdef fleet' || fail "no zsh completion (#compdef fleet) at $zsh_c"
grep -q "^complete -c 'fleet'" "$fish_c" || fail "no fish completion at $fish_c"
for c in "$bash_c" "$zsh_c" "$fish_c"; do
    grep -q 'validate' "$c" || fail "$c does not complete the validate subcommand"
done
# The man page: it renders without a complaint from groff, with every subcommand.
MANWIDTH=100 man -l "$prefix/share/man/man1/fleet.1" >"$work/man.txt" 2>"$work/man.err" || fail "man -l failed: $(cat "$work/man.err")"
[ ! -s "$work/man.err" ] || fail "man -l complained: $(cat "$work/man.err")"
grep -q '^ *fleet — ' "$work/man.txt" || fail "the man page has no NAME line for fleet"
for sub in validate plan apply destroy unlock drift show export schema; do
    grep -Eq "^ +$sub( |$)" "$work/man.txt" || fail "the man page does not describe 'fleet $sub'"
done
# The installed binary plans the quickstart against the test driver (a real libvirt connection, no daemon).
"$F" plan examples/quickstart --connect test:///default >"$work/plan.txt" || fail "installed fleet plan failed"
grep -q 'vm/qs-vm-1' "$work/plan.txt" || fail "the plan does not create vm/qs-vm-1: $(cat "$work/plan.txt")"
say "install.sh: binary, completions, man page and a plan against test:///default all good"

# 2. The Debian package.
deb=$(bash scripts/package-deb.sh)
say "built $deb: $(dpkg-deb -f "$deb" Package Version | paste -sd' ')"
dpkg-deb -f "$deb" Depends Recommends Suggests >&2
listing=$(dpkg-deb -c "$deb")
for f in ./usr/bin/fleet ./usr/share/man/man1/fleet.1.gz ./usr/share/bash-completion/completions/fleet \
    ./usr/share/zsh/vendor-completions/_fleet ./usr/share/fish/vendor_completions.d/fleet.fish \
    ./usr/share/doc/fleet/copyright; do
    grep -q " $f\$" <<<"$listing" || fail "$deb lacks $f"
done

if [ -n "$boot_pid" ]; then
    say "waiting for debootstrap"
    wait "$boot_pid" || fail "debootstrap failed: $(tail -5 "$work/debootstrap.log")"
    boot_pid=""
fi
$SUDO mkdir "$chroot_dir"
$SUDO tar -C "$chroot_dir" --numeric-owner -xpf "$TARBALL"
$SUDO mount -t proc proc "$chroot_dir/proc"
in_chroot() { $SUDO chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
in_chroot sh -c '! dpkg -s libvirt0 >/dev/null 2>&1 && ! dpkg -s libguestfs0 >/dev/null 2>&1' ||
    fail "the Debian root has libvirt0 or libguestfs0 installed"
$SUDO cp "$deb" "$chroot_dir/tmp/fleet.deb"
$SUDO mkdir "$chroot_dir/tmp/examples"
$SUDO cp -r examples/quickstart examples/lab "$chroot_dir/tmp/examples/"

# Until fleet loads libvirt and libguestfs only when a command needs them, the binary links them at load time:
# dpkg-shlibdeps then makes them Depends, so the package would drag libvirt and libguestfs (with QEMU) in, and
# without them (like a bare CI runner) fleet cannot even start. That is what this check reports.
if dpkg-deb -f "$deb" Depends | grep -Eq '(^|[ ,|])(libvirt0|libguestfs0)( |,|$)'; then
    fail "fleet links libvirt/libguestfs at load time (Depends: $(dpkg-deb -f "$deb" Depends)), so it cannot even start on a machine without them; validate and schema must"
fi
# As a user would (apt install ./fleet.deb): apt fetches what Depends names that minbase lacks (libcurl4) and,
# with --no-install-recommends, not libvirt0 or libguestfs0.
$SUDO cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
in_chroot apt-get -q update >"$work/apt.log" 2>&1 || fail "apt-get update failed in the Debian 12 root: $(tail -5 "$work/apt.log")"
in_chroot env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends /tmp/fleet.deb >>"$work/apt.log" 2>&1 ||
    fail "installing fleet.deb (apt-get install) failed in the Debian 12 root: $(tail -5 "$work/apt.log")"
say "apt installed: $(sed -n 's/^Setting up \([^ :]*\).*/\1/p' "$work/apt.log" | paste -sd' ')"
in_chroot dpkg -s fleet | grep -qx 'Status: install ok installed' || fail "fleet is not installed in the Debian 12 root"
in_chroot sh -c '! dpkg -s libvirt0 >/dev/null 2>&1 && ! dpkg -s libguestfs0 >/dev/null 2>&1' ||
    fail "installing fleet.deb brought libvirt0 or libguestfs0 into the Debian 12 root"
v=$(in_chroot fleet --version) || fail "fleet --version failed in the Debian 12 root"
[ "$v" = "$version" ] || fail "the packaged fleet says '$v', the installed one '$version'"
for ex in quickstart lab; do
    in_chroot fleet validate "/tmp/examples/$ex" || fail "fleet validate examples/$ex failed without libvirt"
done
in_chroot fleet schema >"$work/schema.json" || fail "fleet schema failed without libvirt"
cmp -s "$work/schema.json" schemas/fleet.schema.json || fail "fleet schema in the Debian root differs from schemas/fleet.schema.json"
set +e
in_chroot fleet plan /tmp/examples/quickstart >"$work/plan.out" 2>"$work/plan.err"
status=$?
set -e
[ "$status" = 1 ] || fail "fleet plan without libvirt exited $status, not 1: $(cat "$work/plan.err")"
grep -q 'libvirt0' "$work/plan.err" || fail "fleet plan without libvirt does not name libvirt0: $(cat "$work/plan.err")"
say "the .deb installs into a bare Debian 12; validate and schema run without libvirt; plan says: $(head -1 "$work/plan.err")"
say "all good"
