// The heap: what every public entry point calls. It sends each request to the zones (TINY,
// SMALL) or to a LARGE mapping, resolves and validates every pointer handed back, and sets errno
// on failure (in this file only).
#pragma once
#include <cstddef>
#include <cstdint>

#include "registry.h"
#include "report.h"
#include "thread_cache.h"
#include "zone_heap.h"

namespace ft {

// The fast paths below are inline in the entry points; everything else is out of line. `caller`
// is the return address of the entry point the program called, for FT_MALLOC_LEAKS.
void *heap_malloc_slow(size_t n, void *caller);
void *heap_calloc(size_t count, size_t size, void *caller);
void *heap_realloc_slow(void *p, size_t n, void *caller);
void *heap_reallocarray(void *p, size_t count, size_t size, void *caller);
// align: any value; memalign rounds it up to a power of two as glibc does.
void *heap_memalign(size_t align, size_t n, void *caller);
int heap_posix_memalign(void **out, size_t align, size_t n, void *caller);
void *heap_aligned_alloc(size_t align, size_t n, void *caller);
void *heap_valloc(size_t n, void *caller);
void *heap_pvalloc(size_t n, void *caller);
size_t heap_usable_size(void *p);
// size and align, when given (free_sized, free_aligned_sized), are checked against the block.
inline constexpr size_t kUnchecked = ~size_t{0};
void heap_free_slow(void *p, Call call, size_t size = kUnchecked, size_t align = kUnchecked);

// The fast paths must fold into the entry points: a call and its prologue cost a fifth of them.
#define FT_INLINE inline __attribute__((always_inline))

// realloc shrinking a SMALL chunk of at least 4 KiB to a quarter or less moves the block, so the
// 3 KiB+ it no longer needs are freed; smaller shrinks stay in place.
inline constexpr size_t kShrinkMoveMinChunk = 4096;
constexpr bool shrink_moves(size_t chunk, size_t n) { return chunk >= kShrinkMoveMinChunk && n <= chunk / 4; }

static_assert(kTinyZoneSize == kZoneGranule, "a TINY chunk's zone is its address masked");

// realloc growing a TINY or SMALL block past its chunk moves it to a chunk with room for half as
// much again (up to the largest SMALL class), so that a buffer grown by small steps (a string
// appended to) moves O(log n) times, not at every class: glibc grows such a block in place into
// its free neighbour, which separate size classes cannot. A bigger jump gets just what it asks.
constexpr size_t grown_room(size_t n, size_t chunk) {
  size_t room = chunk + chunk / 2;
  return n >= room ? n : room < kSmallMax ? room : kSmallMax;
}

// Hands a cached chunk to the program: records the size, sets the live bit, clears it if asked.
FT_INLINE void *hand_out(uintptr_t v, unsigned c, size_t n, bool zero) {
  uintptr_t a = v & ~zone_heap::kFreshTag;
  Zone *z;
  uint32_t i;
  if (class_is_tiny(c)) {
    z = reinterpret_cast<Zone *>(a & ~(kTinyZoneSize - 1));
    i = z->index_of(a);
    z->set_size_tiny(i, n);
  } else {
    z = registry::lookup(reinterpret_cast<void *>(a));
    i = z->index_of(a);
    reinterpret_cast<uint32_t *>(z->codes())[i] = static_cast<uint32_t>(n);
  }
  z->set_live(i);
  if (zero && !(v & zone_heap::kFreshTag)) memset(reinterpret_cast<void *>(a), 0, z->usable(i));
  return reinterpret_cast<void *>(a);
}

// A chunk of class c from cache tc, refilled if empty (one lock); nullptr when out of memory.
FT_INLINE void *cache_take(ThreadCache *tc, unsigned c, size_t n, bool zero) {
  uintptr_t v = tcache::pop(tc, c);
  if (!v) return nullptr;
  ++tc->pending_allocs[c];
  return hand_out(v, c, n, zero);
}

// The lock-free free: a live chunk of a cached class goes to cache tc: to be reused when it lies
// in the class's home zone, else to wait with others of its class for one locked trip back to
// their zones (so a draining zone can still empty and be unmapped). Clearing the live bit first
// (atomically) is what makes a second free of it a double free. False leaves everything as it
// was, for the locked path, which also reports what is wrong (LARGE, not a live block).
FT_INLINE bool cache_free(ThreadCache *tc, void *p) {
  Zone *z = registry::lookup(p);
  if (!z || !z->magic_ok() || z->class_index >= kCachedClasses) return false;
  uint32_t i;
  bool exact;
  if (!z->locate(reinterpret_cast<uintptr_t>(p), &i, &exact) || !exact || !z->clear_live(i)) return false;
  tcache::push(tc, z->class_index, z, reinterpret_cast<uintptr_t>(p));
  return true;
}

// malloc: a chunk from this thread's cache, without a lock.
FT_INLINE void *heap_malloc(size_t n) {
  ThreadCache *tc = t_cache;
  if (__builtin_expect(tc != nullptr && n <= kCacheMaxSize, 1)) {
    unsigned c = class_of(n);
    ClassCache &cc = tc->classes[c];
    if (__builtin_expect(cc.count != 0, 1)) {
      ++tc->pending_allocs[c];
      return hand_out(cc.slot[--cc.count], c, n, false);
    }
  }
  // Inlined into malloc(): the return address is the program's call site (for leak reports).
  return heap_malloc_slow(n, __builtin_return_address(0));
}

// free: through this thread's cache without a lock (cache_free), else the slow path.
FT_INLINE void heap_free(void *p) {
  ThreadCache *tc = t_cache;
  if (__builtin_expect(tc != nullptr, 1) && cache_free(tc, p)) return;
  heap_free_slow(p, Call::kFree);
}

// realloc with the thread cache on (so no debug mode): a live chunk whose class still holds n
// bytes is resized in place, without a lock; one that must grow moves through the cache's fast
// paths. Everything else (LARGE, a big shrink, a bad pointer, realloc(p, 0)) takes the slow path.
FT_INLINE void *heap_realloc(void *p, size_t n, void *caller) {
  if (t_cache != nullptr && p && n - 1 < kSmallMax) {
    Zone *z = registry::lookup(p);
    uint32_t i;
    bool exact;
    if (z && z->magic_ok() && z->locate(reinterpret_cast<uintptr_t>(p), &i, &exact) && exact && z->is_live(i)) {
      size_t chunk = z->chunk_size;
      if (n <= chunk && !shrink_moves(chunk, n)) {
        z->set_size(i, n);
        return p;
      }
      size_t room = grown_room(n, chunk);
      if (n > chunk && room <= kCacheMaxSize) {  // moves through the cache
        if (void *q = cache_take(t_cache, class_of(room), n, false)) {  // else the slow path says ENOMEM
          memcpy(q, p, z->usable(i));
          heap_free(p);
          return q;
        }
      }
    }
  }
  return heap_realloc_slow(p, n, caller);
}

}  // namespace ft
