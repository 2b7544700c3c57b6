#include "zone/zone_pool.h"

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

}  // namespace

constinit ClassList g_lists[kClassCount] = {};

namespace {
constinit Zone *g_all = nullptr;
constinit size_t g_zone_count = 0;
constinit size_t g_mapped = 0;

void unlink(ClassList &l, Zone *z) {
  (z->prev ? z->prev->next : l.head) = z->next;
  (z->next ? z->next->prev : l.tail) = z->prev;
  z->next = z->prev = nullptr;
}

void push_front(ClassList &l, Zone *z) {
  z->prev = nullptr;
  z->next = l.head;
  (l.head ? l.head->prev : l.tail) = z;
  l.head = z;
}

void push_back(ClassList &l, Zone *z) {
  z->next = nullptr;
  z->prev = l.tail;
  (l.tail ? l.tail->next : l.head) = z;
  l.tail = z;
}

// Maps and registers a zone of class c; drops the lock around mmap. nullptr when out of memory.
Zone *map_zone(unsigned c, HeapLock &lock) {
  const ZoneLayout &l = kLayouts[c];
  lock.unlock();
  void *mem = os::map_aligned(l.zone_size, kZoneGranule);
  lock.relock();
  if (!mem) return nullptr;
  auto *z = static_cast<Zone *>(mem);
  z->init(c);
  if (!registry::insert(z, l.zone_size)) {
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
  counters::note_mapped(static_cast<int64_t>(l.zone_size));
  counters::bump(counters::g_counters.zones_mapped[c]);
  ClassList &list = g_lists[c];
  push_front(list, z);
  ++list.empty_zones;
  return z;
}

// A zone kept in reserve drops the pages written beyond kReserveKeepBytes; all its chunks then
// read as zero again, so calloc skips the memset.
void trim_reserve(Zone *z, size_t keep) {
  const ZoneLayout &l = z->layout();
  size_t written = size_t{z->hwm} * l.chunk_size;
  if (written <= keep) return;
  uintptr_t first_page = (z->data() + os::page_size() - 1) & ~(os::page_size() - 1);
  uintptr_t end = (z->data() + written + os::page_size() - 1) & ~(os::page_size() - 1);
  if (end > z->base() + l.zone_size) end = z->base() + l.zone_size;
  if (end > first_page) os::purge(reinterpret_cast<void *>(first_page), end - first_page);
  // The chunk bytes that share the header's page are cleared by hand (free chunks: no-access to
  // memcheck, so opened for the write and closed again).
  uintptr_t head_end = first_page < end ? first_page : end;
  void *head = reinterpret_cast<void *>(z->data());
  vg::open(head, head_end - z->data());
  memset(head, 0, head_end - z->data());
  vg::close(head, head_end - z->data());
  z->hwm = 0;
}

Zone *on_empty(Zone *z);

// Gives chunk i back to z; the caller counts it out of the statistics (once per batch).
Zone *return_chunk(Zone *z, uint32_t i) {
  z->give(i);
  if (z->owner) return nullptr;  // a cache's home zone: it stays with its cache, even wholly free
  if (z->avail == 1) push_front(g_lists[z->class_index], z);  // it was full: back on the list
  return z->empty() ? on_empty(z) : nullptr;
}

// A zone on its class's list has become wholly free: kept in reserve, or unlinked and
// unregistered for the caller to unmap after dropping the lock.
Zone *on_empty(Zone *z) {
  ClassList &list = g_lists[z->class_index];
  if (list.empty_zones < kReserveZonesPerClass) {
    ++list.empty_zones;
    if (list.tail != z) {
      unlink(list, z);
      push_back(list, z);
    }
    size_t two_chunks = size_t{kReserveKeepChunks} * z->chunk_size;
    trim_reserve(z, two_chunks > kReserveKeepBytes ? two_chunks : kReserveKeepBytes);
    return nullptr;
  }
  unlink(list, z);
  if (list.tail && list.tail->empty()) trim_reserve(list.tail, 0);
  (z->prev_all ? z->prev_all->next_all : g_all) = z->next_all;
  if (z->next_all) z->next_all->prev_all = z->prev_all;
  registry::erase(z, z->layout().zone_size);
  --g_zone_count;
  g_mapped -= z->layout().zone_size;
  counters::note_mapped(-static_cast<int64_t>(z->layout().zone_size));
  counters::bump(counters::g_counters.zones_returned[z->class_index]);
  return z;
}

// Takes the lowest free chunk of the class's first zone with room, mapping a zone if none has.
bool take_chunk(unsigned c, HeapLock &lock, Zone **zone, uint32_t *index, bool *fresh) {
  ClassList &list = g_lists[c];
  Zone *z = list.head;
  if (!z && !(z = map_zone(c, lock))) return false;
  if (z->empty()) --list.empty_zones;
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

Zone *free_chunk(Zone *z, uint32_t i) {
  z->clear_live(i);
  counters::note_chunks_out(z->class_index, -1);
  return return_chunk(z, i);
}

unsigned take_batch(unsigned c, uintptr_t *out, unsigned n, Zone **home) {
  HeapLock lock;
  Zone *z = *home;
  if (!z || !z->avail) {
    if (z) z->owner = nullptr;  // full: back on the list when a chunk of it is freed
    *home = nullptr;
    ClassList &list = g_lists[c];
    while (!(z = list.head))  // map_zone drops the lock: another thread may take the new zone
      if (!map_zone(c, lock)) return 0;
    if (z->empty()) --list.empty_zones;
    unlink(list, z);
    z->owner = home;
    *home = z;
  }
  unsigned got = 0;
  while (got < n && z->avail) {
    bool fresh;
    uint32_t i = z->take(&fresh);
    out[got++] = reinterpret_cast<uintptr_t>(z->chunk(i)) | (fresh ? kFreshTag : 0);
  }
  counters::note_chunks_out(c, got);
  return got;
}

void release_home(Zone **home) {
  Zone *gone = nullptr;
  {
    HeapLock lock;
    Zone *z = *home;
    if (!z) return;
    z->owner = nullptr;
    *home = nullptr;
    if (!z->avail) return;  // full: back on the list when a chunk of it is freed
    push_front(g_lists[z->class_index], z);
    if (z->empty()) gone = on_empty(z);
  }
  if (gone) os::unmap(gone, gone->layout().zone_size);
}

void give_batch(const uintptr_t *chunks, unsigned n) {
  // Zones emptied by this batch beyond the reserve: unmapped once the lock is dropped.
  constexpr unsigned kMaxDeferred = 8;
  Zone *deferred[kMaxDeferred];
  unsigned nd = 0;
  {
    HeapLock lock;
    unsigned run_class = 0;
    int64_t run = 0;
    for (unsigned k = 0; k < n; ++k) {
      uintptr_t p = chunks[k] & ~kFreshTag;
      Zone *z = registry::lookup(reinterpret_cast<void *>(p));
      uint32_t i = 0;
      bool exact;
      z->locate(p, &i, &exact);  // a cached chunk is always a chunk start
      // The statistics once per run of one class (a batch is normally one class).
      if (z->class_index != run_class) {
        if (run) counters::note_chunks_out(run_class, -run);
        run_class = z->class_index, run = 0;
      }
      ++run;
      Zone *gone = return_chunk(z, i);
      if (!gone) continue;
      if (nd < kMaxDeferred) deferred[nd++] = gone;
      else os::unmap(gone, gone->layout().zone_size);
    }
    if (run) counters::note_chunks_out(run_class, -run);
  }
  for (unsigned k = 0; k < nd; ++k) os::unmap(deferred[k], deferred[k]->layout().zone_size);
}


namespace {

// Unlinks and unregisters an empty zone; the caller unmaps it after dropping the lock.
void detach(Zone *z) {
  ClassList &list = g_lists[z->class_index];
  unlink(list, z);
  --list.empty_zones;
  (z->prev_all ? z->prev_all->next_all : g_all) = z->next_all;
  if (z->next_all) z->next_all->prev_all = z->prev_all;
  registry::erase(z, z->layout().zone_size);
  --g_zone_count;
  g_mapped -= z->layout().zone_size;
  counters::note_mapped(-static_cast<int64_t>(z->layout().zone_size));
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

bool trim() {
  bool released = false;
  constexpr unsigned kBatch = 64;  // zones unmapped per lock release
  for (;;) {
    Zone *batch[kBatch];
    unsigned n = 0;
    {
      HeapLock lock;
      for (Zone *z = g_all; z && n < kBatch; z = z->next_all)
        if (z->empty() && !z->owner) batch[n++] = z;  // a cache's home stays with its thread
      for (unsigned k = 0; k < n; ++k) detach(batch[k]);
      if (!n) {
        for (Zone *z = g_all; z; z = z->next_all) released |= purge_free_pages(z);
      }
    }
    for (unsigned k = 0; k < n; ++k) os::unmap(batch[k], batch[k]->layout().zone_size);
    if (!n) return released;
    released = true;
  }
}

Zone *all_zones() { return g_all; }
size_t zone_count() { return g_zone_count; }
size_t mapped_bytes() { return g_mapped; }

}  // namespace ft::zone_pool
