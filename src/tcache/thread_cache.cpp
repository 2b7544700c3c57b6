#include "tcache/thread_cache.h"
#include "base/compiler.h"

#include <pthread.h>
#include <sched.h>

#include "tcache/cache_fast_path.h"
#include "tcache/own_zones.h"

#include "base/counters.h"
#include "base/misuse_report.h"
#include "base/settings.h"
#include "large/large_cache.h"
#include "os/heap_lock.h"
#include "os/mapping.h"
#include "zone/registry.h"
#include "zone/zone_pool.h"

namespace ft {

namespace {
// Every class of the index not placed: the empty cache's, and a new cache's before its first class.
constexpr void unplace_all(CacheIndex &index) {
  for (ClassCache *&cc : index.class_of) cc = unused_class();
}
constexpr CacheIndex make_no_cache() {
  CacheIndex index{};
  unplace_all(index);
  return index;
}
}  // namespace

// RELRO (thread_cache.h): section .data.rel.ro, which the linker makes read-only after the
// relocations; g_unused_class would otherwise go to .rodata.
__attribute__((section(".data.rel.ro"))) constinit const ClassCache g_unused_class = {};
constinit const CacheIndex g_no_cache = make_no_cache();
__thread FastPathState t_fast __attribute__((tls_model("initial-exec"))) = {no_cache(), unused_class(), ~uintptr_t{0}, nullptr, 0};

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
FT_CORE_TEXT ThreadCache **by_id(uint32_t id) { return id < kFirstIds ? &g_first_ids[id] : &g_more_ids[id - kFirstIds]; }
constinit uint32_t g_ids_given = 0;

void report_double_free(Zone *z, uint32_t i) {
  report_fault(Call::kFree, z->chunk(i),
               FaultInfo{Fault::kDoubleFree, kind_of_class(z->class_index), reinterpret_cast<uintptr_t>(z->chunk(i)),
                         z->chunk_size, 0});
}

// Remote frees of word pw of z, a zone tc owns, taken in. True when z went back to the pool.
FT_HOT_TEXT bool take_in_word(ThreadCache *tc, Zone *z, uint32_t pw) {
  uint32_t second_free;
  uint32_t got = z->collect_pending_word(pw, &second_free);
  ClassCache &cc = class_cache(tc, z->class_index);
  cc.out_delta -= got;
  if (second_free) report_double_free(z, second_free - 1);
  if (got && z == cc.current) fit_push_limit(cc);  // more free chunks: a lower limit
  return got && settle(cc, z);
}

// One announced word off tc's ring. The registry says whether z is still tc's (it is never read
// otherwise: it may have been unmapped), given to the pool since (the pool takes the frees in,
// under the lock), or adopted by another cache (the notice goes on to it).
FT_HOT_TEXT void take_in_notice(Zone *z, uint32_t pw, void *ctx) {
  auto *tc = static_cast<ThreadCache *>(ctx);
  uintptr_t e = registry::lookup_entry(z);
  if (registry::entry_zone(e) != z) return;  // unmapped since: its frees went with it
  // A notice older than the zone now at that address (announced to a cache whose thread then
  // gave the zone up; the zone unmapped, another class's mapped there since) may name a word
  // past that zone's bitmaps. Its frees went with the old zone; a word within range is the new
  // zone's own and is taken in as usual. The class from the entry: the zone's header is not
  // ours to read before the owner is known to be this thread.
  if (pw >= kLayouts[registry::entry_class(e)].words) return;
  uint32_t id = registry::entry_owner(e);
  if (id == tc->owner_id) take_in_word(tc, z, pw);
  else if (!id) zone_pool::collect_unowned(z);
  else if (ThreadCache *other = remote::cache_with_id(id)) remote::announce(other, z, pw);
}

// Every pending word of every zone tc owns (announcements were lost: the ring was full).
FT_HOT_TEXT void take_in_everything(ThreadCache *tc) {
  for (uint64_t used = tc->used_classes; used;) {
    ClassCache &cc = class_cache(tc, next_class(used));
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

// Every zone tc owns back to the pool, its stacks flushed first: its thread exits. (A fork child
// gives up the zones of the parent's other threads by another way: give_up_orphans.)
FT_HOT_TEXT void give_up_all(ThreadCache *tc) {
  constexpr unsigned kBatch = 64;  // zones per lock acquisition
  Zone *batch[kBatch];
  unsigned n = 0;
  auto give_up = [&](Zone *z) {
    if (n == kBatch) zone_pool::abandon(batch, n), n = 0;
    batch[n++] = z;
  };
  for (uint64_t used = tc->used_classes; used;) {
    unsigned c = next_class(used);
    ClassCache &cc = class_cache(tc, c);
    fold_counts(tc, c);
    flush_stack(cc);
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
  if (t_fast.cache == tc) t_fast.recent = unused_class();
}

// pthread key destructor: the thread is exiting. Its zones go back to the pool and the cache to
// the idle list; a later free() or malloc() on this thread (another key's destructor) takes the
// slow paths instead.
FT_HOT_TEXT void thread_exit(void *arg) {
  auto *tc = static_cast<ThreadCache *>(arg);
  turn_off_in_this_thread();
  take_in_remote_frees(tc);
  give_up_all(tc);
  HeapLock lock;
  tc->idle = true;
  tc->next_idle = g_idle;
  g_idle = tc;
}

FT_CORE_TEXT void reset_notices(ThreadCache *tc, bool lost) {
  // Nothing claimed: the drains zeroed every slot they took, and no notice is dropped. A fork
  // child then writes none of the ring (a page the kernel would copy for each cache).
  if (tc->notices.head == tc->notices.tail) return;
  for (uintptr_t &s : tc->notice_slots.slot) s = 0;
  tc->notices.head = tc->notices.tail = 0;
  tc->notices.lost = lost;
}

}  // namespace

FT_CORE_TEXT ThreadCache *attach() {
  UnlockedChange change;
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
    unplace_all(*tc);
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
  t_fast.cache = tc;  // the leaf copy stays: leaves are never unmapped
  t_fast.recent = unused_class();
  t_state = kActive;
  take_in_remote_frees(tc);  // notices that reached the cache while it was idle
  return tc;
}

FT_CORE_TEXT void take_in_remote_frees(ThreadCache *tc) {
  UnlockedChange change;
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
  UnlockedChange change;
  ThreadCache *tc = own_cache();
  if (!tc) return;
  take_in_remote_frees(tc);
  for (uint64_t used = tc->used_classes; used;) {
    unsigned c = next_class(used);
    ClassCache &cc = class_cache(tc, c);
    fold_counts(tc, c);
    give_back_oldest(cc, cc.count);
    if (cc.current && cc.current->empty()) {
      Zone *z = cc.current;
      clear_current(tc, cc);
      zone_pool::release(z);
    }
  }
}

namespace {
// A fork child's cache that does not keep its zones: its per-class state emptied without walking
// its lists of zones (give_up_zones_of_orphans finds the zones). Its stacked chunks are lost.
FT_HOT_TEXT void forget_zones(ThreadCache *tc) {
  for (uint64_t used = tc->used_classes; used;) {
    unsigned c = next_class(used);
    ClassCache &cc = class_cache(tc, c);
    fold_counts(tc, c);
    cc.count = 0;
    clear_current(tc, cc);
    cc.partial.head = cc.full.head = nullptr;
  }
  if (t_fast.cache == tc) t_fast.recent = unused_class();
}

// In a fork child, every zone of a cache marked orphan goes to the pool, worked out again from
// its bitmaps. Found through the pool's list of every zone, by its owner, which changes under the
// heap lock only and so is whole in the child, not through the caches' own lists: their threads
// change those without the lock, and one stopped halfway by the fork (a zone unlinked from one
// list and not yet pushed on the next, or a link half written) could have a zone visited twice,
// and so linked twice on the pool's list (a child then looped for ever taking it: the twelfth
// round's stress runs), or not at all.
FT_HOT_TEXT void give_up_zones_of_orphans() {
  constexpr unsigned kBatch = 64;  // zones per lock acquisition
  Zone *batch[kBatch];
  for (Zone *z = zone_pool::all_zones(); z;) {
    unsigned n = 0;
    for (; z && n < kBatch; z = z->next_all) {
      if (!z->owner || !static_cast<ThreadCache *>(z->owner)->orphan) continue;
      z->recount();  // the owner may have stopped inside take or give
      z->cached = 0;
      z->list = zone_pool::kOffList;
      z->next = z->prev = nullptr;
      batch[n++] = z;
    }
    // z, the first zone not looked at, stays: giving the batch up unmaps none but its own zones
    // (zone_pool::on_empty), so the walk goes on from there.
    if (n) zone_pool::abandon(batch, n);
  }
}
}  // namespace

constinit int g_orphans = kNoOrphans;

FT_HOT_TEXT void after_fork_in_child(bool own_whole) {
  ThreadCache *own = own_cache();
  bool any = false;
  for (ThreadCache *tc = g_all_caches; tc; tc = tc->next_all) {
    if (tc == own) {
      if (own_whole) {
        // The forking thread was in none of its unlocked changes: its cache and zones are as it
        // left them, and stay its own (no page of them copied for the child). Another thread
        // may have been halfway through an announcement to it (a claimed slot never written):
        // the ring starts afresh, marked lost, so that the next drain looks at every zone's
        // pending bits instead of the notices dropped with it.
        reset_notices(tc, true);
        continue;
      }
      // A thread of the parent may have been halfway through an announcement: its claimed slot
      // would never be written here. The ring starts afresh.
      reset_notices(tc, false);
      // This thread itself may have been stopped inside its unlocked changes by a signal handler
      // that forks (a zone between a bitmap store and its counts, a list halfway). Its zones are
      // worked out again and go to the pool like the others' (their stacked chunks lost to the
      // child); it keeps its cache and takes zones afresh.
      tc->orphan = any = true;
      continue;
    }
    reset_notices(tc, false);
    if (tc->idle) continue;  // an idle cache owns no zone
    tc->orphan = any = true;
  }
  if (!any) return;
  g_orphans = kOrphansLeft;
  // The forking thread's own zones in doubt: all go now, as it takes zones afresh at once. Else
  // the others' wait (give_up_orphans_if_any).
  if (!own_whole) give_up_orphans();
}

FT_HOT_TEXT void give_up_orphans() {
  int expected = kOrphansLeft;
  if (!__atomic_compare_exchange_n(&g_orphans, &expected, kOrphansRecovering, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&g_orphans, __ATOMIC_ACQUIRE) != kNoOrphans) sched_yield();
    return;
  }
  ThreadCache *own = own_cache();
  // g_all_caches only ever grows at its head: this walk sees every cache of the fork.
  for (ThreadCache *tc = __atomic_load_n(&g_all_caches, __ATOMIC_ACQUIRE); tc; tc = tc->next_all)
    if (tc->orphan) forget_zones(tc);
  give_up_zones_of_orphans();
  for (ThreadCache *tc = __atomic_load_n(&g_all_caches, __ATOMIC_ACQUIRE); tc; tc = tc->next_all) {
    if (!tc->orphan) continue;
    HeapLock lock;
    tc->orphan = false;
    if (tc == own) continue;  // the forking thread keeps its cache
    tc->idle = true;
    tc->next_idle = g_idle;
    g_idle = tc;
  }
  __atomic_store_n(&g_orphans, kNoOrphans, __ATOMIC_RELEASE);
}

FT_HOT_TEXT void turn_off_in_this_thread() {
  t_fast.cache = no_cache();
  t_fast.recent = unused_class();
  t_state = kOff;
}

FT_CORE_TEXT void fold_counts(ThreadCache *tc, unsigned c) {
  ClassCache &cc = class_cache(tc, c);
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

FT_HOT_TEXT ThreadCache *remote::cache_with_id(uint32_t id) {
  return id <= registry::kOwnerIdMask ? __atomic_load_n(tcache::by_id(id), __ATOMIC_ACQUIRE) : nullptr;
}

}  // namespace ft
