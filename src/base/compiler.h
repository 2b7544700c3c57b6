// Attributes every layer uses.
#pragma once

// The fast paths must fold into the entry points: a call and its prologue cost a fifth of them.
#define FT_INLINE inline __attribute__((always_inline))

// For the big zero-filled tables (the registry's root, the owners by id, the environment's copy):
// x86-64's large-data section, which the linker places after .bss, so that the small globals
// touched by every program share a page or two instead of sitting between tables (the 42
// page-reclaim scale counts each page a program touches). Elsewhere, plain .bss.
#if defined(__x86_64__) && defined(__ELF__)
#define FT_BIG_TABLE __attribute__((section(".lbss")))
#else
#define FT_BIG_TABLE
#endif
