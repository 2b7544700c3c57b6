// The LARGE table: every LARGE mapping of the heap, found by its key: the pointer the program
// holds, for a live block; a cached one (its block freed, its mapping waiting for reuse in the
// cache of freed mappings, large_cache.h) keeps the key of the block it held, or its start.
// A block freed into the cache and taken back stays in its slot, only marked: a LARGE malloc/free
// pair no longer erases and inserts an entry (with the hot operations inline below, 438 -> 398
// instructions per pair).
//
// The table lives in its own mapping, out of reach of any user block, so validating a pointer
// never reads memory that is not ours. Open addressing with linear probing, load at most 1/2,
// backward-shift deletion (no tombstones): lookups are O(1) expected. The caller holds the heap
// lock for every table operation; mapping and unmapping happen outside it (large_block.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/counters.h"

namespace ft {

struct LargeBlock {
  uintptr_t user;    // the pointer the program holds (the key)
  uintptr_t base;    // the mapping's start
  size_t map_len;    // the mapping's length (with the guard page, under FT_MALLOC_GUARD)
  size_t size;       // the size the program asked for (0: a cached mapping that held no block)
  uintptr_t end;     // the end of what the program may use (the guard page starts there)
  bool cached = false;  // the block was freed: its mapping waits in the cache (no block)
  // The kernel's areas (VMAs) the mapping may span, at most: 1, but for one gathered from cached
  // mappings' pages (large_block.cpp gather), which mremap can move but not grow.
  uint16_t parts = 1;
  size_t usable() const { return end - user; }
};

namespace large {

// The live blocks' operations (the dump, the checks, free, realloc) see live blocks only: a cached
// entry is no block. The live LARGE bytes (mapped_bytes, counters::note_large) change when an
// entry is inserted or erased live, and when it is parked or unparked; the mapped bytes where
// mappings are made and unmapped (large_block.cpp, large_cache.cpp).
// The table's state, for the inline operations of LARGE malloc and free below (a LARGE pair
// made eight calls into large_table.cpp).
namespace table_state {
struct Table {
  LargeBlock *slots;
  size_t capacity;  // a power of two
  size_t count;     // entries, live and cached (the load)
  size_t live;      // live blocks
  uint64_t moves;   // bumped whenever entries may move (an erase's backward shift, a growth)
  size_t extra_parts;  // the entries' parts beyond one each (extra_parts() below)
  unsigned shift;   // home()'s: 64 - log2(capacity)
};
extern Table g_table;
// An entry's first slot: the top bits of a Fibonacci hash (one multiplication and one shift by
// 64 - log2(capacity); LARGE pointers of one size lie a fixed number of pages apart, which the
// multiplication spreads).
inline size_t home(uintptr_t user, unsigned shift) { return static_cast<size_t>((user * 0x9e3779b97f4a7c15ull) >> shift); }
constexpr unsigned shift_for(size_t capacity) { return 64 - static_cast<unsigned>(__builtin_ctzll(capacity)); }
// The live blocks and their bytes: a block of a map_len-byte mapping came, or went. The count
// last: before the counters' atomic add, the compiler read the table's address again after it
// (LARGE malloc + free 304 -> 312 instructions).
inline void count_live_in(size_t map_len) {
  counters::note_large_in(map_len);
  ++g_table.live;
}
inline void count_live_out(size_t map_len) {
  counters::note_large_out(map_len);
  --g_table.live;
}
}  // namespace table_state

// Any entry, cached or live (the cache's own lookups).
inline LargeBlock *find_entry(uintptr_t user) {
  using table_state::g_table;
  if (!g_table.count || !user) return nullptr;
  for (size_t i = table_state::home(user, g_table.shift);; i = (i + 1) & (g_table.capacity - 1)) {
    if (g_table.slots[i].user == user) return &g_table.slots[i];
    if (!g_table.slots[i].user) return nullptr;
  }
}
// A live block (free, realloc, the checks): a cached entry is none.
inline LargeBlock *find(uintptr_t user) {
  LargeBlock *slot = find_entry(user);
  return slot && !slot->cached ? slot : nullptr;
}
// An entry by the slot it had when the table's moves() was `moves`: there still if nothing has
// moved since (a pointer check instead of a probe), else found again.
inline uint64_t moves() { return table_state::g_table.moves; }
inline LargeBlock *find_entry(uintptr_t user, LargeBlock *hint, uint64_t moves) {
  return moves == table_state::g_table.moves ? hint : find_entry(user);
}
// A live block freed into the cache: marked cached where it stands.
inline void park(LargeBlock *slot) {
  slot->cached = true;
  table_state::count_live_out(slot->map_len);
}
// A cached entry handed out again as `block`, which has its key: live where it stands, in the
// same mapping (its parts kept).
inline void unpark(LargeBlock *slot, const LargeBlock &block) {
  uint16_t parts = slot->parts;
  *slot = block;
  slot->parts = parts;
  slot->cached = false;
  table_state::count_live_in(block.map_len);
}
// A cached entry whose mapping is handed out again as it was, to a block of n bytes at its key
// (its start, no guard page): live where it stands, only its size changed.
inline void reuse(LargeBlock *slot, size_t n) {
  slot->size = n;
  slot->cached = false;
  table_state::count_live_in(slot->map_len);
}
// False when the table had to grow and could not.
bool insert(const LargeBlock &block);
void erase(LargeBlock *slot);
inline size_t count() { return table_state::g_table.live; }  // live blocks
// The live blocks' mappings' bytes: the running counters keep them (counters::note_large).
inline size_t mapped_bytes() { return static_cast<size_t>(counters::g_counters.large_live_bytes); }
// At most how many areas [start, start + len), a part of a mapping of `parts` areas, spans: a
// gathered mapping's areas are whole spans from a start on one (large_cache.h take_pieces), so
// the part meets at most the spans it touches. (A gathered mapping the kernel did not start on a
// span breaks the bound: mremap then refuses to grow a part, which realloc copies instead.)
inline uint16_t parts_within(unsigned parts, uintptr_t start, size_t len, size_t span) {
  size_t most = (start + len - 1) / span - start / span + 1;
  return static_cast<uint16_t>(parts < most ? parts : most);
}
// The entry's mapping spans `parts` areas at most now (a part of it cut off).
inline void set_parts(LargeBlock *slot, unsigned parts) {
  table_state::g_table.extra_parts = table_state::g_table.extra_parts - slot->parts + parts;
  slot->parts = static_cast<uint16_t>(parts);
}
// The kernel areas that the entries' mappings may span beyond one each: what gathering added to
// the program's areas (bounded by the cache, against vm.max_map_count).
inline size_t extra_parts() { return table_state::g_table.extra_parts; }
// Records that the block's mapping is now map_len long (shrunk in place).
void resize(LargeBlock *slot, size_t map_len);
// Visits every block (in table order); for the dump and the checks.
void for_each(void (*fn)(const LargeBlock &, void *), void *ctx);
// For error reports only (O(n)): the block whose mapping holds p.
const LargeBlock *containing(uintptr_t p);
// A short memory of blocks just freed, so that a second free says "double free".
void remember_freed(const LargeBlock &block);
bool was_freed(uintptr_t user, size_t *size);

}  // namespace large
}  // namespace ft
