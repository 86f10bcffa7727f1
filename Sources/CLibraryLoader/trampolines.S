// Each function in symbols.h, defined as a jump through its pointer `fleet_ptr_<name>` (loader.c), which holds the
// library's function once fleet_library_load has run and an abort with a message before. A jump, not a call:
// arguments, return value and stack are the caller's, so one trampoline fits any C signature (variadic included).
// Hidden: the binary does not export these names, so libraries loaded later never bind to them instead of their own.
#if defined(__x86_64__)
#define FLEET_SYMBOL(library, name)                                                                                   \
    .globl name; .hidden name; .type name, @function; .p2align 4;                                                      \
    name: jmp *fleet_ptr_##name(%rip); .size name, . - name;
#elif defined(__aarch64__)
#define FLEET_SYMBOL(library, name)                                                                                   \
    .globl name; .hidden name; .type name, %function; .p2align 4;                                                      \
    name: adrp x16, fleet_ptr_##name; ldr x16, [x16, :lo12:fleet_ptr_##name]; br x16; .size name, . - name;
#else
#error "trampolines.S: only x86_64 and aarch64 are supported; add this architecture's indirect jump"
#endif

    .text
#include "symbols.h"

    .section .note.GNU-stack, "", %progbits
