#ifndef FLEET_CLIBRARYLOADER_H
#define FLEET_CLIBRARYLOADER_H

#include <stddef.h>

/* The shared libraries fleet loads with dlopen when a command first needs them, instead of linking them at load
 * time: `fleet validate`, `fleet schema` and `--help` then run on a machine that has none of them. */
typedef enum {
    FLEET_LIBVIRT = 0,      /* libvirt.so.0, Debian package libvirt0 */
    FLEET_LIBVIRT_QEMU = 1, /* libvirt-qemu.so.0, also in libvirt0 */
    FLEET_LIBGUESTFS = 2    /* libguestfs.so.0, Debian package libguestfs0 */
} fleet_library;

/* Loads `library` and points each of its functions listed in symbols.h at the loaded code; once that succeeded,
 * later calls return 0 at once (after a failure, the next call tries again). Returns 0, or -1 with a message for the user in `error` (at most `size` bytes):
 * what could not be loaded, why (dlerror) and which Debian package to install. Thread-safe. Until it succeeds,
 * calling one of the library's functions aborts the process with a message naming the library. */
int fleet_library_load(fleet_library library, char *error, size_t size);

/* The address of `name` (a data symbol such as virConnectAuthPtrDefault) in `library`, loaded before;
 * NULL when it is not loaded or has no such symbol. */
void *fleet_library_symbol(fleet_library library, const char *name);

/* The file name dlopen is given ("libvirt.so.0") and the Debian package that installs it ("libvirt0"). */
const char *fleet_library_soname(fleet_library library);
const char *fleet_library_package(fleet_library library);

#endif
