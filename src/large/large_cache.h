// The cache of freed LARGE mappings. A freed LARGE block's mapping waits here, its pages still
// resident, for a later LARGE request it fits: a loop of big mallocs and frees then costs no
// system call and no page fault, as glibc's heap reuses its top. Every *live* block still has a
// mapping of its own; a cached mapping is no block (show_alloc_mem and the table never see it).
//
// Bounds, so that freed memory goes back:
// - at most kSlots mappings and max(32 MiB, live LARGE bytes / 8) bytes (kMinBytes, kLiveShare);
// - a mapping unused for kIdleMs goes back, checked on the slow paths (expire_if_due);
// - malloc_trim() empties it; FT_MALLOC_LARGE_CACHE=0 turns it off.
// Everything here runs under the heap lock but expire_if_due(); the unmapping is handed back in
// an Unmaps for after the lock.
#pragma once
#include <cstddef>
#include <cstdint>

#include "large/deferred_unmap.h"
#include "large/large_table.h"

namespace ft::large::cache {

inline constexpr unsigned kSlots = 32;                // a scan of 32 entries stays O(1), and
                                                      // covers a program's few LARGE size classes
inline constexpr size_t kMinBytes = size_t{32} << 20;  // glibc's heap keeps as much: its mmap
                                                      // threshold rises up to 32 MiB
inline constexpr unsigned kLiveShare = 8;             // 1/8 of the live LARGE bytes beyond that
inline constexpr uint64_t kIdleMs = 1000;             // "about a second" unused: back to the system

// A cached mapping, and the block it held last (for double-free reports).
struct Mapping {
  uintptr_t base;
  size_t len;
  uintptr_t last_user;
  size_t last_size;
  uint64_t used_ms;
};

// What a taken mapping is to its taker: pages, no longer the cache's.
struct Taken {
  uintptr_t base;
  size_t len;
};

// A mapping of exactly len bytes or a little more (at most a quarter), its start aligned to
// `align` (exact len when `exact`, as a guard page must stay at the block's end). False: none.
bool take(size_t len, size_t align, bool exact, Taken *out);
// Any mapping, for the caller to resize to len (mremap or a trimmed tail): the smallest at least
// len long, else the largest. False when the cache is empty.
bool take_to_resize(size_t len, Taken *out);
void note_miss();

// The freed block's mapping (base, map_len) is kept (true), its user and size remembered, or put
// in `gone` (too big for the bound, cache off); older mappings it pushes out of the bounds join it
// there. The bound follows the live LARGE bytes (large_table.h mapped_bytes) left.
bool keep(const LargeBlock &freed, Unmaps *gone);
// Whether `user` is the pointer of the last block of a cached mapping: a second free of it.
bool holds_freed(uintptr_t user, size_t *size);
// malloc_trim(): every mapping into `gone`. False when there was none.
bool empty(Unmaps *gone);
// Without the lock: gives back the mappings unused for kIdleMs, if any (takes the lock then).
void expire_if_due();

struct Stats {
  uint64_t mappings, bytes;       // what it holds now
  uint64_t hits, resized, misses;  // LARGE requests served from it (resized: with a system call)
  uint64_t returned;               // mappings it gave back (idle, pushed out, trimmed)
};
Stats stats();

}  // namespace ft::large::cache
