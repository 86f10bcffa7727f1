#ifndef FLEET_CCRYPT_SHIM_H
#define FLEET_CCRYPT_SHIM_H
#include <crypt.h>
#endif
