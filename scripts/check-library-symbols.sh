#!/usr/bin/env bash
# Checks Sources/CLibraryLoader/symbols.h, the list of libvirt, libvirt-qemu and libguestfs functions fleet calls
# through dlopen'ed libraries (docs/binding.md, "How libvirt is loaded"). The linker already fails on a function that
# is called but not listed ("undefined reference"); this checks the other direction and the entries themselves:
# each is a function (not data) that its library exports, each is still named in Sources/Libvirt or Sources/Guestfs,
# and each library's entries are sorted and unique. Needs the libraries installed (libvirt0, libguestfs0).
set -euo pipefail
cd "$(dirname "$0")/.."
LIST=Sources/CLibraryLoader/symbols.h
fail=0
# Path of a library by soname, from the dynamic linker's cache.
library_path() { ldconfig -p | awk -v l="$1" '$1 == l && !found { print $NF; found = 1 }'; }  # no early exit: ldconfig would die of SIGPIPE (pipefail)
check() { # LIBRARY-macro-name soname source-dir
    local macro=$1 soname=$2 dir=$3 path entries exported
    path=$(library_path "$soname")
    if [ -z "$path" ]; then echo "check-library-symbols: $soname is not installed" >&2; fail=1; return; fi
    entries=$(sed -n "s/^FLEET_SYMBOL($macro, \([A-Za-z0-9_]*\))\$/\1/p" "$LIST")
    if [ "$entries" != "$(LC_ALL=C sort -u <<<"$entries")" ]; then
        echo "check-library-symbols: $LIST: the $macro entries are not sorted and unique" >&2
        fail=1
    fi
    # Exported functions (type T, or i for an indirect function), without their version suffix.
    exported=$(nm -D --defined-only "$path" | awk '$2 == "T" || $2 == "i" { sub(/@.*/, "", $3); print $3 }' | LC_ALL=C sort -u)
    for name in $entries; do
        if ! grep -qx "$name" <<<"$exported"; then
            echo "check-library-symbols: $LIST: $name is not a function $soname exports" >&2
            fail=1
        fi
        if ! grep -rqw --include='*.swift' "$name" "$dir"; then
            echo "check-library-symbols: $LIST: $name is not named in $dir any more; remove it" >&2
            fail=1
        fi
    done
}
check LIBVIRT libvirt.so.0 Sources/Libvirt
check LIBVIRT_QEMU libvirt-qemu.so.0 Sources/Libvirt
check LIBGUESTFS libguestfs.so.0 Sources/Guestfs
# Every line is a comment or an entry: a mistyped macro would otherwise be skipped by the checks above.
if grep -vE '^(/\*| \*|FLEET_SYMBOL\((LIBVIRT|LIBVIRT_QEMU|LIBGUESTFS), [A-Za-z0-9_]+\)$)' "$LIST" >&2; then
    echo "check-library-symbols: $LIST: the lines above are neither comments nor FLEET_SYMBOL(LIBRARY, name)" >&2
    fail=1
fi
exit $fail
