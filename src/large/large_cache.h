// The cache of freed LARGE mappings. A freed LARGE block's mapping waits here, its pages still
// resident, for a later LARGE request it fits: a loop of big mallocs and frees then costs no
// system call and no page fault, as glibc's heap reuses its top. Every *live* block still has a
// mapping of its own; a cached mapping is no block (show_alloc_mem and free never see it).
//
// A cached mapping stays in the LARGE table, marked cached (large_table.h): this cache is the
// list of them, in the order they were freed, with the bounds and the clock.
//
// Bounds, so that freed memory goes back:
// - at most kSlots mappings and max(32 MiB, live LARGE bytes / 4) bytes (kMinBytes, kLiveShare);
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
inline constexpr unsigned kLiveShare = 4;             // 1/4 of the live LARGE bytes beyond that:
                                                      // mimalloc-bench's malloc-large (5-25 MiB
                                                      // blocks, 20 live) faulted 351,000 pages
                                                      // with 1/8 (glibc 222,000; peak RSS 0.88x
                                                      // glibc's), 269,000 with 1/4 (0.97x), and
                                                      // 216,000 with 1/2 (but 1.12x)
inline constexpr uint64_t kIdleMs = 1000;             // "about a second" unused: back to the system

// A cached mapping: its entry in the LARGE table (marked cached there), by key and last place.
struct Mapping {
  uintptr_t key;  // the entry's key: the pointer of the block it held last, or its start
  uintptr_t base;
  size_t len;
  uint64_t used_ms;
  LargeBlock *entry;  // where the entry was when it was cached, at the table's moves() of:
  uint64_t moves;
};

// The entry of a mapping of exactly len bytes or a little more (at most a quarter), its start
// aligned to `align` (exact len when `exact`, as a guard page must stay at the block's end),
// out of the cache and still marked cached in the table, for the caller to unpark or erase.
// nullptr: none.
LargeBlock *take(size_t len, size_t align, bool exact);
// The mapping freed last, if it is len bytes long, its start aligned to `align`, and its entry
// keyed by its start (its block was placed there): its entry, as take(). LARGE malloc's common
// case, a loop of one size. nullptr: not that one.
LargeBlock *take_last(size_t len, size_t align);
// The shortest mapping's entry (as take) at least len long, for the caller to split (the block
// at its start, the tail kept); nullptr: none.
LargeBlock *take_to_split(size_t len);

// Gathering: a request that no cached mapping covers alone gets the pages of several, moved side
// by side into its new mapping (large_block.cpp gather) with mremap. Whether a moved page then
// costs less than a fresh one depends on the page tables: on this machine (a virtual one) the
// first touch of a fresh page costs 10-12 us, of a page moved with its whole page-table page
// (start and destination a multiple of the span one maps apart, 2 MiB) 0.3 us, of a page
// moved alone 4.5 us. So only mappings of whole spans, starting on one, are moved, to places a
// whole number of spans into the new mapping (LARGE mappings of a span or more are made of
// whole spans, large_block.cpp). mimalloc-bench's malloc-large (5-25 MiB blocks, 20 live)
// mostly found no mapping long enough and grew the longest: 1,030,000 page faults (glibc
// 510,000), and 2.5 million pages moved alone. The bounds keep the program's kernel areas in
// check: mremap moves a range of several areas (Linux 6.17 on) but cannot grow it, and a process
// may have 65,530.
inline constexpr unsigned kMaxPieces = 4;       // mappings moved into one
inline constexpr unsigned kLeastCover = 4;      // the pieces cover at least a quarter of it
inline constexpr size_t kMaxExtraParts = 1024;  // areas added to the program's, all mappings
struct Piece {
  uintptr_t base;
  size_t len;
};
// Mappings of whole spans (a power of two), or a tail of one, whose pages together cover as
// much of len bytes (whole spans) as kMaxPieces can, the longest first: out of the cache and the
// table (a block freed last in one is remembered freed) or, the last one covering more than is
// left, shortened in the cache to its front. Returns how many, in out[], and the areas the new
// mapping may span with its fresh rest in *parts; 0, nothing taken: none, they would cover less
// than 1 / kLeastCover of len, or the bound.
unsigned take_pieces(size_t len, size_t span, Piece *out, unsigned *parts);
void note_miss();
// Whether any mapping waits in the cache.
bool holds_any();
// The entry of the shortest mapping from len to max_len bytes long, as take(); nullptr: none.
// For a block that grows (realloc): all of the mapping is its room.
LargeBlock *take_room(size_t len, size_t max_len);

// The live block b is freed: parked in the table and its mapping kept (true), or erased from
// the table, remembered freed (was_freed) and its mapping put in `gone` (too big for the
// bounds, cache off). Older mappings it pushes out of the bounds join `gone`, out of the table.
// The bound follows the live LARGE bytes (large_table.h mapped_bytes) left.
bool keep(LargeBlock *b, Unmaps *gone);
// A mapping that held no block (a tail trimmed off a taken one, of at most `parts` areas) is
// kept, in the table as a cached entry keyed by its start, or put in `gone`.
void keep_tail(uintptr_t base, size_t len, unsigned parts, Unmaps *gone);
// Whether `user` is the pointer of the last block of a cached mapping: a second free of it.
bool holds_freed(uintptr_t user, size_t *size);
// malloc_trim(): every mapping into `gone`. False when there was none.
bool empty(Unmaps *gone);
// Without the lock: gives back the mappings unused for kIdleMs, if any (takes the lock then).
void expire_if_due();

struct Stats {
  uint64_t mappings, bytes;       // what it holds now
  uint64_t hits, resized, misses;  // LARGE requests served from it (resized: split or grown)
  uint64_t gathered;               // served from the pages of several (take_pieces)
  uint64_t returned;               // mappings it gave back (idle, pushed out, trimmed)
};
Stats stats();

}  // namespace ft::large::cache
