#ifndef FLEET_CLIBVIRTQEMU_SHIM_H
#define FLEET_CLIBVIRTQEMU_SHIM_H
#include <libvirt/libvirt-qemu.h>
#endif
