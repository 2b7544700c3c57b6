#include "zone/zone_pool.h"
#include "base/compiler.h"

#include <cerrno>

#include "base/counters.h"
#include "base/valgrind_hooks.h"
#include "os/mapping.h"
#include "zone/registry.h"

namespace ft::zone_pool {
namespace {

// One wholly free zone per class stays mapped: the next malloc of that class needs no mmap.
constexpr unsigned kReserveZonesPerClass = 1;
// A reserve zone gives its written pages back (madvise) when the heap is shrinking (another zone
// of its class is being unmapped) or when more than max(64 KiB, 2 chunks) of it was written: so a
// freed 200 MB peak leaves at most that much resident per class, while a malloc/free loop at a
// zone boundary, which writes one or two chunks, makes no system call at all (measured: with a
// purge on every emptying, a loop on the 128 KiB class cost 318 us per pair instead of 32 ns).
constexpr size_t kReserveKeepBytes = 64 * 1024;
constexpr unsigned kReserveKeepChunks = 2;

// Zones given up are unmapped in batches: a free of a big structure empties hundreds of
// adjacent zones (they are mapped one below the other), and one munmap of a run of them costs
// what one munmap of a single 64 KiB zone does (measured here: 1056 zones of 64 KiB, written,
// unmapped one by one in 46 ms, in runs of 4 or more in 4-5 ms; tree 20: 0.32 s -> 0.25 s, glibc
// 0.25 s). Their registry entries are gone already; up to kRetiredBytes of them stay mapped
// (and resident) until the batch goes.
constexpr unsigned kRetiredMax = 64;
constexpr size_t kRetiredBytes = size_t{1} << 20;

}  // namespace

constinit ClassList g_lists[kClassCount] = {};

namespace {
struct Retired {
  uintptr_t base;
  size_t len;
};
constinit Retired g_retired[kRetiredMax] = {};  // under the heap lock
constinit unsigned g_retired_count = 0;
constinit size_t g_retired_bytes = 0;
constinit Zone *g_all = nullptr;
constinit size_t g_zone_count = 0;
constinit size_t g_mapped = 0;
constinit size_t g_kept_bytes = 0;  // the sum of Zone::kept_bytes (zone_pool.h kKeptBytes)
constinit size_t g_kept_budget = kKeptBytes;  // kKeptBytes .. kKeptMaxBytes (zone_pool.h)
// The bytes written that went back (zones unmapped, reserves' pages dropped) since the last zone
// was mapped.
constinit size_t g_shrunk = 0;

FT_CORE_TEXT void unlink(ClassList &l, Zone *z) {
  FT_ASSERT(z->list == kOnPoolList);
  (z->prev ? z->prev->next : l.head) = z->next;
  (z->next ? z->next->prev : l.tail) = z->prev;
  z->next = z->prev = nullptr;
  z->list = kOffList;
}

FT_CORE_TEXT void push_front(ClassList &l, Zone *z) {
  FT_ASSERT(z->list == kOffList && !z->owner);
  z->prev = nullptr;
  z->next = l.head;
  (l.head ? l.head->prev : l.tail) = z;
  l.head = z;
  z->list = kOnPoolList;
}

FT_CORE_TEXT void push_back(ClassList &l, Zone *z) {
  FT_ASSERT(z->list == kOffList && !z->owner);
  z->next = nullptr;
  z->prev = l.tail;
  (l.tail ? l.tail->next : l.head) = z;
  l.tail = z;
  z->list = kOnPoolList;
}

// A zone that became wholly free stays resident within the budget: true if it fits.
FT_CORE_TEXT bool keep_resident(Zone *z) {
  size_t written = size_t{z->hwm} * z->chunk_size;
  if (g_kept_bytes + written > g_kept_budget) return false;
  z->kept_bytes = static_cast<uint32_t>(written);
  g_kept_bytes += written;
  return true;
}
// A wholly free zone of list l stops counting as one (it serves again, or goes): out of the
// class's count of empty zones, and out of the kept budget if it was in it.
FT_CORE_TEXT void leave_empties(ClassList &l, Zone *z) {
  --l.empty_zones;
  g_kept_bytes -= z->kept_bytes;
  z->kept_bytes = 0;
}

// Maps and registers a zone of class c; drops the lock around mmap. nullptr when out of memory.
FT_CORE_TEXT Zone *map_zone(unsigned c, HeapLock &lock) {
  const ZoneLayout &l = kLayouts[c];
  lock.unlock();
  void *mem = os::map_aligned(l.zone_size, kZoneGranule);
  // Written before the lock is taken again: the zone is no one's until the registry and the
  // lists have it, and its first pages are asked for outside the lock: the header and bitmaps,
  // which init writes and the zone's first blocks too, in one call instead of a fault or two
  // (10 us each here; tcache/own_zones.cpp prefault_taken asks for the chunks' pages).
  if (mem) {
    os::prefault(mem, l.data_offset);
    static_cast<Zone *>(mem)->init(c);
  }
  lock.relock();
  if (!mem) return nullptr;
  // Memory given back is being asked for again: keep more of it next time.
  static_assert(kKeptMaxBytes == kKeptBytes * 4, "doubling reaches the most exactly");
  if (g_shrunk && g_kept_budget < kKeptMaxBytes) g_kept_budget *= 2;
  g_shrunk = 0;
  auto *z = static_cast<Zone *>(mem);
  if (!registry::insert(z, l.zone_size, c)) {
    lock.unlock();
    os::unmap(mem, l.zone_size);
    lock.relock();
    return nullptr;
  }
  z->next_all = g_all;
  if (g_all) g_all->prev_all = z;
  g_all = z;
  ++g_zone_count;
  g_mapped += l.zone_size;
  counters::note_mapped(static_cast<int64_t>(l.zone_size), false);
  counters::bump(counters::g_counters.zones_mapped[c]);
  ClassList &list = g_lists[c];
  push_front(list, z);
  ++list.empty_zones;
  return z;
}

// A zone kept in reserve drops the pages written beyond kReserveKeepBytes; all its chunks then
// read as zero again, so calloc skips the memset.
FT_CORE_TEXT void trim_reserve(Zone *z, size_t keep) {
  const ZoneLayout &l = z->layout();
  size_t written = size_t{z->hwm} * l.chunk_size;
  if (written <= keep) return;
  uintptr_t first_page = os::round_to_pages(z->data());
  uintptr_t end = os::round_to_pages(z->data() + written);
  if (end > z->base() + l.zone_size) end = z->base() + l.zone_size;
  if (end > first_page) {
    os::purge(reinterpret_cast<void *>(first_page), end - first_page);
    g_shrunk += end - first_page;
  }
  // The chunk bytes that share the header's page are cleared by hand (free chunks: no-access to
  // memcheck, so opened for the write and closed again).
  uintptr_t head_end = first_page < end ? first_page : end;
  void *head = reinterpret_cast<void *>(z->data());
  vg::open(head, head_end - z->data());
  memset(head, 0, head_end - z->data());
  vg::close(head, head_end - z->data());
  z->hwm = 0;
  z->prefaulted_pages = 0;
  z->probe_chunk = 0;  // its pages are gone: they would say nothing of the program
}

Zone *on_empty(Zone *z);

// The heap shrinks by more than the most the pool keeps (kShedAfterBytes): a peak freed, not a
// heap that comes and goes within the budget. The budget goes back to kKeptBytes, and a zone
// kept beyond it drops its written pages (as a reserve does; it stays on its class's list, to
// serve again or to go at malloc_trim), one as each zone empties, so that a freed peak
// leaves what it left before the budget grew (a 100 MB peak freed in each of 4 rounds: 13.7 MiB
// resident left without this, 7.9 with it, as with the 2 MiB budget alone). Rare: out of the
// core text.
[[gnu::noinline]] FT_HOT_TEXT void shed_kept_zone() {
  g_kept_budget = kKeptBytes;
  if (g_kept_bytes <= kKeptBytes) return;
  for (unsigned c = 0; c < kClassCount; ++c)
    for (Zone *z = g_lists[c].tail; z && z->empty(); z = z->prev)
      if (z->kept_bytes) {
        g_kept_bytes -= z->kept_bytes;
        z->kept_bytes = 0;
        trim_reserve(z, 0);
        return;
      }
}

// Gives chunk i back to z; the caller counts it out of the statistics (once per batch).
FT_CORE_TEXT Zone *return_chunk(Zone *z, uint32_t i) {
  FT_ASSERT(!z->owner);
  z->give(i);
  if (z->avail == 1) push_front(g_lists[z->class_index], z);  // it was full: back on the list
  return z->empty() ? on_empty(z) : nullptr;
}

// A zone on its class's list has become wholly free: kept in reserve, or unlinked and
// unregistered for the caller to unmap after dropping the lock.
FT_CORE_TEXT Zone *on_empty(Zone *z) {
  if (g_shrunk > kShedAfterBytes) shed_kept_zone();
  ClassList &list = g_lists[z->class_index];
  bool kept = keep_resident(z);
  if (kept || list.empty_zones < kReserveZonesPerClass) {
    ++list.empty_zones;
    if (list.tail != z) {
      unlink(list, z);
      push_back(list, z);
    }
    if (!kept) give_back_pages(z);
    return nullptr;
  }
  unlink(list, z);
  g_shrunk += size_t{z->hwm} * z->chunk_size;
  // The heap shrinks: the class's reserve gives its pages back (a kept zone keeps them).
  if (list.tail && list.tail->empty() && !list.tail->kept_bytes) trim_reserve(list.tail, 0);
  (z->prev_all ? z->prev_all->next_all : g_all) = z->next_all;
  if (z->next_all) z->next_all->prev_all = z->prev_all;
  registry::erase(z, z->layout().zone_size);
  --g_zone_count;
  g_mapped -= z->layout().zone_size;
  counters::note_mapped(-static_cast<int64_t>(z->layout().zone_size), false);
  counters::bump(counters::g_counters.zones_returned[z->class_index]);
  return z;
}

// Takes the lowest free chunk of the class's first zone with room, mapping a zone if none has.
FT_HOT_TEXT bool take_chunk(unsigned c, HeapLock &lock, Zone **zone, uint32_t *index, bool *fresh) {
  ClassList &list = g_lists[c];
  Zone *z = list.head;
  if (!z && !(z = map_zone(c, lock))) return false;
  if (z->empty()) leave_empties(list, z);
  *index = z->take(fresh);
  if (!z->avail) unlink(list, z);
  counters::note_chunks_out(c, 1);
  *zone = z;
  return true;
}

}  // namespace

void *allocate(unsigned c, size_t n, bool zero) {
  HeapLock lock;
  Zone *z;
  uint32_t i;
  bool fresh;
  if (!take_chunk(c, lock, &z, &i, &fresh)) {
    errno = ENOMEM;
    return nullptr;
  }
  vg::open(z->chunk(i), z->chunk_size);
  z->set_size(i, n);
  z->set_live(i);
  size_t usable = z->usable(i);
  counters::note_allocs(c);
  lock.unlock();
  char *p = z->chunk(i);
  // The chunk is the caller's now: clear it outside the lock. Untouched pages are zero already.
  if (zero && !fresh) memset(p, 0, usable);
  return p;
}

FT_HOT_TEXT Zone *free_chunk(Zone *z, uint32_t i) {
  z->clear_live(i);
  counters::note_chunks_out(z->class_index, -1);
  return return_chunk(z, i);
}

namespace {

// The pool takes a zone back from its owner (under the lock): its remote frees taken in, then on
// the list or off it by what it holds. Returns a zone to unmap after the lock, or nullptr.
FT_CORE_TEXT Zone *take_back(Zone *z) {
  FT_ASSERT(z->owner && z->list == kOffList);
  __atomic_store_n(&z->owner, nullptr, __ATOMIC_RELEASE);
  registry::set_owner(z, z->layout().zone_size, 0);
  z->collect_pending();
  if (!z->avail) return nullptr;  // full: back on the list when a chunk of it is freed
  push_front(g_lists[z->class_index], z);
  return z->empty() ? on_empty(z) : nullptr;
}

// The pool gives a zone to `owner` (under the lock): off every list, its remote frees taken in.
FT_CORE_TEXT void hand_over(Zone *z, ZoneOwner *owner) {
  ClassList &list = g_lists[z->class_index];
  if (z->list == kOnPoolList) {
    if (z->empty()) leave_empties(list, z);
    unlink(list, z);
  }
  z->collect_pending();
  __atomic_store_n(&z->owner, owner, __ATOMIC_RELEASE);
  registry::set_owner(z, z->layout().zone_size, owner->owner_id);
}

}  // namespace

namespace {

// Unmaps the batch, adjacent ranges as one (no lock held).
FT_CORE_TEXT void unmap_batch(Retired *batch, unsigned n) {
  for (unsigned i = 1; i < n; ++i)  // by address: at most 64 entries
    for (unsigned j = i; j > 0 && batch[j - 1].base > batch[j].base; --j) {
      Retired t = batch[j];
      batch[j] = batch[j - 1];
      batch[j - 1] = t;
    }
  for (unsigned i = 0; i < n;) {
    uintptr_t base = batch[i].base, end = base + batch[i].len;
    for (++i; i < n && batch[i].base == end; ++i) end += batch[i].len;
    os::unmap(reinterpret_cast<void *>(base), end - base);
  }
}

// A zone given up (unregistered, off every list) joins the batch, under the lock. There is room:
// whoever fills the batch takes it out before dropping the lock (take_retired).
FT_CORE_TEXT void retire_locked(Zone *z) {
  FT_ASSERT(g_retired_count < kRetiredMax);
  size_t len = z->layout().zone_size;
  g_retired[g_retired_count++] = Retired{reinterpret_cast<uintptr_t>(z), len};
  g_retired_bytes += len;
}

// Takes the batch out (under the lock) when `all` or when it is due; returns its length.
FT_CORE_TEXT unsigned take_retired(Retired *out, bool all) {
  if (!all && g_retired_count < kRetiredMax && g_retired_bytes < kRetiredBytes) return 0;
  unsigned n = g_retired_count;
  for (unsigned k = 0; k < n; ++k) out[k] = g_retired[k];
  g_retired_count = 0;
  g_retired_bytes = 0;
  return n;
}

}  // namespace

FT_CORE_TEXT void unmap_zone(Zone *z) {
  Retired batch[kRetiredMax];
  unsigned n;
  {
    HeapLock lock;
    retire_locked(z);
    n = take_retired(batch, false);
  }
  unmap_batch(batch, n);
}

FT_CORE_TEXT void give_back_pages(Zone *z) {
  size_t two_chunks = size_t{kReserveKeepChunks} * z->chunk_size;
  trim_reserve(z, two_chunks > kReserveKeepBytes ? two_chunks : kReserveKeepBytes);
}

FT_CORE_TEXT Zone *acquire(unsigned c, ZoneOwner *owner) {
  HeapLock lock;
  Zone *z;
  while (!(z = g_lists[c].head))  // map_zone drops the lock: another thread may take the new zone
    if (!map_zone(c, lock)) return nullptr;
  hand_over(z, owner);
  return z;
}

FT_CORE_TEXT void release(Zone *z) {
  Zone *gone;
  {
    HeapLock lock;
    gone = take_back(z);
  }
  if (gone) unmap_zone(gone);
}

FT_HOT_TEXT void abandon(Zone *const *zones, unsigned n) {
  // Zones emptied here beyond the reserve join the batch of zones to unmap, which goes once the
  // lock is dropped.
  Retired batch[kRetiredMax];
  for (unsigned k = 0; k < n;) {
    unsigned nb;
    {
      HeapLock lock;
      for (; k < n && g_retired_count < kRetiredMax; ++k)
        if (Zone *gone = take_back(zones[k])) retire_locked(gone);
      nb = take_retired(batch, false);
    }
    unmap_batch(batch, nb);
  }
}

FT_HOT_TEXT bool adopt(Zone *z, ZoneOwner *owner) {
  HeapLock lock;
  if (z->owner) return false;
  hand_over(z, owner);
  return true;
}

namespace {

// Takes in the remote frees waiting in a zone the pool holds (under the lock): the zone goes on
// its list if it had no room, through on_empty if it is now wholly free. Returns a zone to unmap
// after the lock, or nullptr.
FT_HOT_TEXT Zone *take_in_remote_frees(Zone *z) {
  if (z->owner || !z->collect_pending()) return nullptr;
  if (z->list != kOnPoolList) push_front(g_lists[z->class_index], z);  // it was full: it has room now
  return z->empty() ? on_empty(z) : nullptr;
}

}  // namespace

FT_HOT_TEXT void collect_unowned(Zone *z) {
  Zone *gone;
  {
    HeapLock lock;
    gone = take_in_remote_frees(z);
  }
  if (gone) unmap_zone(gone);
}


namespace {

// Unlinks and unregisters an empty zone; the caller unmaps it after dropping the lock.
void detach(Zone *z) {
  ClassList &list = g_lists[z->class_index];
  unlink(list, z);
  leave_empties(list, z);
  (z->prev_all ? z->prev_all->next_all : g_all) = z->next_all;
  if (z->next_all) z->next_all->prev_all = z->prev_all;
  registry::erase(z, z->layout().zone_size);
  --g_zone_count;
  g_mapped -= z->layout().zone_size;
  counters::note_mapped(-static_cast<int64_t>(z->layout().zone_size), false);
  counters::bump(counters::g_counters.zones_returned[z->class_index]);
}

// Gives back the whole pages covered by free chunks of a zone in use.
bool purge_free_pages(Zone *z) {
  size_t page = os::page_size();
  bool any = false;
  uint32_t run = 0;
  for (uint32_t i = 0; i <= z->chunks; ++i) {
    if (i < z->chunks && z->is_avail(i)) continue;
    uintptr_t lo = (reinterpret_cast<uintptr_t>(z->chunk(run)) + page - 1) & ~(page - 1);
    uintptr_t hi = reinterpret_cast<uintptr_t>(z->chunk(i)) & ~(page - 1);
    if (hi > lo) {
      os::purge(reinterpret_cast<void *>(lo), hi - lo);
      any = true;
    }
    run = i + 1;
  }
  return any;
}

}  // namespace

bool trim(ZoneOwner *owner) {
  bool released = false;
  {
    HeapLock lock;
    g_kept_budget = kKeptBytes;  // the program asked for its memory back
  }
  constexpr unsigned kBatch = 64;  // zones unmapped per lock release
  for (;;) {
    Zone *batch[kBatch];
    unsigned n = 0;
    {
      HeapLock lock;
      for (Zone *z = g_all; z && n < kBatch;) {
        Zone *next = z->next_all;  // z may leave the list of zones
        if (Zone *gone = take_in_remote_frees(z)) batch[n++] = gone;
        z = next;
      }
      for (Zone *z = g_all; z && n < kBatch; z = z->next_all)
        if (z->empty() && !z->owner) batch[n++] = z;  // a cache's zones stay with their thread
      for (unsigned k = 0; k < n; ++k) detach(batch[k]);
      if (!n) {
        for (Zone *z = g_all; z; z = z->next_all)
          if (!z->owner || z->owner == owner) released |= purge_free_pages(z);
      }
    }
    for (unsigned k = 0; k < n; ++k) os::unmap(batch[k], batch[k]->layout().zone_size);
    if (!n) {
      Retired retired[kRetiredMax];
      unsigned nr;
      {
        HeapLock lock;
        nr = take_retired(retired, true);
      }
      unmap_batch(retired, nr);
      return released || nr;
    }
    released = true;
  }
}

FT_HOT_TEXT Zone *all_zones() { return g_all; }
size_t zone_count() { return g_zone_count; }
size_t mapped_bytes() { return g_mapped; }

}  // namespace ft::zone_pool
