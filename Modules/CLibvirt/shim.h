#ifndef FLEET_CLIBVIRT_SHIM_H
#define FLEET_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
