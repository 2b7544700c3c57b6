// The per-thread cache: a few free chunks per TINY/SMALL class held by each thread, so that most
// malloc and free calls take no lock. The zones stay under the one heap mutex; the cache refills
// from them and flushes back to them in batches, one lock acquisition per batch.
//
// A cached chunk is free for the program (its live bit is clear, show_alloc_mem does not list it,
// a second free() of it is a double free) but out of its zone (its avail bit is clear too), so
// the zone cannot be unmapped under the cache. The cache itself lives in its own mapping, out of
// reach of user blocks, and is reused by later threads once its thread exits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/size_class.h"
#include "zone/zone.h"

namespace ft {

// Classes up to 4 KiB are cached; larger ones are rarer and go to the zones (a locked pair there
// costs ~45 ns). The bound matters for memory: the zone a thread allocates from stays pinned by
// its cached chunks, and a zone of a 32 KiB class is 3.3 MB (measured: caching up to 32 KiB left
// 18 MB resident after freeing a 200 MB peak, up to 4 KiB leaves under 6 MB).
inline constexpr size_t kCacheMaxSize = 4 * 1024;
inline constexpr unsigned kCachedClasses = class_of(kCacheMaxSize) + 1;
inline constexpr unsigned kCacheSlots = 64;
// Each class holds at most 16 KiB (but 2 to 64 chunks): at most ~0.8 MiB per thread if a thread
// churns every class, a few KiB for a typical one.
constexpr uint32_t cache_capacity(unsigned c) {
  size_t n = 16 * 1024 / class_size(c);
  return static_cast<uint32_t>(n < 2 ? 2 : n > kCacheSlots ? kCacheSlots : n);
}

// Frees of chunks outside the class's home zone are not reused from the cache (that would keep
// draining zones alive) but wait here, a batch going back to their zones under one lock
// acquisition: freeing a big structure (a tree, a list) costs one lock per 8 to 32 frees, not
// one per free. Bounded like the cache; and a free into a zone about to empty sends the batch at
// once (see push), so a zone that the program has wholly freed is not kept.
inline constexpr unsigned kOutSlots = 32;
constexpr uint32_t out_capacity(unsigned c) {
  uint32_t n = cache_capacity(c) / 2;
  return n < 8 ? 8 : n > kOutSlots ? kOutSlots : n;
}

struct ClassCache {
  uint32_t count;
  uint32_t capacity;
  // The zone this class refills from, owned by this cache (zone_pool::take_batch); every cached
  // chunk comes from it, so a thread's cache pins at most one zone per class: a free into
  // another zone goes to `out`. Changed only by this thread (under the lock).
  Zone *home;
  uintptr_t slot[kCacheSlots];  // a stack: the most recently freed chunk, still in cache, on top
  uint32_t out_count;
  uint32_t out_cap;
  uintptr_t out[kOutSlots];     // freed chunks of other zones, going back to them in one batch
};

struct ThreadCache {
  ClassCache classes[kCachedClasses];
  // Mallocs served by the cache, not yet folded into the counters (fold_counts, base/counters.h).
  uint64_t pending_allocs[kCachedClasses];
  ThreadCache *next_idle;  // on the list of caches whose thread has exited
  ThreadCache *next_all;   // every cache ever made (the statistics read their pending counts)
};

// Every cache, for the statistics; guarded by the heap lock.
extern ThreadCache *g_all_caches;

// This thread's cache; nullptr before its first allocation, when FT_MALLOC_TCACHE=0, and after
// the thread's cache was flushed at its exit. Initial-exec TLS: one pointer and one byte, well
// within what glibc reserves for libraries loaded with dlopen.
extern __thread ThreadCache *t_cache __attribute__((tls_model("initial-exec")));

namespace tcache {

// The cache to use, attaching one on the thread's first call.
ThreadCache *attach();
inline ThreadCache *current() {
  ThreadCache *tc = t_cache;
  return __builtin_expect(tc != nullptr, 1) ? tc : attach();
}

// Refills class c from the zones and returns one chunk (tagged with kFreshTag when untouched),
// or 0 when out of memory.
uintptr_t refill(ThreadCache *tc, unsigned c);
// Gives the oldest half of class c back to the zones.
void flush_half(ThreadCache *tc, unsigned c);
// Gives every cached chunk of class c back to the zones.
void flush_class(ThreadCache *tc, unsigned c);
// Gives every chunk this thread caches back to the zones, and its home zones up (malloc_trim).
void flush_current();
// In a fork child: the caches of the parent's other threads have no thread any more; their home
// zones go back to the lists (their cached chunks are lost: a thread may have been stopped
// halfway through a push, so they cannot be trusted).
void after_fork_in_child();
// This thread stops using its cache, for good (a fork child on the rescue allocator): every call
// takes the slow path from now on.
void turn_off_in_this_thread();
// Folds class c's mallocs served by the cache into the counters.
void fold_counts(ThreadCache *tc, unsigned c);
// Gives class c's waiting frees of other zones back to them.
void flush_out(ThreadCache *tc, unsigned c);

inline uintptr_t pop(ThreadCache *tc, unsigned c) {
  ClassCache &cc = tc->classes[c];
  return __builtin_expect(cc.count != 0, 1) ? cc.slot[--cc.count] : refill(tc, c);
}
// A free whose live bit is already cleared (so a second free of it is a double free): into the
// cache when it lies in the class's home zone, else into the batch going back to its zone.
inline void push(ThreadCache *tc, unsigned c, const Zone *z, uintptr_t chunk) {
  ClassCache &cc = tc->classes[c];
  if (__builtin_expect(z == cc.home, 1)) {
    if (__builtin_expect(cc.count == cc.capacity, 0)) flush_half(tc, c);
    cc.slot[cc.count++] = chunk;
    return;
  }
  cc.out[cc.out_count++] = chunk;
  // A zone with only a batch's worth of chunks still out is about to empty: send the batch at
  // once, so that the zone can go back to the system now rather than stay pinned by a batch
  // that a thread gone idle may never fill. (avail is read without the lock: a hint.)
  uint32_t still_out = z->chunks - __atomic_load_n(&z->avail, __ATOMIC_RELAXED);
  if (__builtin_expect(cc.out_count >= cc.out_cap || still_out <= cc.out_cap, 0)) flush_out(tc, c);
}

}  // namespace tcache
}  // namespace ft
