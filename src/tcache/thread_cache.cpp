#include "tcache/thread_cache.h"
#include "base/compiler.h"

#include <pthread.h>

#include "tcache/cache_fast_path.h"

#include "base/counters.h"
#include "base/misuse_report.h"
#include "base/settings.h"
#include "large/large_cache.h"
#include "os/heap_lock.h"
#include "os/mapping.h"
#include "zone/registry.h"
#include "zone/zone_pool.h"

namespace ft {

// Read-only zeros: never written (every fast path leaves it at once), and read from pages of the
// program's file that are mapped already rather than from a page of .bss touched for it alone.
constinit const ThreadCache g_no_cache = {};
__thread FastPathState t_fast __attribute__((tls_model("initial-exec"))) = {no_cache(), &no_cache()->classes[0]};
constinit ThreadCache *g_all_caches = nullptr;

namespace tcache {
namespace {

enum : uint8_t { kUnattached, kAttaching, kActive, kOff };
__thread uint8_t t_state __attribute__((tls_model("initial-exec"))) = kUnattached;

// Guarded by the heap lock.
constinit ThreadCache *g_idle = nullptr;
constinit bool g_key_made = false;
constinit pthread_key_t g_key;

// Caches by id: a registry entry names a zone's owner by id, and a remote free finds the owner's
// ring of notices through it. Ids are given once per cache (caches are reused, never unmapped).
// 65535 ids: 512 KiB of .bss, touched only where used.
constexpr uint32_t kMaxCaches = registry::kOwnerIdMask;
// The caches by owner id: the first few among the small globals (a program with a thread or two
// touches no page for the table), the rest in a big table.
constexpr uint32_t kFirstIds = 64;
constinit ThreadCache *g_first_ids[kFirstIds] = {};
FT_BIG_TABLE constinit ThreadCache *g_more_ids[kMaxCaches + 1 - kFirstIds] = {};
ThreadCache **by_id(uint32_t id) { return id < kFirstIds ? &g_first_ids[id] : &g_more_ids[id - kFirstIds]; }
constinit uint32_t g_ids_given = 0;

// ---- A class's zones (links in the zones, written by the owner only) ----

void list_push(OwnedList &l, Zone *z, uint8_t which) {
  FT_ASSERT(z->list == zone_pool::kOffList);
  z->prev = nullptr;
  z->next = l.head;
  if (l.head) l.head->prev = z;
  l.head = z;
  z->list = which;
}

void list_unlink(OwnedList &l, Zone *z) {
  (z->prev ? z->prev->next : l.head) = z->next;
  if (z->next) z->next->prev = z->prev;
  z->next = z->prev = nullptr;
  z->list = zone_pool::kOffList;
}

OwnedList &list_of(ClassCache &cc, Zone *z) { return z->list == kOwnedPartial ? cc.partial : cc.full; }

// The fast paths' copy of the current zone's layout.
void make_current(ClassCache &cc, Zone *z) {
  z->list = kOwnedCurrent;
  cc.current = z;
  cc.data = z->data();
  cc.span = z->chunks * z->chunk_size;
  cc.chunk_size = z->chunk_size;
  cc.div_magic = z->div_magic;
  cc.live = z->live_map();
  cc.pending = z->pending_map();
  cc.codes = z->codes();
}

// The zone of a chunk on tc's stacks: one of tc's, mapped as long as the chunk is there.
Zone *zone_of_cached(uintptr_t p) { return registry::entry_zone(registry::lookup_entry(reinterpret_cast<void *>(p))); }

// Whether stack entry s is a chunk of the current zone.
bool in_current(const ClassCache &cc, uintptr_t s) { return (s & ~kFreshBit) - cc.data < cc.span; }

// The written pages of the current zone that stayed resident when it last held no block stop
// counting against the thread's budget (the zone is no longer current, or they went back).
void forget_unpurged(ThreadCache *tc, ClassCache &cc) {
  tc->unpurged_bytes -= cc.unpurged;
  cc.unpurged = 0;
}

// No current zone: a pointer is never in its span. The zone counts its chunks on the stack from
// now on (the fast paths did not, while it was current).
void clear_current(ThreadCache *tc, ClassCache &cc) {
  if (Zone *z = cc.current) {
    z->list = zone_pool::kOffList;
    uint16_t n = 0;
    for (unsigned k = 0; k < cc.count; ++k) n = static_cast<uint16_t>(n + in_current(cc, cc.slot[k]));
    z->cached = n;
  }
  forget_unpurged(tc, cc);
  cc.current = nullptr;
  cc.data = 0;
  cc.span = 0;
}

// Entry s of cc's stack back into its zone (avail again). Another zone than the current one is
// returned, for the caller to settle (or nullptr).
Zone *give_back_entry(ClassCache &cc, uintptr_t s) {
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
void flush_stack(ClassCache &cc) {
  for (unsigned k = 0; k < cc.count; ++k) give_back_entry(cc, cc.slot[k]);
  cc.count = 0;
}

// The stack's chunks of z, a zone that holds no block any more, back into it (the stack keeps
// its order otherwise).
void evict(ClassCache &cc, Zone *z) {
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
[[gnu::noinline]] bool settle(ClassCache &cc, Zone *z) {
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

void report_double_free(Zone *z, uint32_t i) {
  report_fault(Call::kFree, z->chunk(i),
               FaultInfo{Fault::kDoubleFree, kind_of_class(z->class_index), reinterpret_cast<uintptr_t>(z->chunk(i)),
                         z->chunk_size, 0});
}

// Remote frees of word pw of z, a zone tc owns, taken in. True when z went back to the pool.
bool take_in_word(ThreadCache *tc, Zone *z, uint32_t pw) {
  uint32_t second_free;
  uint32_t got = z->collect_pending_word(pw, &second_free);
  ClassCache &cc = tc->classes[z->class_index];
  cc.out_delta -= got;
  if (second_free) report_double_free(z, second_free - 1);
  return got && settle(cc, z);
}

// One announced word off tc's ring. The registry says whether z is still tc's (it is never read
// otherwise: it may have been unmapped), given to the pool since (the pool takes the frees in,
// under the lock), or adopted by another cache (the notice goes on to it).
void take_in_notice(Zone *z, uint32_t pw, void *ctx) {
  auto *tc = static_cast<ThreadCache *>(ctx);
  uintptr_t e = registry::lookup_entry(z);
  if (registry::entry_zone(e) != z) return;  // unmapped since: its frees went with it
  uint32_t id = registry::entry_owner(e);
  if (id == tc->owner_id) take_in_word(tc, z, pw);
  else if (!id) zone_pool::collect_unowned(z);
  else if (ThreadCache *other = remote::cache_with_id(id)) remote::announce(other, z, pw);
}

// Every pending word of every zone tc owns (announcements were lost: the ring was full).
void take_in_everything(ThreadCache *tc) {
  for (ClassCache &cc : tc->classes) {
    Zone *lists[] = {cc.current, cc.partial.head, cc.full.head};
    for (unsigned l = 0; l < 3; ++l)
      for (Zone *z = lists[l]; z;) {
        Zone *next = l ? z->next : nullptr;  // take_in_word may move z to another list, or give it up
        for (uint32_t pw = 0, n = z->layout().words; pw < n; ++pw)
          if (take_in_word(tc, z, pw)) break;
        z = next;
      }
  }
}

// Every zone tc owns back to the pool (its thread exits, or a fork child: the thread does not
// exist there, or is the forking one, maybe stopped inside its fast paths by a signal handler):
// the stacks flushed first unless `drop_stacks` (a fork child: their chunks are then lost, and
// each zone's counts are worked out again from its bitmap).
void give_up_all(ThreadCache *tc, bool drop_stacks) {
  constexpr unsigned kBatch = 64;  // zones per lock acquisition
  Zone *batch[kBatch];
  unsigned n = 0;
  auto give_up = [&](Zone *z) {
    if (drop_stacks) z->recount();  // a fork child: the owner may have stopped inside take or give
    if (n == kBatch) zone_pool::abandon(batch, n), n = 0;
    batch[n++] = z;
  };
  for (unsigned c = 0; c < kCachedClasses; ++c) {
    ClassCache &cc = tc->classes[c];
    fold_counts(tc, c);
    if (drop_stacks) cc.count = 0;  // the chunks are lost with the thread
    else flush_stack(cc);
    if (Zone *z = cc.current) {
      clear_current(tc, cc);
      z->cached = 0;
      give_up(z);
    }
    OwnedList *lists[] = {&cc.partial, &cc.full};
    for (OwnedList *l : lists)
      while (Zone *z = l->head) {
        list_unlink(*l, z);
        z->cached = 0;
        give_up(z);
      }
  }
  if (n) zone_pool::abandon(batch, n);
  if (t_fast.cache == tc) t_fast.recent = &tc->classes[0];
}

// pthread key destructor: the thread is exiting. Its zones go back to the pool and the cache to
// the idle list; a later free() or malloc() on this thread (another key's destructor) takes the
// slow paths instead.
void thread_exit(void *arg) {
  auto *tc = static_cast<ThreadCache *>(arg);
  t_fast = FastPathState{no_cache(), &no_cache()->classes[0]};
  t_state = kOff;
  take_in_remote_frees(tc);
  give_up_all(tc, false);
  HeapLock lock;
  tc->idle = true;
  tc->next_idle = g_idle;
  g_idle = tc;
}

void reset_notices(remote::Notices &n, bool lost) {
  for (uintptr_t &s : n.slot) s = 0;
  n.head = n.tail = 0;
  n.lost = lost;
}

}  // namespace

ThreadCache *attach() {
  if (t_state != kUnattached) return nullptr;
  if (!g_config.tcache) {
    t_state = kOff;
    return nullptr;
  }
  t_state = kAttaching;  // pthread_setspecific below may call malloc: it takes the lock path
  ThreadCache *tc;
  {
    HeapLock lock;
    if (!g_key_made) g_key_made = pthread_key_create(&g_key, thread_exit) == 0;
    tc = g_idle;
    if (tc) {
      g_idle = tc->next_idle;
      tc->idle = false;
    }
  }
  if (!tc) {
    if (g_ids_given == kMaxCaches) {  // racy read: a hint; the lock below decides
      t_state = kOff;
      return nullptr;
    }
    tc = static_cast<ThreadCache *>(os::map(os::round_to_pages(sizeof(ThreadCache))));
    if (!tc) {
      t_state = kUnattached;  // try again on a later call
      return nullptr;
    }
    HeapLock lock;
    if (g_ids_given == kMaxCaches) {
      lock.unlock();
      os::unmap(tc, os::round_to_pages(sizeof(ThreadCache)));
      t_state = kOff;
      return nullptr;
    }
    tc->owner_id = ++g_ids_given;
    __atomic_store_n(by_id(tc->owner_id), tc, __ATOMIC_RELEASE);
    tc->next_all = g_all_caches;
    g_all_caches = tc;
  }
  if (!g_key_made || pthread_setspecific(g_key, tc) != 0) {
    HeapLock lock;
    tc->idle = true;
    tc->next_idle = g_idle;
    g_idle = tc;
    t_state = kOff;
    return nullptr;
  }
  t_fast = FastPathState{tc, &tc->classes[0]};
  t_state = kActive;
  take_in_remote_frees(tc);  // notices that reached the cache while it was idle
  return tc;
}

bool refill(ThreadCache *tc, unsigned c, uintptr_t *slot) {
  // The counts reach the shared counters every kFoldEvery refills, not at each: the statistics
  // add what the caches hold (introspect/statistics.cpp).
  if (++tc->refills >= kFoldEvery) {
    tc->refills = 0;
    for (unsigned k = 0; k < kCachedClasses; ++k) fold_counts(tc, k);
  }
  take_in_remote_frees(tc);
  large::cache::expire_if_due();  // a slow path that runs often: idle LARGE mappings go back
  ClassCache &cc = tc->classes[c];
  // Set at the class's first refill, not when the cache is made: a program touches the pages of
  // the classes it uses only. Until then a capacity of 0 sends every free of the class here.
  if (!cc.capacity) cc.capacity = cache_capacity(c);
  if (cc.count) {  // remote frees taken in above were pushed? (never: they go to their zones)
    *slot = cc.slot[--cc.count];
    return true;
  }
  for (;;) {
    Zone *z = cc.current;
    if (z && z->avail) {
      // Half the capacity: the next frees have room, the next mallocs have chunks.
      unsigned want = cc.capacity / 2 ? cc.capacity / 2 : 1;
      unsigned got = want < z->avail ? want : z->avail;
      // Stacked from the top down, so that the lowest address is handed out first: the pages
      // of a zone are touched in order, the first beside the zone's header.
      for (unsigned k = got; k-- > 0;) {
        bool fresh;
        uint32_t i = z->take(&fresh);
        cc.slot[k] = reinterpret_cast<uintptr_t>(z->chunk(i)) | (fresh && z->chunk_size >= kFreshMinChunk ? kFreshBit : 0);
      }
      cc.out_delta += got;
      cc.count = got - 1;
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
    Zone *fresh = zone_pool::acquire(c, tc);
    if (!fresh) return false;
    make_current(cc, fresh);
  }
}

void *hand_out_elsewhere(ClassCache &cc, unsigned c, uintptr_t slot, size_t n, bool zero) {
  char *p = reinterpret_cast<char *>(slot & ~kFreshBit);
  bool fresh = slot & kFreshBit;
  if (in_current(cc, slot)) {
    bool exact;
    uint32_t i = static_cast<uint32_t>(chunk_index(reinterpret_cast<uintptr_t>(p) - cc.data, cc.div_magic, &exact));
    FT_ASSERT(!cc.current->is_avail(i));
    return mark_handed_out(cc.live, cc.codes, cc.chunk_size, c, i, p, n, zero, fresh);
  }
  Zone *z = zone_of_cached(reinterpret_cast<uintptr_t>(p));
  FT_ASSERT(z && z->class_index == c && z->cached > 0 && !z->is_avail(z->index_of(reinterpret_cast<uintptr_t>(p))));
  --z->cached;
  return mark_handed_out(z->live_map(), z->codes(), z->chunk_size, c, z->index_of(reinterpret_cast<uintptr_t>(p)), p,
                         n, zero, fresh);
}

namespace {

// The current zone of cc holds no block (every chunk avail or on the stack): its written pages
// stay resident for the class's next blocks while the thread's budget allows, else go back, as
// the pool's reserve's do, so that a freed peak does not stay resident.
bool holds_nothing(const ClassCache &cc) {
  Zone *z = cc.current;
  uint32_t on_stack = 0;
  for (unsigned k = 0; k < cc.count; ++k) on_stack += in_current(cc, cc.slot[k]);
  return z->avail + on_stack == z->chunks;
}

void current_holds_nothing(ThreadCache *tc, ClassCache &cc) {
  Zone *z = cc.current;
  size_t written = size_t{z->hwm} * z->chunk_size;
  if (written <= cc.unpurged) return;  // counted already
  if (tc->unpurged_bytes - cc.unpurged + written > kUnpurgedBudget) {
    // The budget is full: the classes whose current zone holds blocks again leave it (their
    // pages are in use, not kept for nothing). Rare: only when the budget is full.
    for (ClassCache &other : tc->classes)
      if (other.unpurged && &other != &cc && !holds_nothing(other)) forget_unpurged(tc, other);
  }
  if (tc->unpurged_bytes - cc.unpurged + written <= kUnpurgedBudget) {
    tc->unpurged_bytes += written - cc.unpurged;
    cc.unpurged = written;
    return;
  }
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
}

// The stack is full: its oldest half goes back to the zones (no lock; a zone left holding no
// block goes back to the pool).
[[gnu::noinline]] void flush_half(ClassCache &cc) {
  unsigned half = (cc.count + 1) / 2;  // at least one: a stack of one chunk flushes it
  uintptr_t gone[kCacheSlots];
  for (unsigned k = 0; k < half; ++k) gone[k] = cc.slot[k];
  for (unsigned k = half; k < cc.count; ++k) cc.slot[k - half] = cc.slot[k];
  cc.count = cc.count - half;
  for (unsigned k = 0; k < half; ++k)
    if (Zone *z = give_back_entry(cc, gone[k])) settle(cc, z);
}

// After a push onto cc's stack, when the current zone's free chunks and the stack together could
// make up all its chunks: whether it holds no block now (a scan of the stack).
[[gnu::noinline]] void check_current(ThreadCache *tc, ClassCache &cc) {
  if (holds_nothing(cc)) current_holds_nothing(tc, cc);
}

}  // namespace

namespace {

// The rare ends of push_owned, out of line so that its common path keeps no register across a
// call (each returns true, the free having been done).
[[gnu::noinline]] bool push_after_flush(ThreadCache *tc, ClassCache &cc, Zone *z, uintptr_t p);
[[gnu::noinline]] bool after_push_check_current(ThreadCache *tc, ClassCache &cc) {
  check_current(tc, cc);
  return true;
}
[[gnu::noinline]] bool after_push_settle(ClassCache &cc, Zone *z) {
  settle(cc, z);  // it holds no block now
  return true;
}

// free_owned with the chunk's address at hand: inline in free_unlocked, every free of a block
// of the thread's own zones that is not of its current class comes here.
FT_INLINE bool push_owned(ThreadCache *tc, Zone *z, uint32_t i, uintptr_t p) {
  uint64_t *live = &z->live_map()[i / 64], m = uint64_t{1} << (i % 64);
  uint64_t v = __atomic_load_n(live, __ATOMIC_RELAXED);
  // A chunk not held (not live, or freed by another thread already): a second free, which the
  // caller reports.
  if (!(v & m & ~__atomic_load_n(&z->pending_map()[i / 64], __ATOMIC_RELAXED))) return false;
  ClassCache &cc = tc->classes[z->class_index];
  __atomic_store_n(live, v & ~m, __ATOMIC_RELAXED);
  if (__builtin_expect(cc.count == cc.capacity, 0)) return push_after_flush(tc, cc, z, p);
  cc.slot[cc.count++] = p;
  if (z == cc.current) {
    if (__builtin_expect(z->avail + cc.count >= z->chunks, 0)) return after_push_check_current(tc, cc);
  } else if (__builtin_expect(z->avail + ++z->cached == z->chunks, 0)) {
    return after_push_settle(cc, z);
  }
  return true;
}

bool push_after_flush(ThreadCache *tc, ClassCache &cc, Zone *z, uintptr_t p) {
  flush_half(cc);  // never z's last chunks: z holds this one
  cc.slot[cc.count++] = p;
  if (z == cc.current) {
    if (z->avail + cc.count >= z->chunks) check_current(tc, cc);
  } else if (z->avail + ++z->cached == z->chunks) {
    settle(cc, z);
  }
  return true;
}

}  // namespace

bool free_owned(ThreadCache *tc, Zone *z, uint32_t i) {
  return push_owned(tc, z, i, reinterpret_cast<uintptr_t>(z->chunk(i)));
}

bool adopt_and_free(ThreadCache *tc, Zone *z, uint32_t i) {
  if (z->class_index >= kCachedClasses || !zone_pool::adopt(z, tc)) return false;
  ClassCache &cc = tc->classes[z->class_index];
  if (!cc.capacity) cc.capacity = cache_capacity(z->class_index);
  if (z->avail) list_push(cc.partial, z, kOwnedPartial);
  else list_push(cc.full, z, kOwnedFull);
  if (free_owned(tc, z, i)) return true;
  settle(cc, z);  // not a live chunk: the zone is ours all the same
  return false;
}

bool free_unlocked(void *p) {
  uintptr_t e = registry::lookup_entry(p);
  Zone *z = registry::entry_zone(e);
  if (!z || !z->magic_ok()) return false;
  uint64_t off = reinterpret_cast<uintptr_t>(p) - z->data();  // wraps below the chunks
  if (off >= uint64_t{z->chunks} * z->chunk_size) return false;
  bool exact;
  uint32_t i = static_cast<uint32_t>(chunk_index(off, z->div_magic, &exact));
  if (!exact) return false;
  uint32_t id = registry::entry_owner(e);
  // A thread without a cache reads g_no_cache's owner id, 0, which no owned zone has.
  ThreadCache *tc = t_fast.cache;
  if (id && id == tc->owner_id)
    return z->class_index < kCachedClasses && push_owned(tc, z, i, reinterpret_cast<uintptr_t>(p));
  tc = own_cache();  // none yet: nothing of its own to free, nothing to adopt with
  if (!id) return tc && adopt_and_free(tc, z, i);
  return remote::free_chunk(z, i, id, tc);
}

void take_in_remote_frees(ThreadCache *tc) {
  if (remote::drain(tc, take_in_notice, tc)) take_in_everything(tc);
}

void take_in_idle_notices() {
  // Under the lock: no thread attaches an idle cache meanwhile. The zones named are the pool's
  // now (an idle cache owns none): their frees are taken in after the lock is dropped.
  constexpr unsigned kMax = 256;
  struct Found {
    Zone *zones[kMax];
    unsigned n;
  } found = {{}, 0};
  {
    HeapLock lock;
    for (ThreadCache *tc = g_idle; tc; tc = tc->next_idle)
      remote::drain(
          tc,
          [](Zone *z, uint32_t, void *ctx) {
            auto *f = static_cast<Found *>(ctx);
            if (f->n < kMax) f->zones[f->n++] = z;
          },
          &found);
  }
  for (unsigned k = 0; k < found.n; ++k) {
    uintptr_t e = registry::lookup_entry(found.zones[k]);
    if (registry::entry_zone(e) == found.zones[k] && !registry::entry_owner(e)) zone_pool::collect_unowned(found.zones[k]);
  }
}

void flush_current() {
  ThreadCache *tc = own_cache();
  if (!tc) return;
  take_in_remote_frees(tc);
  for (unsigned c = 0; c < kCachedClasses; ++c) {
    ClassCache &cc = tc->classes[c];
    fold_counts(tc, c);
    uintptr_t gone[kCacheSlots];
    unsigned n = cc.count;
    for (unsigned k = 0; k < n; ++k) gone[k] = cc.slot[k];
    cc.count = 0;
    for (unsigned k = 0; k < n; ++k)
      if (Zone *z = give_back_entry(cc, gone[k])) settle(cc, z);  // holding no block: back to the pool
    if (cc.current && cc.current->empty()) {
      Zone *z = cc.current;
      clear_current(tc, cc);
      zone_pool::release(z);
    }
  }
}

void after_fork_in_child() {
  for (ThreadCache *tc = g_all_caches; tc; tc = tc->next_all) {
    if (tc == own_cache()) {
      // A thread of the parent may have been halfway through an announcement: its claimed slot
      // would never be written here. The ring starts afresh.
      reset_notices(tc->notices, false);
      // This thread itself may have been stopped inside its fast paths by a signal handler that
      // forks (a malloc or free without the lock: a stack halfway through a push or a pop, a
      // zone between a bitmap store and its counts). Its zones are worked out again and go to
      // the pool like the others' (their stacked chunks lost to the child); it keeps its cache
      // and takes zones afresh.
      give_up_all(tc, true);
      continue;
    }
    reset_notices(tc->notices, false);
    if (tc->idle) continue;  // an idle cache owns no zone
    give_up_all(tc, true);
    HeapLock lock;
    tc->idle = true;
    tc->next_idle = g_idle;
    g_idle = tc;
  }
}

void turn_off_in_this_thread() {
  t_fast = FastPathState{no_cache(), &no_cache()->classes[0]};
  t_state = kOff;
}

void fold_counts(ThreadCache *tc, unsigned c) {
  ClassCache &cc = tc->classes[c];
  if (uint64_t a = cc.allocs) {
    cc.allocs = 0;
    counters::note_allocs(c, a);
  }
  if (int64_t d = cc.out_delta) {
    cc.out_delta = 0;
    counters::note_chunks_out(c, d);
  }
  if (uint64_t r = tc->remote_frees) {
    tc->remote_frees = 0;
    counters::bump(counters::g_counters.remote_frees, r);
  }
}

}  // namespace tcache

ThreadCache *remote::cache_with_id(uint32_t id) {
  return id <= registry::kOwnerIdMask ? __atomic_load_n(tcache::by_id(id), __ATOMIC_ACQUIRE) : nullptr;
}

}  // namespace ft
