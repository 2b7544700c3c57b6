// The thread cache's lock-free fast paths, inline in the entry points (api/malloc_api.cpp):
// malloc pops a chunk of its class from this thread's cache, free pushes it back. Neither takes
// a lock; each falls back (nullptr, false) to the heap's slow paths, which also report misuse.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/compiler.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"
#include "zone/zone_pool.h"

namespace ft {

// Hands a cached chunk to the program: records the size, sets the live bit, clears it if asked.
FT_INLINE void *hand_out(uintptr_t v, unsigned c, size_t n, bool zero) {
  uintptr_t a = v & ~zone_pool::kFreshTag;
  Zone *z;
  uint32_t i;
  if (class_is_tiny(c)) {
    z = reinterpret_cast<Zone *>(a & ~(kTinyZoneSize - 1));
    i = z->index_of(a);
    z->set_size_tiny(i, n);
  } else {
    z = registry::lookup(reinterpret_cast<void *>(a));
    i = z->index_of(a);
    z->set_size_small(i, n);
  }
  z->set_live(i);
  if (zero && !(v & zone_pool::kFreshTag)) memset(reinterpret_cast<void *>(a), 0, z->usable(i));
  return reinterpret_cast<void *>(a);
}
static_assert(kTinyZoneSize == kZoneGranule, "a TINY chunk's zone is its address masked");

// A chunk of class c from cache tc, refilled if empty (one lock); nullptr when out of memory.
FT_INLINE void *cache_take(ThreadCache *tc, unsigned c, size_t n, bool zero) {
  uintptr_t v = tcache::pop(tc, c);
  if (!v) return nullptr;
  ++tc->pending_allocs[c];
  return hand_out(v, c, n, zero);
}

// malloc's fast path: a chunk from this thread's cache when it has one of the class, without a
// lock or a refill; else Slow(n, caller), the entry point's slow path, called in its place (a
// template argument, so that the fallback is a tail call, with no result to test on the way).
// Inline in malloc(), __builtin_return_address(0) is malloc's own: the program's call site, for
// the leak reports; taken on the slow path only.
template <void *(*Slow)(size_t, void *)>
FT_INLINE void *cache_malloc(size_t n) {
  ThreadCache *tc = t_cache;
  if (__builtin_expect(tc != nullptr && n <= kCacheMaxSize, 1)) {
    unsigned c = class_of(n);
    ClassCache &cc = tc->classes[c];
    if (__builtin_expect(cc.count != 0, 1)) {
      ++tc->pending_allocs[c];
      return hand_out(cc.slot[--cc.count], c, n, false);
    }
  }
  return Slow(n, __builtin_return_address(0));
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

}  // namespace ft
