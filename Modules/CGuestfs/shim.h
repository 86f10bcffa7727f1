#ifndef FLEET_CGUESTFS_SHIM_H
#define FLEET_CGUESTFS_SHIM_H
#include <guestfs.h>
#endif
