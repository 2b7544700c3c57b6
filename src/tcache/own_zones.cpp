#include "tcache/own_zones.h"
#include "base/compiler.h"

#include "tcache/cache_fast_path.h"

#include "base/counters.h"
#include "large/large_cache.h"
#include "os/mapping.h"
#include "zone/registry.h"
#include "zone/zone_pool.h"

namespace ft::tcache {

// ---- A class's zones (links in the zones, written by the owner only) ----

FT_CORE_TEXT void list_push(OwnedList &l, Zone *z, uint8_t which) {
  FT_ASSERT(z->list == zone_pool::kOffList);
  z->prev = nullptr;
  z->next = l.head;
  if (l.head) l.head->prev = z;
  l.head = z;
  z->list = which;
}

FT_CORE_TEXT void list_unlink(OwnedList &l, Zone *z) {
  (z->prev ? z->prev->next : l.head) = z->next;
  if (z->next) z->next->prev = z->prev;
  z->next = z->prev = nullptr;
  z->list = zone_pool::kOffList;
}

OwnedList &list_of(ClassCache &cc, Zone *z) { return z->list == kOwnedPartial ? cc.partial : cc.full; }

// z, owned by cc's cache and on no list, onto the one its free chunks say.
FT_INLINE void list_push_owned(ClassCache &cc, Zone *z) {
  if (z->avail) list_push(cc.partial, z, kOwnedPartial);
  else list_push(cc.full, z, kOwnedFull);
}

// cc's push limit (thread_cache.h) after the current zone's free chunks, its written pages or
// their count changed, or the zone: the stack's capacity; for a class of zones above
// kInlineFreeMaxZone whose written pages are not all counted as kept (cc.unpurged), also the
// count at which the frees pushed could make up every chunk the zone has out (chunks - avail),
// less one, so that the free that could empty it finds the stack "full" and goes the slow way
// (push_freed's check). Such a zone's written pages must go back beyond the thread's budget as
// soon as it holds no block (current_holds_nothing); smaller zones' wait for the class's next
// refill or flush (zone.h). Before, only the frees of the class last allocated from went inline
// for the 768 B to 128 KiB classes (larson's, of random sizes, went the slow way).
FT_CORE_TEXT void fit_push_limit(ClassCache &cc) {
  const Zone *z = cc.current;
  if (!z) {
    cc.push_limit = 0;  // no zone: free_to_current's span test fails first
    return;
  }
  uint32_t limit = kCacheCapacity.of[z->class_index];
  if (z->class_index >= kInlineFreeClasses && size_t{z->hwm} * z->chunk_size > cc.unpurged) {
    uint32_t out = z->chunks - z->avail;
    uint32_t room = out ? out - 1 : 0;
    if (room < limit) limit = room;
  }
  cc.push_limit = limit;
}

// The fast paths' copy of the current zone's layout. The stack's entries above the count go:
// free's first test takes an entry equal to the block within the current zone's span for a
// chunk's start (cache_fast_path.h last_popped), which one of a zone mapped before at another
// base, overlapping this one, need not be. Not a call to memset: a page of libc's code more for
// a small program (the 42 scale's test2: 3 -> 4 pages); one string store, the core text's room.
FT_CORE_TEXT void make_current(ClassCache &cc, Zone *z) {
  uintptr_t *above = &cc.slot[cc.count];
  size_t n = kCacheSlots - cc.count;
#if defined(__x86_64__)
  __asm__ volatile("rep stosq" : "+D"(above), "+c"(n) : "a"(uintptr_t{0}) : "memory");
#else
  while (n--) __atomic_store_n(above++, uintptr_t{0}, __ATOMIC_RELAXED);
#endif
  z->list = kOwnedCurrent;
  z->adopted = 0;
  cc.current = z;
  cc.data = z->data();
  cc.span = z->chunks * z->chunk_size;
  cc.chunk_size = z->chunk_size;
  cc.div_magic = z->div_magic;
  cc.live = z->live_map();
  cc.pending = z->pending_map();
  cc.codes = z->codes();
  z->pushed_away = 0;
  fit_push_limit(cc);
}

// The zone of a chunk on tc's stacks: one of tc's, mapped as long as the chunk is there.
Zone *zone_of_cached(uintptr_t p) { return registry::entry_zone(registry::lookup_entry(reinterpret_cast<void *>(p))); }

// Whether stack entry s is a chunk of the current zone.
bool in_current(const ClassCache &cc, uintptr_t s) { return (s & ~kFreshBit) - cc.data < cc.span; }

// The written pages of the current zone that stayed resident when it last held no block stop
// counting against the thread's budget (the zone is no longer current, or they went back).
FT_CORE_TEXT void forget_unpurged(ThreadCache *tc, ClassCache &cc) {
  tc->unpurged_bytes -= cc.unpurged;
  cc.unpurged = 0;
}

// The stack's chunks of the current zone (which the fast paths push and pop uncounted).
FT_CORE_TEXT uint32_t current_on_stack(const ClassCache &cc) {
  uint32_t n = 0;
  for (unsigned k = 0; k < cc.count; ++k) n += in_current(cc, cc.slot[k]);
  return n;
}

// No current zone: a pointer is never in its span. The zone counts its chunks on the stack from
// now on (the fast paths did not, while it was current).
FT_CORE_TEXT void clear_current(ThreadCache *tc, ClassCache &cc) {
  if (Zone *z = cc.current) {
    z->list = zone_pool::kOffList;
    z->cached = static_cast<uint16_t>(current_on_stack(cc));
  }
  forget_unpurged(tc, cc);
  cc.current = nullptr;
  cc.data = 0;
  cc.span = 0;
  cc.push_limit = 0;
}

// Entry s of cc's stack back into its zone (avail again). Another zone than the current one is
// returned, for the caller to settle (or nullptr).
FT_CORE_TEXT Zone *give_back_entry(ClassCache &cc, uintptr_t s) {
  uintptr_t p = s & ~kFreshBit;
  --cc.out_delta;
  if (in_current(cc, p)) {
    cc.current->give(cc.current->index_of(p));
    return nullptr;
  }
  Zone *z = zone_of_cached(p);
  FT_ASSERT(z && z->cached > 0);
  --z->cached;
  z->give(z->index_of(p));
  return z;
}

// Every entry of cc's stack back into its zone, the zones' lists left to the caller (its thread
// exits, or gives up its zones).
FT_CORE_TEXT void flush_stack(ClassCache &cc) {
  for (unsigned k = 0; k < cc.count; ++k) give_back_entry(cc, cc.slot[k]);
  cc.count = 0;
}

// The stack's chunks of z, a zone that holds no block any more, back into it (the stack keeps
// its order otherwise).
FT_CORE_TEXT void evict(ClassCache &cc, Zone *z) {
  uintptr_t lo = z->data(), hi = lo + size_t{z->chunks} * z->chunk_size;
  unsigned kept = 0;
  for (unsigned k = 0; k < cc.count; ++k) {
    uintptr_t s = cc.slot[k], p = s & ~kFreshBit;
    if (p - lo < hi - lo) {
      z->give(z->index_of(p));
      --cc.out_delta;
    } else {
      cc.slot[kept++] = s;
    }
  }
  cc.count = kept;
  z->cached = 0;
}

// Zone z of class cc, owned and not current, gained free chunks (frees taken in, stack entries
// given back) or chunks on the stack: from the full list to the partial one; holding no block
// any more: its chunks leave the stack and it goes back to the pool (one lock). True when it went
// back (it may be unmapped already: not to be read again).
[[gnu::noinline]] FT_CORE_TEXT bool settle(ClassCache &cc, Zone *z) {
  if (z->list == kOwnedCurrent) return false;
  if (z->list == kOwnedFull && z->avail) {
    list_unlink(cc.full, z);
    list_push(cc.partial, z, kOwnedPartial);
  }
  if (z->avail + z->cached != z->chunks) return false;
  if (z->cached) evict(cc, z);
  list_unlink(list_of(cc, z), z);
  zone_pool::release(z);
  return true;
}

// A refill that takes chunks never written since their zone was mapped or purged asks for their
// pages' page-table entries in one call, and for those of the chunks the next refills will take:
// a fault costs 10 us here (a virtual machine's trap), MADV_POPULATE_WRITE 1 us a call and 0.6 us
// a page. Only in a class that fills zones (the thread holds a full zone of it): else pages
// asked for early stay resident for nothing. Every refill asking made make bench's larson's peak
// RSS 1.15x -> 1.47x glibc's and the 42 page-reclaim scale's test2 (one block) 3 -> 7 pages;
// refills in a zone of 64 KiB written asking too, mimalloc-bench's larson's 15 -> 20.8 MB (16.3
// -17.6 MB as now). Ahead of the chunks taken, an eighth of what the zone had written, at most
// kPrefaultAhead (8 pages: 0.7 us a page).
inline constexpr size_t kPrefaultAhead = 32 * 1024;
static_assert(kLayouts[kClassCount - 1].zone_size / 4096 <= UINT16_MAX, "Zone::prefaulted_pages counts a zone's pages");

// The chunks a refill took from z, a class under a page, which the program writes anyway.
FT_INLINE void prefault_ahead(const ClassCache &cc, Zone *z, uintptr_t untouched, uintptr_t written_end) {
  if (!cc.full.head) return;
  uintptr_t page = os::page_size(), base = z->base(), data = z->data();
  uintptr_t ready = base + uintptr_t{z->prefaulted_pages} * page;
  if (written_end <= ready) return;  // asked for by an earlier refill
  uintptr_t start = untouched & ~(page - 1);
  if (start < ready) start = ready;
  size_t ahead = (untouched - data) / 8 < kPrefaultAhead ? (untouched - data) / 8 : kPrefaultAhead;
  uintptr_t end = written_end + ahead, chunks_end = data + uintptr_t{z->chunks} * z->chunk_size;
  if (end > chunks_end) end = chunks_end;
  end = os::round_to_pages(end);
  os::prefault(reinterpret_cast<void *>(start), end - start);
  z->prefaulted_pages = static_cast<uint16_t>((end - base) / page);
}

// Chunks of a page or more hold blocks that a program may write in part only (a buffer sized
// for the worst case): their pages are asked for only while the program is seen to write its
// blocks whole. A refill that takes no look leaves its first fresh chunk, the first handed out,
// to be looked at by the next (the pages its block spans, but its first, which the chunk
// before may share, resident: mincore); kPrefaultTrust refills then ask without a look. make
// bench's frag (blocks of 16 B-64 KiB, every page written): 129,700 -> 31,800 faults, 1.11x ->
// 0.70x glibc's CPU time, its peak as before (549 MB; 560 when whole chunks were asked for); a
// program that writes a page of each block asks for none (zones/big_chunks_written_in_part_...).
inline constexpr uint8_t kPrefaultTrust = 16;

// The chunks a refill took from z, a class of a page or more (kFreshBit: untouched until written).
FT_INLINE void prefault_big(Zone *z, uintptr_t untouched, uintptr_t written_end) {
  static_assert(code_format(kClassCount - 1) == CodeFormat::kWord && class_size(kClassCount - 1) >= kFreshMinChunk &&
                    code_format(class_of(kFreshMinChunk)) == CodeFormat::kWord,
                "a chunk of a page or more keeps its block's size in a word");
  if (!z->prefault_trust && z->probe_chunk) {
    // The size its block was given (stale if freed since: its pages still say how it was used).
    uint32_t i = z->probe_chunk - 1u, n = reinterpret_cast<const uint32_t *>(z->codes())[i];
    uintptr_t page = os::page_size(), p = z->data() + uintptr_t{i} * z->chunk_size;
    if (n > z->chunk_size) n = z->chunk_size;
    uintptr_t from = (p & ~(page - 1)) + page, to = os::round_to_pages(p + n);
    if (to > from && os::all_resident(reinterpret_cast<void *>(from), to - from)) z->prefault_trust = kPrefaultTrust;
  }
  z->probe_chunk = 0;
  if (z->prefault_trust) {
    --z->prefault_trust;
    // The last chunk's pages short of a quarter of its doubling, at least what separates it from
    // the class below: a block of the class may leave its chunk's tail unwritten (frag's RSS
    // after its frees: 546.9 MiB asking for whole chunks, 536.1 without asking; glibc 502.7).
    static_assert(kClassesPerDoubling == 4, "the classes above a page are a quarter of a doubling apart");
    size_t slack = (uint32_t{1} << (31 - __builtin_clz(z->chunk_size))) / 4;
    os::prefault(reinterpret_cast<void *>(untouched), written_end - slack - untouched);
  } else {
    z->probe_chunk = static_cast<uint16_t>(z->index_of(untouched) + 1);
  }
}

// The chunks a refill took from z, all fresh (never written since the zone was mapped or
// purged), lie in [untouched, written_end): their pages asked for, or not.
[[gnu::noinline]] FT_CORE_TEXT void prefault_taken(const ClassCache &cc, Zone *z, uintptr_t untouched,
                                                   uintptr_t written_end) {
  if (z->chunk_size >= kFreshMinChunk) prefault_big(z, untouched, written_end);
  else prefault_ahead(cc, z, untouched, written_end);
}

FT_CORE_TEXT bool refill(ThreadCache *tc, unsigned c, uintptr_t *slot) {
  UnlockedChange change;
  // The counts reach the shared counters every kFoldEvery refills, not at each: the statistics
  // add what the caches hold (introspect/statistics.cpp).
  if (++tc->refills >= kFoldEvery) {
    tc->refills = 0;
    for (uint64_t used = tc->used_classes; used;) fold_counts(tc, next_class(used));
  }
  take_in_remote_frees(tc);
  large::cache::expire_if_due();  // a slow path that runs often: idle LARGE mappings go back
  // Placed at the class's first refill, not when the cache is made: a program touches the pages
  // of the classes it uses only. Until then g_unused_class sends every call of the class here.
  ClassCache &cc = started_class(tc, c);
  if (cc.count) {  // remote frees taken in above were pushed? (never: they go to their zones)
    *slot = cc.slot[--cc.count];
    return true;
  }
  for (;;) {
    Zone *z = cc.current;
    if (z && z->avail) {
      // Half the capacity: the next frees have room, the next mallocs have chunks.
      unsigned capacity = kCacheCapacity.of[c];
      unsigned want = capacity / 2 ? capacity / 2 : 1;
      unsigned got = want < z->avail ? want : z->avail;
      // Stacked from the top down, so that the lowest address is handed out first: the pages
      // of a zone are touched in order, the first beside the zone's header. A bitmap word at
      // a time (take_many): one call per refill, not one per chunk (glibc-simple's pattern, 400
      // blocks of 64 B allocated then all freed: 186 -> 164 instructions a pair).
      uintptr_t untouched = z->data() + uintptr_t{z->hwm} * z->chunk_size;
      uintptr_t *top = &cc.slot[0];
      got = z->take_many(top, got);
      // Pages asked for only when every chunk taken is fresh, as when a zone is first filled:
      // a refill of a heap that churns takes a fresh chunk now and then.
      uintptr_t written_end = z->data() + uintptr_t{z->hwm} * z->chunk_size;
      bool all_fresh = top[got - 1] >= untouched;  // the lowest chunk taken (take_many fills downwards)
      if (z->chunk_size >= kFreshMinChunk)
        for (unsigned k = 0; k < got; ++k)
          if (top[k] >= untouched) top[k] |= kFreshBit;
      if (all_fresh) prefault_taken(cc, z, untouched, written_end);
      cc.out_delta += got;
      cc.count = got - 1;
      fit_push_limit(cc);
      *slot = cc.slot[got - 1];
      return true;
    }
    if (z) {  // nothing left in it: on the full list until a chunk of it is freed
      clear_current(tc, cc);
      list_push(cc.full, z, kOwnedFull);
    }
    if (Zone *next = cc.partial.head) {
      list_unlink(cc.partial, next);
      make_current(cc, next);
      continue;
    }
    // A fork child's first zone from the pool: the zones of the parent's other threads go there
    // first, so that their free chunks serve before a zone is mapped.
    give_up_orphans_if_any();
    Zone *fresh = zone_pool::acquire(c, tc);
    if (!fresh) return false;
    make_current(cc, fresh);
  }
}

namespace {
// A chunk of another of the thread's zones of class c, handed out through that zone's header.
// Apart from the current zone's case, out of the core text: a program that holds one zone of a
// class never comes here. Two functions, not a template: its instances left the hot text.
FT_INLINE void *hand_out_away_inline(unsigned c, char *p, size_t n, bool zero, bool fresh) {
  // Through the thread's copy of the leaf it read last, as free's fast path.
  Zone *z = registry::entry_zone(lookup_entry_here(p));
  FT_ASSERT(z && z->class_index == c && z->cached > 0 && !z->is_avail(z->index_of(reinterpret_cast<uintptr_t>(p))));
  --z->cached;
  __atomic_signal_fence(__ATOMIC_ACQ_REL);  // uncounted before it is live (push_freed says why)
  return mark_handed_out(z->live_map(), z->codes(), z->chunk_size, c, z->index_of(reinterpret_cast<uintptr_t>(p)), p,
                         n, zero, fresh);
}
[[gnu::noinline]] FT_HOT_TEXT void *hand_out_away(unsigned c, char *p, size_t n, bool fresh) {
  return hand_out_away_inline(c, p, n, false, fresh);
}
[[gnu::noinline]] FT_HOT_TEXT void *hand_out_away_zeroed(unsigned c, char *p, size_t n, bool fresh) {
  return hand_out_away_inline(c, p, n, true, fresh);
}

template <bool Zero>
FT_INLINE void *hand_out_elsewhere_inline(ClassCache &cc, unsigned c, uintptr_t slot, size_t n) {
  char *p = reinterpret_cast<char *>(slot & ~kFreshBit);
  bool fresh = slot & kFreshBit;
  if (in_current(cc, slot)) {
    bool exact;
    uint32_t i = static_cast<uint32_t>(chunk_index(reinterpret_cast<uintptr_t>(p) - cc.data, cc.div_magic, &exact));
    FT_ASSERT(!cc.current->is_avail(i));
    return mark_handed_out(cc.live, cc.codes, cc.chunk_size, c, i, p, n, Zero, fresh);
  }
  return Zero ? hand_out_away_zeroed(c, p, n, fresh) : hand_out_away(c, p, n, fresh);
}
}  // namespace

FT_CORE_TEXT void *hand_out_elsewhere(ClassCache &cc, unsigned c, uintptr_t slot, size_t n, bool zero) {
  return zero ? hand_out_elsewhere_inline<true>(cc, c, slot, n) : hand_out_elsewhere_inline<false>(cc, c, slot, n);
}
// malloc's: no memset to call, so a leaf that saves no register (churn-300k: 11 instructions a
// call went to the pushes and pops the zeroing path's call needed).
FT_CORE_TEXT void *hand_out_elsewhere_unzeroed(ClassCache &cc, unsigned c, uintptr_t slot, size_t n) {
  return hand_out_elsewhere_inline<false>(cc, c, slot, n);
}

namespace {

// The current zone of cc holds no block (every chunk avail or on the stack): its written pages
// stay resident for the class's next blocks while the thread's budget allows, else go back, as
// the pool's reserve's do, so that a freed peak does not stay resident.
bool holds_nothing(const ClassCache &cc) { return cc.current->avail + current_on_stack(cc) == cc.current->chunks; }

// The current zone of cc, holding no block, gives its written pages back; they stop counting
// against the thread's budget.
[[gnu::noinline]] FT_CORE_TEXT void purge_current(ThreadCache *tc, ClassCache &cc) {
  Zone *z = cc.current;
  forget_unpurged(tc, cc);
  zone_pool::give_back_pages(z);
  // The stacked chunks will be written again and come back as avail: the high-water mark
  // stays above them, so that none is taken later as untouched (zero).
  for (unsigned k = 0; k < cc.count; ++k) {
    uintptr_t p = cc.slot[k] & ~kFreshBit;
    if (!in_current(cc, p)) continue;
    uint32_t j = z->index_of(p) + 1u;
    if (j > z->hwm) z->hwm = j;
    cc.slot[k] = p;
  }
  // Given back: no free need look again before the class's next refill (fit_push_limit), which
  // may write pages. Looking, a pair loop over budget gave its pages back at every free.
  cc.push_limit = kCacheCapacity.of[z->class_index];
}

// Pages kept for nothing beyond kUnpurgedFloor stay within kUnpurgedPerLive times what the
// program holds (the chunks out of their zones and the LARGE blocks of every thread, less this
// thread's stacks; its counts folded in first, as a peak being freed makes no refill that would
// fold them): a loop whose big blocks come and go around a live heap keeps its kUnpurgedBudget
// (make bench's churn, 1.2-4.7 MB live: 20 -> 25 madvise calls per million steps, churn-1k 213
// -> 215 instructions a step; twice the live bytes and a 1 MiB floor made 160, 12 % more time),
// a peak freed keeps the floor. 200 MB of mixed blocks allocated, then all freed (5 seeds):
// resident left 7.5-8.2 -> 4.1-4.5 MiB.
inline constexpr size_t kUnpurgedFloor = size_t{2} << 20;
inline constexpr size_t kUnpurgedPerLive = 4;
[[gnu::noinline]] FT_CORE_TEXT size_t unpurged_budget(ThreadCache *tc) {
  int64_t stacked = 0;
  for (uint64_t used = tc->used_classes; used;) {
    unsigned c = next_class(used);
    fold_counts(tc, c);
    stacked += static_cast<int64_t>(class_cache(tc, c).count * class_size(c));
  }
  int64_t live = counters::live_bytes() - stacked;
  size_t bound = live > 0 ? kUnpurgedPerLive * static_cast<size_t>(live) : 0;
  if (bound < kUnpurgedFloor) bound = kUnpurgedFloor;
  return bound < kUnpurgedBudget ? bound : kUnpurgedBudget;
}

// Over budget: the classes whose current zone holds blocks again leave the count (their pages
// are in use, not kept for nothing); when the budget shrank with the heap, the others' kept
// pages go back too, while it is still exceeded (at the full budget, the zone that just emptied
// is the one purged: purging the others instead made churn's kept zones come and go, 20 -> 164
// madvise calls per million steps). Rare.
[[gnu::noinline]] FT_CORE_TEXT void make_room(ThreadCache *tc, ClassCache &cc, size_t written, size_t budget) {
  for (uint64_t used = tc->used_classes; used;) {
    ClassCache &other = class_cache(tc, next_class(used));
    if (!other.unpurged || &other == &cc) continue;
    if (!holds_nothing(other)) forget_unpurged(tc, other), fit_push_limit(other);
    else if (budget < kUnpurgedBudget && tc->unpurged_bytes - cc.unpurged + written > budget) purge_current(tc, other);
  }
}

FT_CORE_TEXT void current_holds_nothing(ThreadCache *tc, ClassCache &cc) {
  size_t written = size_t{cc.current->hwm} * cc.current->chunk_size;
  if (written <= cc.unpurged) return;  // counted already
  size_t after = tc->unpurged_bytes - cc.unpurged + written;
  size_t budget = after <= kUnpurgedFloor ? kUnpurgedBudget : unpurged_budget(tc);
  if (after > budget) make_room(tc, cc, written, budget);
  if (tc->unpurged_bytes - cc.unpurged + written <= budget) {
    tc->unpurged_bytes += written - cc.unpurged;
    cc.unpurged = written;
    fit_push_limit(cc);  // counted: no free need look again until pages are written
    return;
  }
  purge_current(tc, cc);
}

}  // namespace

FT_CORE_TEXT void give_back_oldest(ClassCache &cc, unsigned n) {
  // The current zone's entries go back in one call (Zone::give_many), the others one by one
  // (400 blocks of 64 B allocated, then all freed: 164 -> 155 instructions a pair).
  uintptr_t mine[kCacheSlots], others[kCacheSlots];
  unsigned n_mine = 0, n_others = 0;
  for (unsigned k = 0; k < n; ++k) {
    uintptr_t s = cc.slot[k];
    if (in_current(cc, s)) mine[n_mine++] = s;
    else others[n_others++] = s;
  }
  for (unsigned k = n; k < cc.count; ++k) cc.slot[k - n] = cc.slot[k];
  cc.count = cc.count - n;
  if (n_mine) {
    cc.current->give_many(mine, n_mine, kFreshBit);
    cc.out_delta -= n_mine;
    fit_push_limit(cc);
  }
  // Off the stack first: settle may evict a zone's other entries from it.
  for (unsigned k = 0; k < n_others; ++k)
    if (Zone *z = give_back_entry(cc, others[k])) settle(cc, z);
}

namespace {

// The stack is full: its oldest half goes back to the zones (at least one: a stack of one chunk
// flushes it).
[[gnu::noinline]] FT_CORE_TEXT void flush_half(ClassCache &cc) { give_back_oldest(cc, (cc.count + 1) / 2); }

// After a push onto cc's stack, when the current zone's free chunks and the stack together could
// make up all its chunks: whether it holds no block now (a scan of the stack).
[[gnu::noinline]] FT_CORE_TEXT void check_current(ThreadCache *tc, ClassCache &cc) {
  if (holds_nothing(cc)) current_holds_nothing(tc, cc);
}

// The rare ends of a push, out of line so that its common path keeps no register across a call
// (each returns true, the free having been done).
[[gnu::noinline]] bool push_after_flush(ThreadCache *tc, ClassCache &cc, Zone *z, uintptr_t p);
[[gnu::noinline]] FT_CORE_TEXT bool after_push_check_current(ThreadCache *tc, ClassCache &cc) {
  UnlockedChange change;
  check_current(tc, cc);
  return true;
}
[[gnu::noinline]] FT_CORE_TEXT bool after_push_settle(ClassCache &cc, Zone *z) {
  UnlockedChange change;
  settle(cc, z);  // it holds no block now
  return true;
}

// Chunk p of z, not the current zone, goes straight back into z instead of onto the stack:
// - when the stack is full, without a flush: a program tearing down a big structure frees far
//   more than it mallocs, and each chunk went onto the stack to come off it in a flush of half
//   of it, with a registry lookup there (tree of 2^19 nodes of 24 B, built, walked and freed:
//   378 -> 323 instructions per node);
// - when the thread adopted z (it holds blocks that another thread, gone, allocated): so that
//   z empties and goes back to the pool. On the stack, its chunks were handed out again, each
//   through z's header, and z never emptied: larson, whose threads take over the blocks of
//   the round before, freed 10 % of its blocks and allocated as many through the headers;
//   2 threads, 10 rounds, 11 runs: 0.98x -> 0.71x glibc's time.
[[gnu::noinline]] FT_CORE_TEXT bool give_straight_back(ClassCache &cc, Zone *z, uint32_t i) {
  UnlockedChange change;
  z->give(i);
  --cc.out_delta;
  if (z->list == kOwnedFull || z->avail + z->cached == z->chunks) settle(cc, z);
  return true;
}

// The current zone follows the thread's frees. A program holding a few more blocks of a class
// than one zone has filled that zone and made the next current; then nearly all its frees and
// mallocs were of the full zone's chunks, each through the registry and the zone's header. So a
// zone that receives kFollowAt frees while another is current becomes the current one, and the
// fast paths serve its chunks from then on. Measured: 1,000 blocks of 64 B, a random one freed
// and a new one allocated at each step: 230 -> 115 instructions a step (the loop's own 40
// included), 42.5 -> 29.6 ns (glibc 27.6). Frees spread evenly over many zones switch zones
// once per kFollowAt frees at most: with the count, churn-300k 296 -> 301 instructions a step.
inline constexpr unsigned kFollowAt = 1024;

[[gnu::noinline]] FT_HOT_TEXT bool after_push_follow(ThreadCache *tc, ClassCache &cc, Zone *z) {
  UnlockedChange change;
  if (z->list != kOwnedPartial && z->list != kOwnedFull) return true;
  Zone *old = cc.current;
  list_unlink(list_of(cc, z), z);
  if (old) {
    clear_current(tc, cc);
    list_push_owned(cc, old);
  }
  make_current(cc, z);
  if (old) settle(cc, old);  // it may hold nothing: back to the pool
  return true;
}

// Chunk p (index i) of z, just freed by its owner's thread, onto the stack of its class (or back
// into z: give_straight_back). Its common path, like the inline fast paths, goes unmarked
// (UnlockedChange costs a frame here: churn-300k 300 -> 306 instructions a step): stopped
// anywhere by a fork, it leaves the child at worst a chunk lost, never one counted twice. So a
// chunk of another zone is counted in z->cached before it is pushed (one counted and not pushed
// keeps z from ever looking empty; one pushed and not counted would let it go back to the pool
// from under the stack), and the slot is written before the count. The rare ends are marked.
FT_INLINE bool push_freed(ThreadCache *tc, ClassCache &cc, Zone *z, unsigned c, uintptr_t p, uint32_t i) {
  uint32_t chunks = kLayouts[c].chunks, capacity = kCacheCapacity.of[c];
  if (z != cc.current && (cc.count == capacity || z->adopted)) return give_straight_back(cc, z, i);
  uint32_t count = cc.count;
  if (__builtin_expect(count == capacity, 0)) return push_after_flush(tc, cc, z, p);
  if (z == cc.current) {
    cc.slot[count] = p;
    __atomic_signal_fence(__ATOMIC_RELEASE);
    cc.count = count + 1;
    if (__builtin_expect(z->avail + count + 1 >= chunks, 0)) return after_push_check_current(tc, cc);
    return true;
  }
  uint32_t cached = ++z->cached;
  __atomic_signal_fence(__ATOMIC_RELEASE);
  cc.slot[count] = p;
  __atomic_signal_fence(__ATOMIC_RELEASE);
  cc.count = count + 1;
  if (__builtin_expect(z->avail + cached == chunks, 0)) return after_push_settle(cc, z);
  if (__builtin_expect(++z->pushed_away >= kFollowAt, 0)) return after_push_follow(tc, cc, z);
  return true;
}

FT_CORE_TEXT bool push_after_flush(ThreadCache *tc, ClassCache &cc, Zone *z, uintptr_t p) {
  UnlockedChange change;
  flush_half(cc);  // never z's last chunks: z holds this one
  return push_freed(tc, cc, z, z->class_index, p, z->index_of(p));
}

// free_owned with the chunk's address at hand: inline in free_unlocked, every free of a block
// of the thread's own zones that is not of its current class comes here.
FT_INLINE bool push_owned(ThreadCache *tc, Zone *z, uint32_t i, uintptr_t p) {
  uint64_t *live = &z->live_map()[i / 64], v = __atomic_load_n(live, __ATOMIC_RELAXED);
  // A chunk not held (not live, or freed by another thread already): a second free, which the
  // caller reports. The bit tests of free_to_current (btr and bt, their flags read by the
  // branches): the compiler's masks took 6 more instructions per free (churn-300k: 330 -> 324).
  if (!take_bit(&v, i)) return false;
  if (bit_at(__atomic_load_n(&z->pending_map()[i / 64], __ATOMIC_RELAXED), i)) return false;
  __atomic_store_n(live, v, __ATOMIC_RELAXED);
  unsigned c = z->class_index;
  return push_freed(tc, class_cache(tc, c), z, c, p, i);
}

}  // namespace

FT_CORE_TEXT bool free_owned(ThreadCache *tc, Zone *z, uint32_t i) {
  return push_owned(tc, z, i, reinterpret_cast<uintptr_t>(z->chunk(i)));
}

FT_HOT_TEXT bool adopt_and_free(ThreadCache *tc, Zone *z, uint32_t i) {
  if (z->class_index >= kCachedClasses || !zone_pool::adopt(z, tc)) return false;
  ClassCache &cc = started_class(tc, z->class_index);
  z->adopted = 1;
  list_push_owned(cc, z);
  if (free_owned(tc, z, i)) return true;
  settle(cc, z);  // not a live chunk: the zone is ours all the same
  return false;
}

namespace {

// p, of z, one of this thread's zones (its registry entry says so, and its class c), but not
// c's current one: the chunk found through c's layout and z's color (zone_color, from z's
// address), not through z's header, of which only the second line's counts are read
// (push_freed). Every header sits on a 64 KiB boundary, in one cache set: with many zones, such
// a free missed the first line, and the bitmap words waited for the offsets it holds. No magic
// check: nothing of the header's first line is trusted here, and the registry entry (ours)
// names the zone and its owner. Callgrind's cache simulation: mimalloc-bench's alloc-test
// (256 Ki slots, random frees) L1 read misses 41.2 M -> 38.0 M; churn-300k (1.2 M steps) L1
// 13.7 M -> 12.7 M, last level 8.1 M -> 7.3 M; instructions unchanged (churn-300k 324 -> 323
// per step). Wall time here: within the machine's noise (one library's runs differ by 14 %).
FT_INLINE bool free_into_own_zone(ThreadCache *tc, Zone *z, unsigned c, uintptr_t p) {
  const ZoneLayout &l = kLayouts[c];
  uintptr_t base = reinterpret_cast<uintptr_t>(z);
  uint64_t off = p - (base + l.data_offset);  // wraps below the chunks
  if (off >= l.span) return false;
  bool exact;
  uint64_t i = chunk_index(off, l.div_magic, &exact);
  if (!exact) return false;
  uint32_t color = zone_color(base, l);
  uint64_t *live = reinterpret_cast<uint64_t *>(base + l.live_offset + color) + i / 64;
  FT_ASSERT(live == &z->live_map()[i / 64] && live + l.words == &z->pending_map()[i / 64]);
  uint64_t v = __atomic_load_n(live, __ATOMIC_RELAXED);
  // As push_owned: a chunk not held is a second free, which the caller reports.
  if (!take_bit(&v, i)) return false;
  const uint64_t *pending = live + l.words;  // the pending bitmap follows the live one
  if (bit_at(__atomic_load_n(pending, __ATOMIC_RELAXED), i)) return false;
  __atomic_store_n(live, v, __ATOMIC_RELAXED);
  return push_freed(tc, class_cache(tc, c), z, c, p, static_cast<uint32_t>(i));
}

// free_unlocked of a chunk of a zone another thread's cache owns, or no cache: the zone's header
// read (its magic checked: the zone may change hands) and the chunk sent where its owner says.
// Apart, so that free_unlocked's own paths save no registers.
__attribute__((noinline)) FT_HOT_TEXT bool free_through_header(void *p, uintptr_t e, Zone *z) {
  UnlockedChange change;
  if (!z->magic_ok()) return false;
  uint64_t off = reinterpret_cast<uintptr_t>(p) - z->data();  // wraps below the chunks
  if (off >= uint64_t{z->chunks} * z->chunk_size) return false;
  bool exact;
  uint32_t i = static_cast<uint32_t>(chunk_index(off, z->div_magic, &exact));
  if (!exact) return false;
  uint32_t id = registry::entry_owner(e);
  ThreadCache *tc = own_cache();  // none yet: nothing of its own to free, nothing to adopt with
  if (!id) return tc && adopt_and_free(tc, z, i);
  // A fork child's first free into a zone of the parent's other threads: the zone may be the
  // pool's now, and the locked path frees the chunk.
  if (give_up_orphans_if_any()) return false;
  return remote::free_chunk(z, i, id, tc);
}

}  // namespace

FT_CORE_TEXT bool free_unlocked(void *p, uintptr_t e) {
  Zone *z = registry::entry_zone(e);
  if (!z) return false;
  // A thread without a cache reads g_no_cache's owner id, 0, which no owned zone has.
  CacheIndex *index = t_fast.cache;
  uint32_t id = registry::entry_owner(e);
  if (id && id == index->owner_id) {
    auto *tc = static_cast<ThreadCache *>(index);
    // Every class is cached (kCachedClasses): a zone a cache owns is of one of them.
    unsigned c = registry::entry_class(e);
    FT_ASSERT(c < kCachedClasses && c == z->class_index);
    return free_into_own_zone(tc, z, c, reinterpret_cast<uintptr_t>(p));
  }
  return free_through_header(p, e, z);
}

FT_CORE_TEXT bool free_unlocked(void *p) {
  // The current zone of its class first: freed as the inline fast path frees, through the cache's
  // copy of the zone's layout, without reading the zone header (registry.h: kClassShift); an
  // empty entry has no class. Anything else goes the whole way.
  uintptr_t e = registry::lookup_entry(p);
  return free_to_own_class(e, p) || free_unlocked(p, e);
}

}  // namespace ft::tcache
