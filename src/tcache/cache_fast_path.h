// The thread cache's fast paths, inline in the entry points (api/malloc_api.cpp): malloc pops a
// chunk of its class from this thread's cache, free pushes one back. They read only the cache
// (its copy of the current zone's layout, tcache/thread_cache.h) and write the zone's live bit
// and size code with plain stores: no lock, no locked instruction, no zone header read. Each
// falls back to the slow path it is given, which also reports misuse.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/compiler.h"
#include "tcache/thread_cache.h"

namespace ft {

inline constexpr ClassTable<kCacheMaxSize> kCachedClassOf{};

// The chunk's address in the current zone of cc.
FT_INLINE char *chunk_at(const ClassCache &cc, uint32_t i) {
  return reinterpret_cast<char *>(cc.data + size_t{i} * cc.chunk_size);
}

// Hands chunk `slot` of cc's stack to the program: live bit set, size recorded, zeroed if asked
// (and not fresh from the kernel). The fields are read before anything is stored: the stores may
// alias them for all the compiler knows.
FT_INLINE void *hand_out(ClassCache &cc, unsigned c, uint16_t slot, size_t n, bool zero) {
  uint32_t i = slot & ~kFreshSlot, size = cc.chunk_size;
  uint64_t *live = cc.live;
  uint8_t *codes = cc.codes;
  char *p = reinterpret_cast<char *>(cc.data + size_t{i} * size);
  FT_ASSERT(!test_bit(live, i) && !cc.current->is_avail(i));  // the debug build: never handed out twice
  set_bit(live, i);
  if (class_is_tiny(c)) write_tiny_code(codes, p, size, i, n);
  else write_small_size(codes, i, n);
  if (zero && !(slot & kFreshSlot)) {
    bool tail = class_is_tiny(c) && size - n >= kTinyTailCode;  // the size sits in the chunk's end
    memset(p, 0, tail ? size - kTinyTailBytes : size);
  }
  return p;
}

// A chunk of class c from cache tc, refilled if empty (which may take the lock once); nullptr
// when out of memory.
FT_INLINE void *cache_take(ThreadCache *tc, unsigned c, size_t n, bool zero) {
  ClassCache &cc = tc->classes[c];
  uint16_t slot;
  if (__builtin_expect(cc.count != 0, 1)) slot = cc.slot[--cc.count];
  else if (!tcache::refill(tc, c, &slot)) return nullptr;
  ++tc->pending_allocs[c];
  t_fast.recent = &cc;
  return hand_out(cc, c, slot, n, zero);
}

// malloc's fast path: a chunk from this thread's cache when it has one of the class, without a
// lock or a refill; else Slow(n, caller), the entry point's slow path, called in its place (a
// template argument, so that the fallback is a tail call, with no result to test on the way).
// Inline in malloc(), __builtin_return_address(0) is malloc's own: the program's call site, for
// the leak reports; taken on the slow path only.
template <void *(*Slow)(size_t, void *)>
FT_INLINE void *cache_malloc(size_t n) {
  if (__builtin_expect(n <= kCacheMaxSize, 1)) {
    ThreadCache *tc = t_fast.cache;
    unsigned c = kCachedClassOf(n);
    ClassCache *cc = &tc->classes[c];
    __asm__("" : "+r"(cc));  // one register for the class's cache, not an address per field
    if (__builtin_expect(cc->count != 0, 1)) {
      uint16_t slot = cc->slot[--cc->count];
      ++tc->pending_allocs[c];
      t_fast.recent = cc;
      return hand_out(*cc, c, slot, n, false);
    }
  }
  return Slow(n, __builtin_return_address(0));
}

// Frees p into the current zone of cc, if it is one of its chunks, live, not freed by another
// thread meanwhile, and the stack has room: the live bit cleared, the chunk pushed. False leaves
// everything as it was. Reads only the cache's copy of the zone's layout.
FT_INLINE bool free_to_current(ClassCache &cc, void *p) {
  uint64_t off = reinterpret_cast<uintptr_t>(p) - cc.data;
  if (__builtin_expect(off >= cc.span, 0)) return false;
  uint32_t i = static_cast<uint32_t>((static_cast<unsigned __int128>(off) * cc.div_magic) >> 64);
  uint16_t count = cc.count;  // read before the stores below, which may alias it
  uint64_t *w = &cc.live[i / 64], v = __atomic_load_n(w, __ATOMIC_RELAXED);
  if (__builtin_expect(off != uint64_t{i} * cc.chunk_size || !((v >> (i & 63)) & 1) || pending_in(cc.pending, i) ||
                           count == cc.capacity, 0))
    return false;
  __atomic_store_n(w, v & ~(uint64_t{1} << (i & 63)), __ATOMIC_RELAXED);
  cc.slot[count] = static_cast<uint16_t>(i);
  cc.count = static_cast<uint16_t>(count + 1);
  return true;
}

// free's fast path: a chunk of the current zone of the class this thread last allocated from
// (a block is most often freed soon by the thread that allocated it). Everything else calls
// Slow(p): another of the thread's zones, another thread's zone, a LARGE block, a full stack, a
// misuse.
template <void (*Slow)(void *)>
FT_INLINE void cache_free(void *p) {
  if (__builtin_expect(free_to_current(*t_fast.recent, p), 1)) return;
  Slow(p);
}

}  // namespace ft
