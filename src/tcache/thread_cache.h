// The per-thread cache: the zones a thread allocates from, and a few free chunks per TINY/SMALL
// class, so that most malloc and free calls take no lock and no locked instruction.
//
// Ownership. A thread's cache owns the zones it allocates from (zone/zone.h: each zone has one
// writer) until they become wholly free or the thread exits: per class, the current zone, whose
// free chunks the cache's stack holds, and lists of the others it owns, those with free chunks
// (partial) and those without (full). The thread's own frees of chunks of its zones change the
// bits with plain stores; a chunk of another zone freed by this thread is a remote free
// (remote_free.h): a pending bit in that zone, which its owner takes in. The heap mutex is taken
// only when a zone changes hands (zone/zone_pool.h): a new one to allocate from, a wholly free
// one given back, all of them at thread exit.
//
// A cached chunk is free for the program (its live bit is clear, show_alloc_mem does not list
// it, a second free() of it is a double free) but out of its zone (its avail bit is clear too).
// The cache lives in its own mapping, out of reach of user blocks, and is reused by later
// threads once its thread exits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/compiler.h"
#include "base/size_class.h"
#include "tcache/remote_free.h"
#include "zone/registry.h"
#include "zone/zone.h"

namespace ft {

// Every class is cached: a thread allocates from zones of its own whatever the size (a locked
// malloc/free pair of a big class cost ~45 ns and 2 lock acquisitions). The stacks are bounded
// in bytes: at most 16 KiB of each class (2 to 64 chunks below 8 KiB, one chunk from 16 KiB on),
// so a thread that churns every class holds at most 1.2 MiB in its stacks, a typical one a few
// KiB. What a thread's zones hold beyond that is the program's, or given back: a zone left
// without a live block goes back to the pool, and the current zone's pages are given back as
// the pool's reserve's are (push_flushing_half).
inline constexpr size_t kCacheMaxSize = kSmallMax;
inline constexpr unsigned kCachedClasses = kClassCount;
// 51 entries make a class's cache 512 bytes (ClassCache): the fast paths find it with one shift.
inline constexpr unsigned kCacheSlots = 51;
inline constexpr size_t kCacheBytesPerClass = 16 * 1024;
constexpr uint32_t cache_capacity(unsigned c) {
  size_t n = kCacheBytesPerClass / class_size(c);
  size_t least = class_size(c) * 2 <= kCacheBytesPerClass ? 2 : 1;
  return static_cast<uint32_t>(n < least ? least : n > kCacheSlots ? kCacheSlots : n);
}
// cache_capacity of every class, for the slow paths' pushes (a byte: at most kCacheSlots).
struct CacheCapacities {
  uint8_t of[kCachedClasses];
  constexpr CacheCapacities() : of() {
    for (unsigned c = 0; c < kCachedClasses; ++c) of[c] = static_cast<uint8_t>(cache_capacity(c));
  }
};
inline constexpr CacheCapacities kCacheCapacity{};
constexpr size_t cache_bytes_bound() {
  size_t total = 0;
  for (unsigned c = 0; c < kCachedClasses; ++c) total += cache_capacity(c) * class_size(c);
  return total;
}
static_assert(cache_bytes_bound() < 1300 * 1024, "the bound in the comment above");

// Refills between two folds of a cache's counts into the shared counters (atomic adds, a few
// dozen instructions per class): the statistics add what each cache holds, so the folds only
// bound how long the counts wait there.
inline constexpr uint32_t kFoldEvery = 64;
// A thread's current zones that come to hold no block keep up to this many written bytes, in
// all, resident for the class's next blocks (ClassCache::unpurged); beyond it, their pages go
// back at once. A loop whose big blocks all come and go (a 64 KiB class used by a few blocks at
// a time) then makes no system call: with a purge at every emptying, churn made 657 madvise
// calls and 8,067 page faults per 500,000 steps (glibc: 1,359 faults), 3.2x glibc's time.
inline constexpr size_t kUnpurgedBudget = size_t{4} << 20;

// A stack entry: the chunk's address, with kFreshBit when it is untouched (zero: calloc need not
// clear it) and its class is a page or more (kFreshMinChunk), where not writing it keeps pages
// out of the resident set (own_zones.cpp prefault_big asks for them only while the program is
// seen to write its blocks whole; the pages still read as zero); smaller chunks are cleared anyway. The bit lies above every address,
// so such an entry fails the fast path's span check and is handed out by hand_out_elsewhere,
// once: malloc's fast path reads the entry as the address itself.
inline constexpr uintptr_t kFreshBit = uintptr_t{1} << 63;
inline constexpr size_t kFreshMinChunk = 4096;
static_assert(kMaxChunksPerZone <= UINT16_MAX, "Zone::cached counts a zone's chunks in 16 bits");

// Zone::list values for the zones a cache owns.
inline constexpr uint8_t kOwnedCurrent = 2;
inline constexpr uint8_t kOwnedPartial = 3;
inline constexpr uint8_t kOwnedFull = 4;

struct OwnedList {
  Zone *head;
};

// One class of a thread's cache. The stack holds free chunks of any zone of the class the cache
// owns: refills push the current zone's, frees push whatever chunk of its own zones the thread
// frees, so that a block freed is the next handed out (LIFO, as glibc's tcache), whichever zone
// it is in. The fast paths know the current zone's layout (the first cache line); a chunk of
// another zone is handed out through its header (hand_out_elsewhere), and that zone counts its
// chunks on the stack (Zone::cached), so that it goes back to the pool as soon as the program
// holds none of its chunks.
struct alignas(512) ClassCache {
  // The first cache line: all that malloc's and free's fast paths read, a copy of the current
  // zone's layout, so that a pair touches no zone header. span is 0 while there is no zone.
  uint32_t count;      // chunks on the stack
  uint32_t chunk_size;
  uintptr_t data;      // current->data()
  uint32_t span;       // current->chunks * chunk_size: a pointer p is one of its chunks' iff p - data < span
  // Free's fast path pushes while count is below it (own_zones.cpp fit_push_limit): the stack's
  // capacity, and for classes with zones above kInlineFreeMaxZone also the count at which the
  // current zone could hold no block, so that the free that empties it goes the slow way. 0
  // while there is no current zone.
  uint32_t push_limit;
  uint64_t div_magic;
  uint64_t *live;      // current's bitmaps and size codes
  uint64_t *pending;
  uint8_t *codes;
  // Mallocs served from the stack, not yet folded into the counters (base/counters.h).
  uint64_t allocs;
  uintptr_t slot[kCacheSlots];  // a stack: the most recently freed chunk on top (| kFreshBit)
  Zone *current;       // the zone refills take chunks from: owned by this cache, or nullptr
  OwnedList partial;   // the other zones of the class this cache owns, with free chunks
  OwnedList full;      // ... and without
  // Chunks that left their zones (+) or came back (-) since the counters last saw this class.
  int64_t out_delta;
  // The current zone's written bytes that were left resident when the program last held none of
  // its blocks (kept for reuse within the thread's budget: ThreadCache::unpurged_bytes).
  size_t unpurged;
};
static_assert(offsetof(ClassCache, slot) == 64, "the fast paths' fields fill the first cache line");
static_assert(sizeof(ClassCache) == 512, "a power of two (kCacheSlots), and aligned to it: a class never straddles two pages");

// What the fast paths read of a cache: its owner id and where each class's ClassCache lies. A
// class is placed when it starts serving (start_class); until then it points at g_unused_class,
// whose stack is empty and whose zones span nothing, so that the fast paths fall to the slow
// ones without reading a page of the class (a fresh page read, then written, faults twice).
struct CacheIndex : ZoneOwner {
  ClassCache *class_of[kCachedClasses];
};

// Read-only zeros (RELRO: a store to it faults), for the classes a cache has not placed.
extern const ClassCache g_unused_class;
constexpr ClassCache *unused_class() { return const_cast<ClassCache *>(&g_unused_class); }

// A ZoneOwner: its id is what the registry keeps beside each zone it owns (1 to 65535; a thread
// beyond that many caches at once runs without one).
struct ThreadCache : CacheIndex {
  // The fields every thread writes first, ahead of the classes: they share the first page with
  // the first six classes it uses (pool[] starts 1 KiB in; each further page holds eight).
  bool idle;               // its thread has exited (under the heap lock)
  bool orphan;             // a fork child's whose zones go to the pool (give_up_orphans)
  uint8_t placed;          // the classes placed in pool[] (start_class), in the order they started
  uint64_t remote_frees;   // frees this thread sent to other caches' zones, not yet folded
  // The sum of classes' unpurged: written pages of current zones that hold no block, left
  // resident so that a class that empties and fills again makes no system call, up to
  // kUnpurgedBudget; beyond it a current zone that empties gives its pages back at once.
  size_t unpurged_bytes;
  uint32_t refills;        // refills since the counters were last folded (fold_counts)
  // A bit per class this cache has placed (set at the class's first refill or adoption): the
  // loops over the classes read those only.
  uint64_t used_classes;
  ThreadCache *next_idle;  // on the list of caches whose thread has exited
  ThreadCache *next_all;   // every cache ever made (the statistics read their pending counts)
  // The words of this cache's zones with remote frees to take in, announced by the threads that
  // freed them (remote_free.h): the ring's indexes here, on cache lines of their own (others
  // write them) in the first page, which refills read; its 4 KiB of slots after the classes, so
  // that the first page also holds the first classes: a thread that no other thread frees to
  // writes one page of its cache for them, not two.
  remote::Notices notices;
  // The classes in the order they started serving, not by index: 1024 mallocs of 1 KiB touched
  // the cache's first page and the fourth (that class's); a thread of up to six classes writes
  // one page of them, of up to fourteen two (sized to need).
  ClassCache pool[kCachedClasses];
  remote::NoticeSlots notice_slots;
};

// Class c of tc, placed or g_unused_class.
inline ClassCache &class_cache(CacheIndex *tc, unsigned c) { return *tc->class_of[c]; }

static_assert(kCachedClasses <= 64, "ThreadCache::used_classes has a bit per class");

// Class c of tc starts serving: placed in the next free ClassCache of the pool (no current zone
// yet: its push limit 0), and its bit in used_classes (read without the lock by the statistics, after class_of[c]).
inline ClassCache &start_class(ThreadCache *tc, unsigned c) {
  FT_ASSERT(!(tc->used_classes >> c & 1) && tc->placed < kCachedClasses);  // each class placed once
  ClassCache &cc = tc->pool[tc->placed++];
  __atomic_store_n(&tc->class_of[c], &cc, __ATOMIC_RELEASE);
  __atomic_store_n(&tc->used_classes, tc->used_classes | uint64_t{1} << c, __ATOMIC_RELEASE);
  return cc;
}
// Class c of tc, placed first if it is not yet.
inline ClassCache &started_class(ThreadCache *tc, unsigned c) {
  return tc->used_classes >> c & 1 ? class_cache(tc, c) : start_class(tc, c);
}
// The lowest class left in mask, taken off it; for `while (mask) f(next_class(mask))`.
inline unsigned next_class(uint64_t &mask) {
  unsigned c = static_cast<unsigned>(__builtin_ctzll(mask));
  mask &= mask - 1;
  return c;
}

// Every cache, for the statistics; guarded by the heap lock.
extern ThreadCache *g_all_caches;

// What the fast paths read first, in one initial-exec TLS block (two pointers and a byte, well
// within what glibc reserves for libraries loaded with dlopen). Neither is ever null: a thread
// without a cache (before its first allocation, FT_MALLOC_TCACHE=0, after its exit) points at
// g_no_cache, an index with no owner whose classes are all g_unused_class, so that malloc and
// free fall to their slow paths without testing for it.
struct FastPathState {
  CacheIndex *cache;    // this thread's cache, or &g_no_cache
  ClassCache *recent;   // the class of the last malloc served from a stack: free asks first
                        // whether the block is the one that stack handed out last (a block is
                        // most often freed soon, by its thread)
  uintptr_t leaf_key;   // the 4 GiB range (address >> 32) of the registry leaf free read last
  const registry::Leaf *leaf;  // (~0: none; cache_fast_path.h cache_free)
  uint8_t unlocked_change;     // tcache::UnlockedChange (in t_fast: one TLS block for the thread)
};
// Never written: in RELRO with g_unused_class, on the page the loader writes for the library's
// relocations, so that a thread's first calls read no page of their own (in .rodata, 31 KiB of
// zeros were file pages that the kernel's fault-around mapped in; in .bss, each page read
// faulted to map the shared zero page).
extern const CacheIndex g_no_cache;
constexpr CacheIndex *no_cache() { return const_cast<CacheIndex *>(&g_no_cache); }
extern __thread FastPathState t_fast __attribute__((tls_model("initial-exec")));

// This thread's cache, or nullptr (the slow paths' view).
inline ThreadCache *own_cache() {
  CacheIndex *tc = t_fast.cache;
  return tc == &g_no_cache ? nullptr : static_cast<ThreadCache *>(tc);
}

namespace tcache {

// How deep this thread is in changing its cache, zones or lists without the heap lock (attach,
// refill, take_in_remote_frees, flush_current, free_through_header, and the rare ends of a push:
// own_zones.cpp push_freed): read by fork's prepare handler, as a fork from a signal handler that
// lands inside one leaves the child a cache to rebuild (api/fork_handlers.h). The pushes and pops
// themselves do not count: one stopped halfway can only have lost the chunk it was moving (their
// stores are ordered for it). Marking free_unlocked whole cost churn-300k 6 instructions a step
// (its tail calls became calls), the rare ends 2. Plain stores in t_fast; the signal fences keep
// the compiler from moving the change's own stores across them.
class UnlockedChange {
 public:
  FT_INLINE UnlockedChange() {
    t_fast.unlocked_change = static_cast<uint8_t>(t_fast.unlocked_change + 1);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
  }
  FT_INLINE ~UnlockedChange() {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t_fast.unlocked_change = static_cast<uint8_t>(t_fast.unlocked_change - 1);
  }
  UnlockedChange(const UnlockedChange &) = delete;
  UnlockedChange &operator=(const UnlockedChange &) = delete;
};

// The cache to use, attaching one on the thread's first call.
ThreadCache *attach();
inline ThreadCache *current() {
  ThreadCache *tc = own_cache();
  return __builtin_expect(tc != nullptr, 1) ? tc : attach();
}

// Refills class c's stack (remote frees taken in first, then the current zone, another zone the
// cache owns, or a zone from the pool under the lock) and pops one entry into *slot.
// False when out of memory.
bool refill(ThreadCache *tc, unsigned c, uintptr_t *slot);
// Hands out stack entry `slot` of cc (class c) that malloc's fast path found outside the current
// zone's span: a chunk of another zone of the cache's, or a fresh one (kFreshBit).
void *hand_out_elsewhere(ClassCache &cc, unsigned c, uintptr_t slot, size_t n, bool zero);
// The same without zeroing (malloc's fast path).
void *hand_out_elsewhere_unzeroed(ClassCache &cc, unsigned c, uintptr_t slot, size_t n);
// The thread frees chunk i of z, a zone it owns. False when the chunk is not a live block (a
// double free, or a chunk never handed out): nothing changed, the caller reports it.
bool free_owned(ThreadCache *tc, Zone *z, uint32_t i);
// A free of chunk i of z, a zone no cache owns, by a thread with a cache: the cache adopts the
// zone (one lock) and frees it as its own. False: adopted by another thread meanwhile, or not a
// live block; the caller takes the locked path.
bool adopt_and_free(ThreadCache *tc, Zone *z, uint32_t i);
// A free that takes no heap lock, for any thread: a chunk of one of this thread's zones (to its
// cache or its zone), of another thread's zone (a remote free: remote_free.h), or of a zone
// nobody owns (adopted, if this thread has a cache). False leaves everything as it was, for the
// locked path, which also reports what is wrong (LARGE, not a live block, not ours).
bool free_unlocked(void *p);
// The same, after free's fast path (cache_fast_path.h) looked p up (e: its registry entry) and
// found it outside its class's current zone.
bool free_unlocked(void *p, uintptr_t e);
// The remote frees announced to tc (its own thread) taken in.
void take_in_remote_frees(ThreadCache *tc);
// Under the heap lock (malloc_trim): the notices left in the rings of caches no thread uses.
void take_in_idle_notices();
// Every cached chunk of every class back to its zone and the wholly free zones given back
// (malloc_trim); the thread keeps its other zones.
void flush_current();
// In a fork child: the caches of the parent's other threads have no thread any more: their zones
// go back to the pool and the caches to the idle list (their cached chunks are lost: a thread may
// have been stopped halfway through a push, so they cannot be trusted). The forking thread's own
// cache keeps its zones when `own_whole` (the thread was in none of its unlocked changes), else
// gives them up as well. The zones are found by their owner on the pool's list of every zone,
// never through those caches' own lists, which a thread stopped by the fork may have left
// halfway. When the forking thread keeps its zones, the others' are left as they are (a page
// written is a page the kernel copies for the child) until the child first frees into one of
// them, needs a zone from the pool or reads the whole heap (give_up_orphans_if_any): a child that
// execs or exits first writes none of them.
void after_fork_in_child(bool own_whole);
// g_orphans: kNoOrphans, or kOrphansLeft after such a fork until the zones went, or
// kOrphansRecovering while a thread gives them up (the others wait).
enum : int { kNoOrphans, kOrphansLeft, kOrphansRecovering };
extern int g_orphans;
void give_up_orphans();
// Before a free into a zone another cache owns, a zone taken from the pool, or a walk of the
// heap, outside the heap lock. True when there were zones to give up (the zone a free was for
// may be the pool's now).
inline bool give_up_orphans_if_any() {
  if (__builtin_expect(__atomic_load_n(&g_orphans, __ATOMIC_ACQUIRE) == kNoOrphans, 1)) return false;
  give_up_orphans();
  return true;
}
// This thread stops using its cache, for good (its exit; a fork child on the rescue allocator):
// every call takes the slow path from now on.
void turn_off_in_this_thread();
// Folds class c's counts (mallocs served, chunks out of zones) and the remote frees into the
// counters.
void fold_counts(ThreadCache *tc, unsigned c);

}  // namespace tcache
}  // namespace ft
