#include "large/large_cache.h"

#include "base/compiler.h"

#include "base/counters.h"
#include "base/settings.h"
#include "os/clock.h"
#include "os/heap_lock.h"

namespace ft::large::cache {
namespace {

FT_BIG_TABLE constinit Mapping g_slots[kSlots] = {};  // touched by programs with LARGE blocks
constinit unsigned g_count = 0;
constinit size_t g_bytes = 0;
// The oldest mapping's last use (0: empty), read without the lock by expire_if_due.
constinit uint64_t g_oldest_ms = 0;
constinit Stats g_stats = {};

void refresh_oldest() {
  uint64_t oldest = 0;
  for (unsigned i = 0; i < g_count; ++i)
    if (!oldest || g_slots[i].used_ms < oldest) oldest = g_slots[i].used_ms;
  __atomic_store_n(&g_oldest_ms, oldest, __ATOMIC_RELAXED);
}

// Slot i leaves the cache (taken or given back); the last slot fills its place.
Taken remove(unsigned i) {
  Taken t{g_slots[i].base, g_slots[i].len};
  uint64_t used_ms = g_slots[i].used_ms;
  if (i != --g_count) g_slots[i] = g_slots[g_count];
  g_bytes -= t.len;
  if (!g_count) __atomic_store_n(&g_oldest_ms, 0, __ATOMIC_RELAXED);
  else if (used_ms == g_oldest_ms) refresh_oldest();
  return t;
}

bool fits(const Mapping &m, size_t len, size_t align, bool exact) {
  return m.len >= len && m.len <= len + len / 4 && (!exact || m.len == len) && !(m.base & (align - 1));
}

// A mapping leaves the heap: the counters of mapped bytes count it out here (large_table.h).
void unmapped(uintptr_t base, size_t len, Unmaps *gone) {
  gone->add(base, len);
  counters::note_mapped(-static_cast<int64_t>(len), true);
}

void give_back(unsigned i, Unmaps *gone) {
  Taken t = remove(i);
  unmapped(t.base, t.len, gone);
  ++g_stats.returned;
}

// The clock for stamping mappings, read at every kClockEvery-th free only (under the lock): a
// loop of LARGE pairs pays ~40 instructions per clock read, and a stamp that is a few frees old
// only moves a mapping's expiry by as much.
constexpr unsigned kClockEvery = 16;
constinit uint64_t g_clock_ms = 0;
constinit unsigned g_clock_uses = 0;
uint64_t recent_ms() {
  if (g_clock_uses++ % kClockEvery == 0) g_clock_ms = os::coarse_ms();
  return g_clock_ms;
}

bool due(uint64_t now) { return g_oldest_ms && now - g_oldest_ms >= kIdleMs; }

[[gnu::noinline]] void expire(uint64_t now, Unmaps *gone) {
  for (unsigned i = g_count; i-- > 0;)
    if (now - g_slots[i].used_ms >= kIdleMs) give_back(i, gone);
}

// The slot take() chooses when the last one is not of the very length: the shortest that fits.
[[gnu::noinline]] unsigned best_fit(size_t len, size_t align, bool exact) {
  unsigned best = kSlots;
  for (unsigned i = 0; i < g_count; ++i)
    if (fits(g_slots[i], len, align, exact) && (best == kSlots || g_slots[i].len < g_slots[best].len)) best = i;
  return best;
}

// Room for the freed block's mapping: the least recently used mappings go until it fits in the
// bounds. False, the mapping put in `gone`: too big for them, or the cache off.
[[gnu::noinline]] bool make_room(const LargeBlock &freed, Unmaps *gone) {
  size_t len = freed.map_len, share = mapped_bytes() / kLiveShare;
  size_t bound = share > kMinBytes ? share : kMinBytes;
  if (!g_config.large_cache || len > bound) {
    unmapped(freed.base, len, gone);
    return false;
  }
  while (g_count == kSlots || g_bytes + len > bound) {
    unsigned oldest = 0;
    for (unsigned i = 1; i < g_count; ++i)
      if (g_slots[i].used_ms < g_slots[oldest].used_ms) oldest = i;
    give_back(oldest, gone);
  }
  return true;
}

}  // namespace

bool take(size_t len, size_t align, bool exact, Taken *out) {
  // The mapping freed last first, of the very length: a loop of one size finds it without a scan
  // (slow paths out of line: this one then saves few registers).
  unsigned best = g_count - 1;
  if (!g_count || g_slots[best].len != len || (g_slots[best].base & (align - 1))) {
    if (!g_count || (best = best_fit(len, align, exact)) == kSlots) return false;
  }
  *out = remove(best);
  ++g_stats.hits;
  return true;
}

bool take_to_resize(size_t len, Taken *out) {
  if (!g_count) return false;
  unsigned best = 0;
  for (unsigned i = 1; i < g_count; ++i) {
    size_t have = g_slots[i].len, chosen = g_slots[best].len;
    // The smallest that is long enough (trimmed, all its pages reused), else the longest.
    bool better = have >= len ? chosen < len || have < chosen : chosen < len && have > chosen;
    if (better) best = i;
  }
  *out = remove(best);
  ++g_stats.resized;
  return true;
}

void note_miss() { ++g_stats.misses; }

bool keep(const LargeBlock &freed, Unmaps *gone) {
  size_t len = freed.map_len;
  uint64_t now = recent_ms();
  if (due(now)) expire(now, gone);
  // A free slot within kMinBytes, the least of the bounds: kept at once, the live bytes unread.
  if (!(g_count < kSlots && g_bytes + len <= kMinBytes && g_config.large_cache) && !make_room(freed, gone))
    return false;
  g_slots[g_count++] = Mapping{freed.base, len, freed.user, freed.size, now};
  g_bytes += len;
  if (!g_oldest_ms) __atomic_store_n(&g_oldest_ms, now, __ATOMIC_RELAXED);
  return true;
}

bool holds_freed(uintptr_t user, size_t *size) {
  for (unsigned i = 0; i < g_count; ++i)
    if (g_slots[i].last_user == user) {
      *size = g_slots[i].last_size;
      return true;
    }
  return false;
}

bool empty(Unmaps *gone) {
  bool any = g_count != 0;
  while (g_count) give_back(g_count - 1, gone);
  return any;
}

void expire_if_due() {
  uint64_t oldest = __atomic_load_n(&g_oldest_ms, __ATOMIC_RELAXED);
  if (!oldest) return;
  uint64_t now = os::coarse_ms();
  if (now - oldest < kIdleMs) return;
  Unmaps gone;
  {
    HeapLock lock;
    if (due(now)) expire(now, &gone);
  }
  gone.run();
}

Stats stats() {
  Stats s = g_stats;
  s.mappings = g_count;
  s.bytes = g_bytes;
  return s;
}

}  // namespace ft::large::cache
