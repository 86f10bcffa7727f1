// Loads libvirt, libvirt-qemu and libguestfs with dlopen and fills the pointers trampolines.S jumps through.
// This file must not include the libraries' headers: it defines pointers, not the functions they declare.
#include "CLibraryLoader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*fleet_function)(void);

struct library_info {
    const char *name, *soname, *package, *purpose;
};

static const struct library_info libraries[] = {
    [FLEET_LIBVIRT] = {"libvirt", "libvirt.so.0", "libvirt0", "to talk to libvirt hosts"},
    [FLEET_LIBVIRT_QEMU] = {"libvirt-qemu", "libvirt-qemu.so.0", "libvirt0", "to talk to libvirt hosts"},
    [FLEET_LIBGUESTFS] = {"libguestfs", "libguestfs.so.0", "libguestfs0", "to customize images"},
};
#define LIBRARY_COUNT (sizeof libraries / sizeof libraries[0])

// What every pointer holds until its library is loaded: a call through it stops the process with a message,
// never jumps to null.
static _Noreturn void unloaded(fleet_library library) {
    fprintf(stderr, "fleet: internal error: a %s function was called before %s was loaded (fleet_library_load)\n",
            libraries[library].name, libraries[library].soname);
    abort();
}
static void unloaded_LIBVIRT(void) { unloaded(FLEET_LIBVIRT); }
static void unloaded_LIBVIRT_QEMU(void) { unloaded(FLEET_LIBVIRT_QEMU); }
static void unloaded_LIBGUESTFS(void) { unloaded(FLEET_LIBGUESTFS); }

// One pointer per function, `fleet_ptr_<name>`, read by the trampoline `<name>` in trampolines.S. Hidden: the
// trampolines reach them PC-relative, and nothing outside the binary sees them.
#define FLEET_SYMBOL(library, name) \
    __attribute__((visibility("hidden"))) fleet_function fleet_ptr_##name = unloaded_##library;
#include "symbols.h"
#undef FLEET_SYMBOL

struct entry {
    fleet_library library;
    const char *name;
    fleet_function *slot;
};

static const struct entry entries[] = {
#define FLEET_SYMBOL(library, name) {FLEET_##library, #name, &fleet_ptr_##name},
#include "symbols.h"
#undef FLEET_SYMBOL
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static void *handles[LIBRARY_COUNT];

// With `mutex` held: opens the library and resolves all of its entries before publishing any of them.
static int load(fleet_library library, char *error, size_t size) {
    const struct library_info *info = &libraries[library];
    dlerror();
    void *handle = dlopen(info->soname, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        snprintf(error, size, "fleet needs %s (%s) %s and cannot load it: %s. Install the Debian package %s (apt-get install %s).",
                 info->name, info->soname, info->purpose, why ? why : "unknown error", info->package, info->package);
        return -1;
    }
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        if (entries[i].library == library && dlsym(handle, entries[i].name) == NULL) {
            snprintf(error, size, "fleet needs %s (%s) %s, and the one installed has no %s: it is older than fleet needs. Install the current Debian package %s.",
                     info->name, info->soname, info->purpose, entries[i].name, info->package);
            return -1; // The handle stays open: unloading a library whose constructors ran is not worth the risk.
        }
    }
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        if (entries[i].library == library) *entries[i].slot = (fleet_function)dlsym(handle, entries[i].name);
    }
    handles[library] = handle;
    return 0;
}

int fleet_library_load(fleet_library library, char *error, size_t size) {
    if ((unsigned)library >= LIBRARY_COUNT) {
        snprintf(error, size, "fleet: no library number %d", (int)library);
        return -1;
    }
    pthread_mutex_lock(&mutex);
    int rc = handles[library] != NULL ? 0 : load(library, error, size);
    pthread_mutex_unlock(&mutex);
    return rc;
}

void *fleet_library_symbol(fleet_library library, const char *name) {
    if ((unsigned)library >= LIBRARY_COUNT) return NULL;
    pthread_mutex_lock(&mutex);
    void *handle = handles[library];
    pthread_mutex_unlock(&mutex);
    return handle != NULL ? dlsym(handle, name) : NULL;
}

const char *fleet_library_soname(fleet_library library) {
    return (unsigned)library < LIBRARY_COUNT ? libraries[library].soname : "";
}

const char *fleet_library_package(fleet_library library) {
    return (unsigned)library < LIBRARY_COUNT ? libraries[library].package : "";
}
