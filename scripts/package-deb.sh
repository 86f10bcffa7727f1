#!/usr/bin/env bash
# Builds dist/fleet_<version>_<arch>.deb from this tree: scripts/install.sh with DESTDIR into a staging root
# under /usr, then dpkg-deb. The version is the built binary's (`fleet --version`, whose number lives in
# Sources/FleetCLI/Version.swift). Depends: is computed from the binary by dpkg-shlibdeps (every library it
# needs at load time, and the package that ships it), never written by hand. libvirt and libguestfs are
# Recommends: fleet loads them only for the commands that need them (plan, apply, …), while validate and schema
# run without; while the binary still links them at load time, dpkg-shlibdeps puts them in Depends instead.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || { echo "package-deb.sh: $tool not found (apt-get install dpkg-dev)" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
DESTDIR=$root bash scripts/install.sh /usr

version=$("$root/usr/bin/fleet" --version | awk '{print $2}')
[[ $version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || { echo "package-deb.sh: bad version '$version' from fleet --version" >&2; exit 1; }
arch=$(dpkg --print-architecture)

# Debian's layout: zsh looks in vendor-completions (site-functions is for /usr/local), man pages are gzipped,
# and the licence goes in /usr/share/doc/fleet/copyright.
mkdir -p "$root/usr/share/zsh/vendor-completions"
mv "$root/usr/share/zsh/site-functions/_fleet" "$root/usr/share/zsh/vendor-completions/_fleet"
rmdir "$root/usr/share/zsh/site-functions"
gzip -9n "$root/usr/share/man/man1/fleet.1"
install -D -m 0644 LICENSE "$root/usr/share/doc/fleet/copyright"

# dpkg-shlibdeps wants a debian/control beside it; it only reads the source stanza's name.
mkdir -p "$stage/debian"
printf 'Source: fleet\n\nPackage: fleet\nArchitecture: any\n' >"$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O -e root/usr/bin/fleet | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "package-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
# What fleet loads on demand, unless the binary links it anyway (then it is already a Depends).
recommends=""
for pkg in libvirt0 libguestfs0; do
    grep -Eq "(^|[ ,|])$pkg( |,|$)" <<<"$depends" || recommends+=${recommends:+, }$pkg
done

mkdir -p "$root/DEBIAN"
{
    echo "Package: fleet"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: fleet developers <fleet@invalid>"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    echo "Section: admin"
    echo "Priority: optional"
    echo "Depends: $depends"
    [ -z "$recommends" ] || echo "Recommends: $recommends"
    echo "Suggests: libvirt-daemon-system, qemu-system-x86, qemu-utils"
    echo "Description: declarative provisioning for KVM/libvirt fleets"
    echo " fleet keeps hosts, networks, storage pools, images and VMs in YAML manifests,"
    echo " diffs them against the live libvirt state of each host and applies the"
    echo " difference through the libvirt C API. validate and schema need neither libvirt"
    echo " nor libguestfs; plan, apply and the other commands that talk to a host load"
    echo " libvirt (libvirt0), and image customization libguestfs (libguestfs0)."
} >"$root/DEBIAN/control"

mkdir -p dist
deb=dist/fleet_${version}_${arch}.deb
# gzip, not the default xz: seconds instead of minutes for the ~66 MB binary on a 2-core machine.
dpkg-deb --build --root-owner-group -Zgzip "$root" "$deb" >&2
echo "$deb"
