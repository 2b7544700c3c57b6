// Attributes every layer uses.
#pragma once

// The fast paths must fold into the entry points: a call and its prologue cost a fifth of them.
#define FT_INLINE inline __attribute__((always_inline))
// The same for a lambda a fast path hands its fallback in (written after its `()`).
#define FT_INLINE_LAMBDA __attribute__((always_inline))

// For the big zero-filled tables (the registry's root, the owners by id, the environment's copy):
// x86-64's large-data section, which the linker places after .bss, so that the small globals
// touched by every program share a page or two instead of sitting between tables (the 42
// page-reclaim scale counts each page a program touches). Elsewhere, plain .bss.
#if defined(__x86_64__) && defined(__ELF__)
#define FT_BIG_TABLE __attribute__((section(".lbss")))
#else
#define FT_BIG_TABLE
#endif

// Code that programs run: the routes of malloc and free and their slow paths, refills, zones
// and LARGE blocks changing hands, start-up, thread exit, fork, the exit reports' checks. The
// preloaded library's link (src/api/hot_text.ld) puts it ahead of the rest of the text, and
// start-up makes the rest a mapping apart (os/fault_around.h), so that the kernel's 64 KiB
// fault-around windows map the code a program runs and not the reports, debug modes and
// statistics beside it. A static link groups it with the program's hot text.
// FT_CORE_TEXT, the part of it every program runs: start-up, exit, and malloc, calloc and free
// in one thread, through refills, flushes and zones mapped and given back. Linked first, a
// mapping of its own: a program that runs nothing else maps 5 pages of our code, not 11. Its
// section's name begins as FT_HOT_TEXT's, so that a static link groups it with the hot text too.
#define FT_HOT_TEXT __attribute__((section(".text.hot.ft_malloc")))
#define FT_CORE_TEXT __attribute__((section(".text.hot.core.ft_malloc")))
