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
// When the oldest mapping is due to go back (its last use + kIdleMs), or earlier; kNever when
// the cache is empty. Read without the lock by expire_if_due. Early, not late: a mapping leaving
// does not rescan the rest (an instant too early only makes expire() scan once and set it).
constexpr uint64_t kNever = ~uint64_t{0};
constinit uint64_t g_expires_ms = kNever;
constinit Stats g_stats = {};

FT_HOT_TEXT void refresh_expiry() {
  uint64_t expires = kNever;
  for (unsigned i = 0; i < g_count; ++i)
    if (g_slots[i].used_ms + kIdleMs < expires) expires = g_slots[i].used_ms + kIdleMs;
  __atomic_store_n(&g_expires_ms, expires, __ATOMIC_RELAXED);
}

// The table entry of cached mapping i.
FT_INLINE LargeBlock *entry_of(unsigned i) { return find_entry(g_slots[i].key, g_slots[i].entry, g_slots[i].moves); }

// Slot i leaves the cache (taken or given back); the last slot fills its place. Returns its
// table entry.
FT_INLINE LargeBlock *remove(unsigned i) {
  LargeBlock *e = entry_of(i);
  g_bytes -= g_slots[i].len;
  if (i != --g_count) g_slots[i] = g_slots[g_count];
  if (!g_count) __atomic_store_n(&g_expires_ms, kNever, __ATOMIC_RELAXED);
  return e;
}

FT_HOT_TEXT bool fits(const Mapping &m, size_t len, size_t max_len, size_t align, bool exact) {
  return m.len >= len && m.len <= max_len && (!exact || m.len == len) && !(m.base & (align - 1));
}

// A mapping leaves the heap: the counters of mapped bytes count it out here (large_table.h).
FT_HOT_TEXT void unmapped(uintptr_t base, size_t len, Unmaps *gone) {
  gone->add(base, len);
  counters::note_mapped(-static_cast<int64_t>(len), true);
}

// Entry e's mapping leaves the heap, and e the table; a second free of the block it held (a live
// one, or a cached one's last) still says "double free" (the table's memory of frees). A tail
// that held no block is not remembered.
FT_HOT_TEXT void drop(LargeBlock *e, Unmaps *gone) {
  LargeBlock held = *e;
  erase(e);
  if (held.size || !held.cached) remember_freed(held);
  unmapped(held.base, held.map_len, gone);
}

// Cached mapping i goes back to the system.
FT_HOT_TEXT void give_back(unsigned i, Unmaps *gone) {
  drop(remove(i), gone);
  ++g_stats.returned;
}

// The clock for stamping mappings, read at every kClockEvery-th free only (under the lock): a
// loop of LARGE pairs pays ~40 instructions per clock read, and a stamp that is a few frees old
// only moves a mapping's expiry by as much. keep() reads it on its slow path.
constexpr unsigned kClockEvery = 16;
constinit uint64_t g_clock_ms = 0;
constinit unsigned g_clock_uses = 0;
bool clock_due() { return g_clock_uses++ % kClockEvery == 0; }

bool due(uint64_t now) { return now >= g_expires_ms; }

[[gnu::noinline]] FT_HOT_TEXT void expire(uint64_t now, Unmaps *gone) {
  for (unsigned i = g_count; i-- > 0;)
    if (now - g_slots[i].used_ms >= kIdleMs) give_back(i, gone);
  refresh_expiry();
}

// The shortest mapping from len to max_len bytes long that fits (take() when the last one is not
// of the very length, take_room()); kSlots: none.
[[gnu::noinline]] FT_HOT_TEXT unsigned best_fit(size_t len, size_t max_len, size_t align, bool exact) {
  unsigned best = kSlots;
  for (unsigned i = 0; i < g_count; ++i)
    if (fits(g_slots[i], len, max_len, align, exact) && (best == kSlots || g_slots[i].len < g_slots[best].len))
      best = i;
  return best;
}

// Room for a mapping of len bytes: the least recently used mappings go until it fits in the
// bounds. False, nothing given back: too big for them, or the cache off. `live` is the live
// LARGE bytes that stay.
[[gnu::noinline]] FT_HOT_TEXT bool make_room(size_t len, size_t live, Unmaps *gone) {
  size_t share = live / kLiveShare;
  size_t bound = share > kMinBytes ? share : kMinBytes;
  if (!g_config.large_cache || len > bound) return false;
  while (g_count == kSlots || g_bytes + len > bound) {
    unsigned oldest = 0;
    for (unsigned i = 1; i < g_count; ++i)
      if (g_slots[i].used_ms < g_slots[oldest].used_ms) oldest = i;
    give_back(oldest, gone);
  }
  return true;
}

// Whether a mapping of len bytes fits at once: a free slot within kMinBytes, the least of the
// bounds (the live bytes unread).
bool fits_at_once(size_t len) { return g_count < kSlots && g_bytes + len <= kMinBytes && g_config.large_cache; }

FT_INLINE void add(LargeBlock *e, uint64_t now) {
  g_slots[g_count++] = Mapping{e->user, e->base, e->map_len, now, e, moves()};
  g_bytes += e->map_len;
  if (g_expires_ms == kNever) __atomic_store_n(&g_expires_ms, now + kIdleMs, __ATOMIC_RELAXED);
}

}  // namespace

FT_HOT_TEXT LargeBlock *take(size_t len, size_t align, bool exact) {
  // The mapping freed last first, of the very length: a loop of one size finds it without a scan
  // (slow paths out of line: this one then saves few registers).
  unsigned best = g_count - 1;
  if (!g_count || g_slots[best].len != len || (g_slots[best].base & (align - 1))) {
    if (!g_count || (best = best_fit(len, len + len / 4, align, exact)) == kSlots) return nullptr;
  }
  ++g_stats.hits;
  return remove(best);
}

FT_HOT_TEXT LargeBlock *take_last(size_t len, size_t align) {
  if (!g_count) return nullptr;
  const Mapping &m = g_slots[g_count - 1];
  if (m.len != len || (m.base & (align - 1)) || m.key != m.base) return nullptr;
  ++g_stats.hits;
  return remove(g_count - 1);
}

FT_HOT_TEXT LargeBlock *take_to_split(size_t len) {
  unsigned best = best_fit(len, SIZE_MAX, 1, false);  // every mapping starts on a page
  if (best == kSlots) return nullptr;
  ++g_stats.resized;
  return remove(best);
}

namespace {
// Whether cached mapping m can be a piece for a gathered mapping: it starts on a `span` and is
// made of whole ones, so that its pages move with their page tables (see take_pieces).
bool movable(const Mapping &m, size_t span) { return !(m.base & (span - 1)) && !(m.len & (span - 1)); }

// The slot take_pieces() takes next for the `left` bytes still to cover: the shortest movable
// mapping that covers them (only its tail is taken), else the longest (taken whole). `taken`: a
// bit per slot already chosen.
unsigned next_piece(size_t left, size_t span, uint32_t taken) {
  unsigned covers = kSlots, longest = kSlots;
  for (unsigned i = 0; i < g_count; ++i) {
    if ((taken >> i & 1) || !movable(g_slots[i], span)) continue;
    size_t have = g_slots[i].len;
    if (have >= left && (covers == kSlots || have < g_slots[covers].len)) covers = i;
    if (longest == kSlots || have > g_slots[longest].len) longest = i;
  }
  return covers != kSlots ? covers : longest;
}

}  // namespace

FT_HOT_TEXT unsigned take_pieces(size_t len, size_t span, Piece *out, unsigned *parts) {
  static_assert(kSlots <= 32, "a bit per slot in take_pieces' mask");
  unsigned chosen[kMaxPieces], n = 0, sum_parts = 0;
  uint32_t taken = 0;
  size_t have = 0;
  while (have < len && n < kMaxPieces) {
    unsigned i = next_piece(len - have, span, taken);
    if (i == kSlots) break;
    chosen[n++] = i;
    taken |= uint32_t{1} << i;
    size_t use = g_slots[i].len < len - have ? g_slots[i].len : len - have;  // its tail
    sum_parts += parts_within(entry_of(i)->parts, g_slots[i].base + g_slots[i].len - use, use, span);
    have += use;
  }
  // Worth it when the pages moved save faults enough, and within the areas' bound (+ 1: the
  // fresh rest, if any).
  if (!n || have < len / kLeastCover || extra_parts() + sum_parts + 1 > kMaxExtraParts) return 0;
  // The last one may cover more than is left: its tail is taken, its front stays in the cache
  // where it is (same start, same key). Done first: removals below move slots.
  size_t left = len;
  for (unsigned k = 0; k + 1 < n; ++k) left -= g_slots[chosen[k]].len;
  Mapping &last = g_slots[chosen[n - 1]];
  if (last.len > left) {
    LargeBlock *e = entry_of(chosen[n - 1]);
    last.len -= left;
    g_bytes -= left;
    set_parts(e, parts_within(e->parts, last.base, last.len, span));
    e->map_len = last.len;
    if (e->end > e->base + e->map_len) e->end = e->base + e->map_len;
    out[n - 1] = Piece{last.base + last.len, left};
    taken &= ~(uint32_t{1} << chosen[n - 1]);
    chosen[n - 1] = kSlots;
  }
  // The whole ones, from the highest slot down: remove() fills a slot from the last one.
  for (unsigned i = g_count; i-- > 0;) {
    if (!(taken >> i & 1)) continue;
    unsigned k = 0;
    while (chosen[k] != i) ++k;
    LargeBlock *e = remove(i);
    LargeBlock held = *e;
    out[k] = Piece{held.base, held.map_len};
    erase(e);
    if (held.size) remember_freed(held);  // a second free of its last block: "double free"
  }
  ++g_stats.gathered;
  *parts = sum_parts + 1;
  return n;
}

FT_HOT_TEXT void note_miss() { ++g_stats.misses; }

FT_HOT_TEXT bool holds_any() { return g_count != 0; }

FT_HOT_TEXT LargeBlock *take_room(size_t len, size_t max_len) {
  unsigned best = best_fit(len, max_len, 1, false);  // every mapping starts on a page
  if (best == kSlots) return nullptr;
  ++g_stats.hits;
  return remove(best);
}

namespace {

// keep() when the clock is to be read, mappings are due to go back or b's does not fit at once
// (out of line: the common path then saves no registers). Giving mappings back erases their
// entries, which may move b's.
[[gnu::noinline]] FT_HOT_TEXT bool keep_slow(LargeBlock *b, bool read_clock, Unmaps *gone) {
  if (read_clock) g_clock_ms = os::coarse_ms();
  uint64_t now = g_clock_ms;
  size_t len = b->map_len;
  uintptr_t key = b->user;
  if (due(now)) {
    expire(now, gone);
    b = find_entry(key);
  }
  if (!fits_at_once(len)) {
    bool room = make_room(len, mapped_bytes() - len, gone);
    b = find_entry(key);
    if (!room) {
      drop(b, gone);
      return false;
    }
  }
  park(b);
  add(b, now);
  return true;
}

}  // namespace

FT_HOT_TEXT bool keep(LargeBlock *b, Unmaps *gone) {
  bool read_clock = clock_due();
  if (__builtin_expect(read_clock || due(g_clock_ms) || !fits_at_once(b->map_len), 0))
    return keep_slow(b, read_clock, gone);
  park(b);
  add(b, g_clock_ms);
  return true;
}

FT_HOT_TEXT void keep_tail(uintptr_t base, size_t len, unsigned parts, Unmaps *gone) {
  LargeBlock tail{base, base, len, 0, base + len, true, static_cast<uint16_t>(parts)};
  LargeBlock *e;
  // A tail comes off a mapping that was in the cache: within its bounds.
  if (!g_config.large_cache || g_count == kSlots || !insert(tail) || !(e = find_entry(base))) {
    unmapped(base, len, gone);
    return;
  }
  if (clock_due()) g_clock_ms = os::coarse_ms();
  add(e, g_clock_ms);
}

FT_HOT_TEXT bool holds_freed(uintptr_t user, size_t *size) {
  const LargeBlock *e = find_entry(user);
  if (!e || !e->cached || !e->size) return false;
  *size = e->size;
  return true;
}

bool empty(Unmaps *gone) {
  bool any = g_count != 0;
  while (g_count) give_back(g_count - 1, gone);
  return any;
}

namespace {
// expire_if_due past its first test: only a program that freed LARGE blocks gets here, and runs
// the warm text anyway (the core text keeps the test alone: 362 -> 25 bytes of it).
[[gnu::noinline]] FT_HOT_TEXT void expire_if_past(uint64_t expires) {
  uint64_t now = os::coarse_ms();
  if (now < expires) return;
  Unmaps gone;
  {
    HeapLock lock;
    if (due(now)) expire(now, &gone);
  }
  gone.run();
}
}  // namespace

FT_CORE_TEXT void expire_if_due() {
  uint64_t expires = __atomic_load_n(&g_expires_ms, __ATOMIC_RELAXED);
  if (expires != kNever) expire_if_past(expires);
}

Stats stats() {
  Stats s = g_stats;
  s.mappings = g_count;
  s.bytes = g_bytes;
  return s;
}

}  // namespace ft::large::cache
