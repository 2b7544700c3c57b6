// LARGE blocks (above the largest SMALL class): one mapping each, recorded in the LARGE table.
// What is done to a block: mapped (or its mapping taken from the cache of freed ones) and
// recorded, released (its mapping into the cache), shrunk in place, grown with mremap.
// Mapping and unmapping happen outside the heap lock; the table and the cache change under it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "large/deferred_unmap.h"
#include "large/large_table.h"
#include "os/heap_lock.h"

namespace ft::large {

// Called, with no lock held, when the system refused a new LARGE mapping: true to try once more.
// The heap layer defines it (heap/trim.cpp: its trim_for_retry, which gives back what the heap
// keeps for reuse), so that the LARGE path's fast case stays a tail call from the heap's.
extern bool (*const g_after_refusal)();

// A block of n bytes (room for `need` >= n) aligned to `align` (a power of two), recorded; its
// first n bytes zero when `zero` (a cached mapping is not). Takes the heap lock itself, around
// the table and the cache only. nullptr with errno = ENOMEM when the system refuses even after
// g_after_refusal. Under FT_MALLOC_GUARD the block ends against a PROT_NONE page.
void *allocate(size_t n, size_t need, size_t align, bool zero);

// As allocate(n, need, page, false), for a TINY or SMALL block that realloc() grows into a
// LARGE one: a cached mapping up to kRoomFactor times as long is taken whole, its pages resident
// and all of it room to grow in place. Else, if the cache is empty and `from_len` is not 0, the
// pages of [from, from + from_len) become the new block's first (moved, not copied: *moved set),
// and `from` reads as zero afterwards.
void *allocate_grown(size_t n, size_t need, void *from, size_t from_len, bool *moved);

// The block is freed (under the lock): parked in the table with its mapping cached, or out of the
// table, remembered for double-free reports and its mapping put in `gone`, with what it pushed
// out of the cache.
void release(LargeBlock *b, Unmaps *gone);

// free() of p (not null), a live LARGE block, when no debug mode watches frees: its entry parked
// and its mapping cached, or out of the table and unmapped; takes the lock itself. False, with
// nothing changed, when p is not a live LARGE block (the caller's path resolves and reports it).
// errno is kept.
bool free_live(uintptr_t p);

// Resizes b in place to n bytes (room for `need`, within b's mapping), under the lock. A block
// that shrinks gives the whole pages past its new end back (to be unmapped by the caller after
// dropping the lock); one that grows keeps its room.
Unmap resize_in_place(LargeBlock *b, size_t n, size_t need);

// Whether b can grow by moving page tables (mremap): its pointer is its mapping's start, no
// guard page must stay at its end, and its mapping is one area of the kernel's (not gathered).
bool can_regrow(const LargeBlock &b);
// Grows b to n bytes (room for `need`) with mremap, dropping the lock around the system call.
// Returns the block's address (b is stale afterwards) and its old size in *old_size, or nullptr
// when the system refuses (the block is as it was).
void *regrow(LargeBlock *b, size_t n, size_t need, HeapLock &lock, size_t *old_size);

}  // namespace ft::large
