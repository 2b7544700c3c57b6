// realloc() and reallocarray().
//   1. heap_realloc_fast (inline in realloc(), thread cache on): a live TINY/SMALL chunk whose
//      class still holds the new size is resized in place, without a lock; one that must grow
//      moves through the cache's fast paths;
//   2. heap_realloc_slow (realloc.cpp): everything else, under the heap lock: LARGE blocks shrink
//      in place or grow with mremap (large/large_block.h), a big shrink moves, misuse is reported.
#pragma once
#include <cstddef>
#include <cstring>

#include "base/compiler.h"
#include "heap/free.h"
#include "tcache/cache_fast_path.h"

namespace ft {

// realloc shrinking a SMALL chunk of at least 4 KiB to a quarter or less moves the block, so the
// 3 KiB+ it no longer needs are freed; smaller shrinks stay in place.
inline constexpr size_t kShrinkMoveMinChunk = 4096;
constexpr bool shrink_moves(size_t chunk, size_t n) { return chunk >= kShrinkMoveMinChunk && n <= chunk / 4; }

// realloc growing a TINY or SMALL block past its chunk moves it to a chunk with room for half as
// much again (up to the largest SMALL class), so that a buffer grown by small steps (a string
// appended to) moves O(log n) times, not at every class: glibc grows such a block in place into
// its free neighbour, which separate size classes cannot. A bigger jump gets just what it asks.
constexpr size_t grown_room(size_t n, size_t chunk) {
  size_t room = chunk + chunk / 2;
  return n >= room ? n : room < kSmallMax ? room : kSmallMax;
}

// The block's new address, or nullptr: call heap_realloc_slow (a fast path never fails).
FT_INLINE void *heap_realloc_fast(void *p, size_t n) {
  ThreadCache *tc = t_cache;
  if (tc == nullptr || !p || n - 1 >= kSmallMax) return nullptr;
  Zone *z = registry::lookup(p);
  uint32_t i;
  bool exact;
  if (!z || !z->magic_ok() || !z->locate(reinterpret_cast<uintptr_t>(p), &i, &exact) || !exact || !z->is_live(i))
    return nullptr;
  size_t chunk = z->chunk_size;
  if (n <= chunk && !shrink_moves(chunk, n)) {
    z->set_size(i, n);
    return p;
  }
  size_t room = grown_room(n, chunk);
  if (n <= chunk || room > kCacheMaxSize) return nullptr;
  void *q = cache_take(tc, class_of(room), n, false);  // moves through the cache
  if (!q) return nullptr;                               // the slow path says ENOMEM
  memcpy(q, p, z->usable(i));
  if (!heap_free_fast(p)) heap_free_slow(p, Call::kFree);
  return q;
}

void *heap_realloc_slow(void *p, size_t n, void *caller);
void *heap_reallocarray(void *p, size_t count, size_t size, void *caller);

}  // namespace ft
