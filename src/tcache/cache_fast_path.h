// The thread cache's fast paths, inline in the entry points (api/malloc_api.cpp): malloc pops a
// chunk of its class from this thread's cache, free pushes one back. They read only the cache
// (its copy of the current zone's layout, tcache/thread_cache.h) and write the zone's live bit
// and size code with plain stores: no lock, no locked instruction, no zone header read. Each
// falls back to the slow path it is given, which also reports misuse; a chunk popped that lies
// in another of the thread's zones is handed out through that zone's header.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/compiler.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"

namespace ft {

static_assert(kCacheMaxSize == kSmallMax, "kCachedClassOf serves every request up to kSmallMax");
inline constexpr ClassTable kCachedClassOf{};

// Marks chunk i (at p) of a zone handed to the program: live bit set, size recorded, zeroed if
// asked and not `fresh` from the kernel. Plain stores: the zone's writer is this thread.
// `in_class`: n is a size class c serves (malloc's fast path; not realloc's room, nor memalign).
FT_INLINE void *mark_handed_out(uint64_t *live, uint8_t *codes, uint32_t size, unsigned c, uint32_t i, char *p,
                                size_t n, bool zero, bool fresh, bool in_class = false) {
  FT_ASSERT(!test_bit(live, i));  // the debug build: never handed out twice
  FT_ASSERT(!in_class || class_of(n) == c);
  set_bit(live, i);
  write_size_code(c, codes, p, size, i, n, in_class);
  if (zero && !fresh) memset(p, 0, size_in_tail(c, size, n) ? size - kTailBytes : size);
  return p;
}

// The chunk index of offset `off` into a zone's chunks, and whether off is a chunk's start: one
// multiplication gives both (the high half is off / size; the low half is below the magic
// exactly when the division has no remainder, for every 32-bit off).
FT_INLINE uint64_t chunk_index(uint64_t off, uint64_t div_magic, bool *exact) {
#if defined(__x86_64__)
  // The product in two 64-bit halves: as one 128-bit value, the compiler copied its high half
  // to a saved register for the bit instructions of free_to_current (a push and a pop there).
  uint64_t lo, hi;
  __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(off), "rm"(div_magic));
  if (hi > off) __builtin_unreachable();  // the magic is below 2^64: the index fits off's width
  *exact = lo < div_magic;
  return hi;
#else
  unsigned __int128 m = static_cast<unsigned __int128>(off) * div_magic;
  *exact = static_cast<uint64_t>(m) < div_magic;
  return static_cast<uint64_t>(m >> 64);
#endif
}

// Bit i % 64 of *v cleared; returns whether it was set. One btr on x86-64, whose flag the
// branch reads: the compiler's own sequence masked the index and tested the bit apart.
FT_INLINE bool take_bit(uint64_t *v, uint64_t i) {
#if defined(__x86_64__)
  bool was;
  __asm__("btr %2, %0" : "+r"(*v), "=@ccc"(was) : "r"(i));
  return was;
#else
  uint64_t m = uint64_t{1} << (i & 63);
  bool was = *v & m;
  *v &= ~m;
  return was;
#endif
}
FT_INLINE bool bit_at(uint64_t word, uint64_t i) {
#if defined(__x86_64__)
  bool set;
  __asm__("bt %2, %1" : "=@ccc"(set) : "r"(word), "r"(i));
  return set;
#else
  return (word >> (i & 63)) & 1;
#endif
}

// Hands stack entry `slot` of cc to the program (`in_class`: as mark_handed_out). The fields are
// read before anything is stored: the stores may alias them for all the compiler knows.
FT_INLINE void *hand_out(ClassCache &cc, unsigned c, uintptr_t slot, size_t n, bool zero, bool in_class = false) {
  uint64_t off = slot - cc.data;
  if (__builtin_expect(off >= cc.span, 0))
    return zero ? tcache::hand_out_elsewhere(cc, c, slot, n, true)
                : tcache::hand_out_elsewhere_unzeroed(cc, c, slot, n);
  bool exact;
  uint32_t i = static_cast<uint32_t>(chunk_index(off, cc.div_magic, &exact));
  FT_ASSERT(!cc.current->is_avail(i));  // the debug build: a cached chunk is out of its zone
  return mark_handed_out(cc.live, cc.codes, cc.chunk_size, c, i, reinterpret_cast<char *>(slot), n, zero, false,
                         in_class);
}

// A chunk of class c from cache tc, refilled if empty (which may take the lock once); nullptr
// when out of memory.
FT_INLINE void *cache_take(ThreadCache *tc, unsigned c, size_t n, bool zero) {
  ClassCache *cc = tc->class_of[c];
  uintptr_t slot;
  if (__builtin_expect(cc->count != 0, 1)) {
    slot = cc->slot[--cc->count];
    __atomic_signal_fence(__ATOMIC_ACQ_REL);  // as pop_and_hand_out
  } else if (!tcache::refill(tc, c, &slot)) {
    return nullptr;
  } else {
    cc = tc->class_of[c];  // placed by the refill if it was not
  }
  ++cc->allocs;
  t_fast.recent = cc;
  return hand_out(*cc, c, slot, n, zero);
}

// The top of class c's stack handed out for n bytes (zeroed when `zero`: calloc), or Fallback()
// when the stack is empty: malloc's and calloc's fast paths.
template <typename Fallback>
FT_INLINE void *pop_and_hand_out(unsigned c, size_t n, bool zero, Fallback fallback) {
  ClassCache *cc = t_fast.cache->class_of[c];
  __asm__("" : "+r"(cc));  // one register for the class's cache, not an address per field
  if (__builtin_expect(cc->count != 0, 1)) {
    uintptr_t slot = cc->slot[--cc->count];
    // Off the stack before it is live: a fork from a signal handler that lands between leaves
    // the child a chunk lost, never one both live and stacked (api/fork_handlers.h). No instruction.
    __atomic_signal_fence(__ATOMIC_ACQ_REL);
    ++cc->allocs;
    t_fast.recent = cc;
    return hand_out(*cc, c, slot, n, zero, true);
  }
  return fallback();
}

// malloc's fast path: a chunk from this thread's cache when it has one of the class, without a
// lock or a refill; else Slow(n, caller), the entry point's slow path, called in its place (a
// template argument, so that the fallback is a tail call, with no result to test on the way).
// Inline in malloc(), __builtin_return_address(0) is malloc's own: the program's call site, for
// the leak reports; taken on the slow path only.
template <void *(*Slow)(size_t, void *)>
FT_INLINE void *cache_malloc(size_t n) {
  // Up to 4 KiB the class from the table, with one comparison on the way as before the table
  // shrank; above, computed.
  unsigned c;
  if (__builtin_expect(n <= ClassTable::kTableMax, 1)) c = kCachedClassOf.from_table(n);
  else if (n <= kCacheMaxSize) c = ClassTable::computed(n);
  else return Slow(n, __builtin_return_address(0));
  return pop_and_hand_out(c, n, false, [&]() FT_INLINE_LAMBDA { return Slow(n, __builtin_return_address(0)); });
}

// calloc's fast path, as malloc's, for count * size up to 4 KiB (the class table's reach; above,
// the zeroing outweighs the route): the chunk zeroed (hand_out). Anything else, an overflow
// included, calls Slow(count, size, caller) in its place. Before it, every calloc went through
// allocate_any's general route: 100 callocs of 64 B and their frees, 244 -> 164 instructions a
// pair (the memset and the loop included), 19.0 -> 14.2 ns (glibc 17.5).
template <void *(*Slow)(size_t, size_t, void *)>
FT_INLINE void *cache_calloc(size_t count, size_t size) {
  size_t n;
  if (__builtin_expect(!__builtin_mul_overflow(count, size, &n) && n <= ClassTable::kTableMax, 1)) {
    return pop_and_hand_out(kCachedClassOf.from_table(n), n, true,
                            [&]() FT_INLINE_LAMBDA { return Slow(count, size, __builtin_return_address(0)); });
  }
  return Slow(count, size, __builtin_return_address(0));
}

// Whether p is the start of a chunk of cc's current zone (*i: its index), by the cache's copy of
// the zone's layout: free's and realloc's fast paths start here. `kKnownStart`: p is some
// chunk's start (a stack entry), so only whether it lies in the zone is asked.
template <bool kKnownStart = false>
FT_INLINE bool current_chunk(const ClassCache &cc, const void *p, uint64_t *i) {
  uint64_t off = reinterpret_cast<uintptr_t>(p) - cc.data;
  if (__builtin_expect(off >= cc.span, 0)) return false;
  bool exact;
  *i = chunk_index(off, cc.div_magic, &exact);
  return kKnownStart || __builtin_expect(exact, 1);
}

// The stack entry just above cc's count: the chunk its last pop handed out, until a push
// writes there (a pop leaves its entry in place). At a full stack, the field after the stack,
// a zone header's address, never a block's. Read as bytes of the cache: no index past the array.
FT_INLINE uintptr_t last_popped(const ClassCache &cc, uint32_t count) {
  static_assert(offsetof(ClassCache, current) == offsetof(ClassCache, slot) + sizeof cc.slot);
  uintptr_t v;
  memcpy(&v, reinterpret_cast<const char *>(&cc) + offsetof(ClassCache, slot) + size_t{count} * sizeof(uintptr_t),
         sizeof v);
  return v;
}

// Frees p into the current zone of cc, if it is one of its chunks, held by the program (live,
// not freed by another thread meanwhile), and the stack is below its push limit (thread_cache.h):
// the live bit cleared, the chunk pushed. False leaves everything as it was. Reads only the
// cache's copy of the zone's layout. `kLastPopped`: only if p is the chunk cc's last pop handed
// out (last_popped), which makes it a chunk's start without the division's test.
template <bool kLastPopped = false>
FT_INLINE bool free_to_current(ClassCache &cc, void *p) {
  // The count read twice: an atomic load the compiler keeps apart, so that no register holds
  // it across the multiplication (a push and a pop of rbx: malloc(16) + free 100 -> 99).
  if (kLastPopped && last_popped(cc, __atomic_load_n(&cc.count, __ATOMIC_RELAXED)) != reinterpret_cast<uintptr_t>(p))
    return false;
  uint64_t i;
  if (!current_chunk<kLastPopped>(cc, p, &i)) return false;
  uint32_t count = cc.count;  // read before the stores below, which may alias it
  if (__builtin_expect(count >= cc.push_limit, 0)) return false;
  uint64_t *w = &cc.live[i / 64], v = __atomic_load_n(w, __ATOMIC_RELAXED);
  // Held: live, and not freed by another thread meanwhile (its pending bit).
  if (__builtin_expect(!take_bit(&v, i), 0)) return false;
  if (__builtin_expect(bit_at(__atomic_load_n(&cc.pending[i / 64], __ATOMIC_RELAXED), i), 0)) return false;
  __atomic_store_n(w, v, __ATOMIC_RELAXED);
  cc.slot[count] = reinterpret_cast<uintptr_t>(p);
  // The slot before the count, for a fork from a signal handler that lands here: the child keeps
  // this stack (api/fork_handlers.h), which must never hold a slot not yet written. No instruction.
  __atomic_signal_fence(__ATOMIC_RELEASE);
  cc.count = count + 1;
  return true;
}

// realloc in place in the current zone of class c (p's class, which its registry entry names):
// p one of its chunks, held by the program, and n fits its chunk without a shrink that moves
// (shrink_moves): the size code rewritten, through the cache's copy of the zone's layout, as
// free_to_current reads it (no zone header). False leaves everything as it was.
FT_INLINE bool resize_in_current(ClassCache &cc, unsigned c, void *p, size_t n) {
  uint64_t i;
  if (!current_chunk(cc, p, &i)) return false;
  uint32_t chunk = cc.chunk_size;
  if (__builtin_expect(n > chunk || shrink_moves(chunk, n), 0)) return false;
  if (!bit_at(__atomic_load_n(&cc.live[i / 64], __ATOMIC_RELAXED), i)) return false;
  if (bit_at(__atomic_load_n(&cc.pending[i / 64], __ATOMIC_RELAXED), i)) return false;
  write_size_code(c, cc.codes, static_cast<char *>(p), chunk, static_cast<uint32_t>(i), n);
  return true;
}

// Frees p into the current zone of its own class, which its registry entry e names (as
// free_to_current does). False leaves everything as it was; an empty entry (not a zone's) has no
// class (entry_class wraps to above every class).
FT_INLINE bool free_to_own_class(uintptr_t e, void *p) {
  unsigned c = registry::entry_class(e);
  if (c >= kCachedClasses) return false;
  // No test that the entry's zone is cc.current: free_to_current's span test is that test,
  // and cc.current lies on another cache line than the layout's copy.
  ClassCache *cc = t_fast.cache->class_of[c];
  __asm__("" : "+r"(cc));  // one register for the class's cache, not an address per field
  return free_to_current(*cc, p);
}

// p's registry entry (registry::lookup_entry) through this thread's copy of the leaf it read
// last: a program's zones lie in one or two 4 GiB ranges, and the root's load, which waited for
// p, then leaves the chain of loads that free waits on (larson one thread 76.1 -> 73.6 ms, two
// 81.9 -> 78.6; churn-1k 217 -> 213 instructions). Leaves are never unmapped; only a zone's
// entry, whose leaf exists, is copied. A wrong copy would only send a call to its slow path: the
// class cache's span test still decides.
FT_INLINE uintptr_t lookup_entry_here(const void *p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (__builtin_expect(a >> registry::kLeafShift == t_fast.leaf_key, 1)) return registry::entry_in(t_fast.leaf, a);
  uintptr_t e = registry::lookup_entry(p);
  if (e) {
    t_fast.leaf_key = a >> registry::kLeafShift;
    t_fast.leaf = registry::leaf_of(a);
  }
  return e;
}

// free's fast path: the block this thread's last malloc from a stack handed out (a block is
// most often freed soon by the thread that allocated it), else a chunk of the current zone of
// the block's own class, which its registry entry names. Everything else calls Slow(p, e), with
// that entry: another of the thread's zones, another thread's zone, a LARGE block (e = 0), a full
// stack, a misuse. The first test asked before whether p lay in the current zone of the last
// malloc's class: with blocks of two classes freed in random order, that branch went either way
// and its mispredictions cost about 40 cycles each (glibc's bench-malloc-thread, one thread:
// 81 -> 153 M iterations in its 2 s; half 16 B, half 32 B blocks: 0.49 -> 0.29 s for 30 M steps,
// glibc 0.20), while a block just handed out is freed the same way every time.
template <void (*Slow)(void *, uintptr_t)>
FT_INLINE void cache_free(void *p) {
  if (__builtin_expect(free_to_current<true>(*t_fast.recent, p), 1)) return;
  // Inline: a program freeing blocks of many sizes in turn (larson: 94% of its frees) went
  // through two calls and their frames (larson 201 -> 182 instructions per step).
  uintptr_t e = lookup_entry_here(p);
  if (free_to_own_class(e, p)) return;
  Slow(p, e);
}

}  // namespace ft
